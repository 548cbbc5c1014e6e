"""Component: the shape every component of this program has.

- Its type token is `mlplatform:<module>:<Class>`, where <module> is the file the class lives in and <Class> that
  file's name in CamelCase (tests/test_components.py checks file, class, token and config key agree).
- Its children are parented to it (`self.child(...)`), so they inherit its providers.
- `waits_for`: what the caller made it wait for (`depends_on`). Pulumi does not hand a component's depends_on
  to its children, so the component passes it on to each child that must wait.
- `ready`: what a caller waits for before using what the component provides (a chart's release, a store, the
  webhooks that validate its objects). The one name for it on every component.
- `register_outputs` last; outputs are typed attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi


class Component(pulumi.ComponentResource):
    ready: list[pulumi.Resource]
    waits_for: list[pulumi.Resource]

    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions | None = None,
                 renamed_from: str | None = None):
        """`renamed_from`: the type token the component had before; the alias keeps its resources (and, through
        the engine's inherited aliases, its children) in place on stacks deployed under the old token."""
        if renamed_from:
            alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=renamed_from)])
            opts = pulumi.ResourceOptions.merge(opts, alias)
        super().__init__(type_, name, None, opts)
        self.waits_for = dependencies(opts)
        self.ready = []

    def child(self, depends_on: Sequence[pulumi.Resource] = (), **options: Any) -> pulumi.ResourceOptions:
        """Options for a child: parented to this component, waiting for `depends_on`."""
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on), **options)


def dependencies(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources `opts.depends_on` names."""
    depends_on = opts.depends_on if opts else None
    if depends_on is None:
        return []
    given = depends_on if isinstance(depends_on, list | tuple) else [depends_on]
    return [d for d in given if isinstance(d, pulumi.Resource)]
