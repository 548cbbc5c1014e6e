"""How long a first `pulumi up` of a stack takes: the critical path through its dependency graph.

The engine creates a resource as soon as everything it waits for exists (its inputs' resources, its
`depends_on`, its provider), with no limit on parallelism, so a cold deploy takes about as long as the
slowest chain of waits. Each resource weighs its type's typical create time (offline/create_times.yaml);
components and providers take no time of their own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from offline.engine import Registered
from offline.tree import ResourceTree, is_provider

TIMES_FILE = Path(__file__).with_name("create_times.yaml")


def variant(resource: Registered) -> str | None:
    """The refinement of a type that changes its create time (keys "<type> <variant>" in the table)."""
    if resource.type == "aws:rds/instance:Instance" and resource.inputs.get("multiAz"):
        return "multiAz"
    if resource.type == "aws:elasticache/replicationGroup:ReplicationGroup" and \
            (resource.inputs.get("numCacheClusters") or 1) > 1:
        return "replicas"
    if resource.type == "aws:eks/addon:Addon":
        return resource.inputs.get("addonName")
    if resource.type == "kubernetes:helm.sh/v3:Release":
        chart = resource.inputs.get("chart")
        service = (resource.inputs.get("values") or {}).get("service") or {}
        # A gateway behind no load balancer is quick: nothing to provision.
        return f"{chart} cluster-local" if chart == "gateway" and service.get("type") != "LoadBalancer" else chart
    if resource.type == "kubernetes:kustomize/v2:Directory":
        return str(resource.inputs.get("directory", "")).rstrip("/").rsplit("/", 1)[-1]
    return None


@dataclass(frozen=True)
class Step:
    urn: str
    name: str
    type: str
    seconds: float


@dataclass
class DeployTime:
    critical_path: list[Step]
    total_seconds: float                 # every create one after the other
    untimed: dict[str, int] = field(default_factory=dict)  # type -> count, for types the table lacks

    @property
    def critical_seconds(self) -> float:
        return sum(step.seconds for step in self.critical_path)


@functools.cache
def load_times() -> dict[str, Any]:
    return yaml.load(TIMES_FILE.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def create_seconds(resource: Registered, times: dict[str, Any]) -> float | None:
    if resource.component or is_provider(resource):
        return 0.0
    refined = variant(resource)
    entry = times.get(f"{resource.type} {refined}") if refined else None
    entry = entry or times.get(resource.type)
    return None if entry is None else float(entry["seconds"])


def estimate(resources: list[Registered], times: dict[str, Any] | None = None) -> DeployTime:
    times = times if times is not None else load_times()
    tree = ResourceTree(resources)
    nodes = {r.urn: r for r in resources if not r.component}
    untimed: dict[str, int] = {}
    weight: dict[str, float] = {}
    for urn, r in nodes.items():
        seconds = create_seconds(r, times)
        if seconds is None:
            untimed[r.type] = untimed.get(r.type, 0) + 1
            seconds = 0.0
        weight[urn] = seconds
    waits = {urn: tree.waits_for(r) & nodes.keys() for urn, r in nodes.items()}

    # finish[u]: when u is created at the earliest; via[u]: the wait that decides it.
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}

    def settle(urn: str, trail: frozenset[str]) -> float:
        if urn in finish:
            return finish[urn]
        if urn in trail:
            raise ValueError(f"dependency cycle through {urn}")
        # Sorted, so that equal paths resolve the same way on every run.
        before = sorted(waits[urn], key=lambda u: (-settle(u, trail | {urn}), u))
        via[urn] = before[0] if before else None
        finish[urn] = weight[urn] + (finish[before[0]] if before else 0.0)
        return finish[urn]

    for urn in sorted(nodes):
        settle(urn, frozenset())
    last = min(nodes, key=lambda u: (-finish[u], u))
    path: list[Step] = []
    current: str | None = last
    while current is not None:
        r = nodes[current]
        path.append(Step(current, r.name, r.type, weight[current]))
        current = via[current]
    return DeployTime(list(reversed(path)), sum(weight.values()), untimed)
