"""`make upgrade STACK=<stack> TO=<minor>`: rehearse a Kubernetes upgrade offline. The stack is evaluated as it is
and at the new minor; what changes is listed in the order `pulumi up` applies it (each resource after what it waits
for), with the steps around it that the program cannot take for you.

Sources for the runbook's steps: EKS user guide, "Update existing cluster to new Kubernetes version" (one minor at a
time; nodes at the control plane's minor first; add-ons after the control plane), "Cluster insights" (upgrade
insights), "Roll back a cluster upgrade" (within 7 days of an in-place upgrade; add-ons and nodes are not rolled
back), "Update a managed node group" (PodDisruptionBudgets respected, PodEvictionFailure after 15 minutes).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from components.config import PROJECT
from components.versions import DEFAULT_KUBERNETES_VERSION, KUBERNETES_VERSIONS, minor
from offline.engine import Registered, StackResult, evaluate, stack_config
from offline.tree import ResourceTree


@dataclass(frozen=True)
class Change:
    resource: Registered
    fields: dict[str, tuple[Any, Any]]  # input -> (before, after)

    @property
    def path(self) -> str:
        return f"{self.resource.type.split(':')[-1]} {self.resource.name}"


def _diff(before: Any, after: Any, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    if isinstance(before, dict) and isinstance(after, dict):
        found: dict[str, tuple[Any, Any]] = {}
        for key in sorted(set(before) | set(after)):
            found |= _diff(before.get(key), after.get(key), f"{prefix}.{key}" if prefix else key)
        return found
    return {} if before == after else {prefix: (before, after)}


def changes(before: StackResult, after: StackResult) -> list[Change]:
    """What differs between two evaluations of a stack, in the order an update applies it."""
    was = {r.urn: r for r in before.resources}
    found = [Change(r, fields) for r in after.resources if r.custom and r.urn in was
             if (fields := _diff(was[r.urn].inputs, r.inputs))]
    tree = ResourceTree(after.resources)
    order: list[Change] = []
    pending = {c.resource.urn: c for c in found}
    while pending:  # each change after the changes it waits for, directly or through others
        ready = sorted((c for c in pending.values() if not _reaches(tree, c, pending)),
                       key=lambda c: c.resource.urn) or sorted(pending.values(), key=lambda c: c.resource.urn)
        order.append(ready[0])
        del pending[ready[0].resource.urn]
    return order


def _reaches(tree: ResourceTree, change: Change, pending: dict[str, Change]) -> bool:
    """Whether `change` waits, through any chain, for another pending change."""
    seen, todo = set(), list(tree.waits_for(change.resource))
    while todo:
        urn = todo.pop()
        if urn in pending and urn != change.resource.urn:
            return True
        if urn not in seen and urn in tree.by_urn:
            seen.add(urn)
            todo += tree.waits_for(tree.by_urn[urn])
    return False


def rehearse(stack: str, to: str) -> tuple[str, list[Change]]:
    """The current minor and the ordered changes of an upgrade to `to`."""
    cluster = stack_config(stack).get(f"{PROJECT}:cluster") or {}
    now = cluster.get("kubernetesVersion", DEFAULT_KUBERNETES_VERSION)
    if to not in KUBERNETES_VERSIONS:
        raise SystemExit(f"{to} is not a Kubernetes version components/versions.py allows "
                         f"({', '.join(KUBERNETES_VERSIONS)})")
    if minor(to)[1] - minor(now)[1] != 1 or minor(to)[0] != minor(now)[0]:
        raise SystemExit(f"EKS upgrades one minor at a time: from {now}, the next is "
                         f"{minor(now)[0]}.{minor(now)[1] + 1}")

    def upgraded(config: dict[str, Any]) -> None:
        config[f"{PROJECT}:cluster"]["kubernetesVersion"] = to

    current = evaluate(stack)
    if current.error:
        raise current.error
    after = evaluate(stack, upgraded)
    if after.error:
        raise after.error
    return now, changes(current, after)


def runbook(stack: str, now: str, to: str, steps: list[Change]) -> str:
    lines = [f"Upgrade of `{stack}` from Kubernetes {now} to {to}", "",
             "Before: read EKS's upgrade insights for deprecated APIs the cluster still serves",
             f"  (aws eks list-insights --cluster-name <cluster> --filter kubernetesVersions={to}); pin the add-ons",
             f"  to their {to} defaults in cluster.addonVersions (aws eks describe-addon-versions "
             f"--kubernetes-version {to}); set cluster.kubernetesVersion: \"{to}\".", "",
             "`pulumi up` then changes, in this order:"]
    for index, step in enumerate(steps, 1):
        fields = ", ".join(f"{key}: {before!r} -> {after!r}" for key, (before, after) in step.fields.items())
        lines.append(f"  {index}. {step.path}: {fields}")
    lines += ["", "Node groups roll a third of their nodes at a time and respect PodDisruptionBudgets (none of the "
                  "platform's blocks a drain); a drain that cannot finish in 15 minutes fails the update with "
                  "PodEvictionFailure.",
              "After: EKS can roll the control plane back to the previous minor within 7 days; it does not roll back "
              "add-ons or nodes (pin them back and run `pulumi up`)."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m offline.upgrade <stack> <minor>, e.g. dev 1.36", file=sys.stderr)
        return 2
    stack, to = argv
    now, steps = rehearse(stack, to)
    print(runbook(stack, now, to, steps))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
