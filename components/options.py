"""What a component's caller made it wait for, so the component can pass it on to its children.

`depends_on` given to a component does not reach the component's children (Pulumi registers them at once);
each component hands it on to the children that must wait.
"""

from __future__ import annotations

import pulumi


def dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    depends_on = opts.depends_on if opts else None
    if depends_on is None:
        return []
    given = depends_on if isinstance(depends_on, list | tuple) else [depends_on]
    return [d for d in given if isinstance(d, pulumi.Resource)]
