"""The registered resources as the engine sees them: a tree of components and a graph of dependencies."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from offline.engine import Registered

STACK_TYPE = "pulumi:pulumi:Stack"


def is_provider(resource: Registered) -> bool:
    return resource.type.startswith("pulumi:providers:")


@dataclass
class ResourceTree:
    resources: list[Registered]

    @cached_property
    def by_urn(self) -> dict[str, Registered]:
        return {r.urn: r for r in self.resources}

    @cached_property
    def children(self) -> dict[str, list[Registered]]:
        """Parent URN -> its children, in URN order (the stack's URN for top-level resources)."""
        out: dict[str, list[Registered]] = {}
        for r in sorted(self.resources, key=lambda r: r.urn):
            out.setdefault(r.parent, []).append(r)
        return out

    @cached_property
    def stack_urn(self) -> str:
        return next(r.parent for r in self.resources if r.parent.split("::")[2] == STACK_TYPE)

    def components(self, parent: str | None = None) -> list[Registered]:
        return [r for r in self.children.get(parent or self.stack_urn, []) if r.component]

    def descendants(self, urn: str) -> list[Registered]:
        found: list[Registered] = []
        for child in self.children.get(urn, []):
            found.append(child)
            found += self.descendants(child.urn)
        return found

    def counts_by_type(self, urn: str) -> Counter[str]:
        """The resources directly under `urn` (not inside a nested component), by type."""
        return Counter(r.type for r in self.children.get(urn, []) if not r.component)

    def top_component(self, resource: Registered) -> Registered | None:
        """The component directly under the stack that holds `resource` (None for top-level resources)."""
        found = None
        current = resource
        while current.parent != self.stack_urn and current.parent in self.by_urn:
            current = self.by_urn[current.parent]
            found = current
        return found if found is not None and found.component else None

    def path(self, resource: Registered) -> str:
        """`cluster/system` for the NodeGroup `system` inside the Cluster `cluster`."""
        names = [resource.name]
        current = resource
        while current.parent in self.by_urn:
            current = self.by_urn[current.parent]
            names.append(current.name)
        return "/".join(reversed(names))

    def waits_for(self, resource: Registered) -> set[str]:
        """URNs of the custom resources and providers `resource` waits for before it is created: its
        dependencies (a component stands for everything inside it) and its provider."""
        urns = set(resource.dependencies)
        for deps in resource.property_dependencies.values():
            urns |= set(deps)
        for reference in (resource.provider, *resource.providers.values()):
            if reference:
                urns.add(reference.rsplit("::", 1)[0])
        waits: set[str] = set()
        for urn in urns:
            target = self.by_urn.get(urn)
            if target is None:
                continue  # the stack, or a default provider the engine creates
            if not target.component:
                waits.add(urn)
            else:
                waits |= {d.urn for d in self.descendants(urn) if not d.component}
        waits.discard(resource.urn)
        return waits
