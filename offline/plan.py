"""`make plan STACK=<stack>`: what a stack creates, whether it passes the policy pack, what it costs per month
and how long a first deploy takes. No account, no Pulumi CLI, no network.

    python -m offline.plan dev          # prints the report; writes plan/dev.md and plan/dev.json

The program runs under the same mocks as the tests (offline/engine.py), the pack through its analyzer
entry point (offline/analyzer.py), prices from offline/prices.yaml (offline/cost.py) and create times from
offline/create_times.yaml (offline/deploy_time.py). Exit status: 0 when the stack passes; 1 on a
configuration error (the message a real preview prints) or a mandatory policy violation; 2 when the stack
file is missing or is not YAML (one line: file, line, column).

Warnings come first in the report: example values still in the stack file (what the program itself warns about at
preview), what the stack shares with another stack file that must be unique, and prices read for another region.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from offline import capacity, cost, deploy_time, time_to_kernel
from offline.analyzer import Finding, stack_findings
from offline.engine import ROOT, Registered, StackFileError, StackResult, evaluate, stack_config, stacks
from offline.tree import ResourceTree, is_provider

PLAN_DIR = ROOT / "plan"


class PlanError(Exception):
    """The program failed to evaluate; the message is what `pulumi preview` would print."""


@dataclass
class Plan:
    stack: str
    profile: str   # whose usage assumptions the cost takes (the environment's defaults: dev or prod)
    tree: ResourceTree
    findings: list[Finding]
    cost: cost.Estimate
    deploy: deploy_time.DeployTime
    capacity: capacity.Capacity
    kernel: list[time_to_kernel.GroupTime]  # per GPU node group
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def resources(self) -> list[Registered]:
        return self.tree.resources

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "mandatory"]


def build(stack: str, change: Callable[[dict[str, Any]], None] | None = None, program: Path = ROOT) -> Plan:
    """Evaluate the program for `stack` (its config edited by `change`, if given) and plan it."""
    result = evaluate(stack, change, program=program)
    if result.error is not None:
        error = result.error
        if isinstance(error, pulumi.RunError):  # the engine prints a RunError's message alone
            raise PlanError(f"error: {error}") from error
        raise PlanError("error: the program failed:\n" + "".join(traceback.format_exception(error))) from error
    config = stack_config(stack, program)
    if change:
        change(config)
    return of_stack(result, config, program)


def of_stack(result: StackResult, config: dict[str, Any], program: Path = ROOT) -> Plan:
    """The plan of an evaluated stack file, as `make plan` reports it."""
    plan = from_result(result, usage_profile(config))
    plan.warnings += shared_with_other_stacks(result.stack, config, program)
    return plan


def usage_profile(config: dict[str, Any]) -> str:
    """The environment's defaults (dev or prod) also choose its usage assumptions."""
    from components.config.environments import ENVIRONMENTS
    return ENVIRONMENTS[config["mlplatform:environment"]].defaults


def from_result(result: StackResult, profile: str) -> Plan:
    resources = sorted(result.resources, key=lambda r: r.urn)
    findings = sorted(stack_findings(result), key=lambda f: (f.level, f.policy, f.urn))
    estimate = cost.estimate(resources, profile)
    warnings = list(result.warnings)
    region = next((r.inputs.get("region") for r in resources if r.type == "pulumi:providers:aws"), None)
    if region and region != estimate.region:
        warnings.append(f"The stack deploys to {region}; the prices below are {estimate.region}'s list prices "
                        "(offline/prices.yaml), so read them as an estimate of the shape, not the bill.")
    return Plan(result.stack, profile, ResourceTree(resources), findings, estimate, deploy_time.estimate(resources),
                capacity.of_stack(resources), time_to_kernel.of_stack(resources, profile), warnings)


def shared_with_other_stacks(stack: str, config: dict[str, Any], program: Path = ROOT) -> list[str]:
    """What this stack shares with another stack file that must be unique between them: the VPC's range (peering,
    VPN and Transit Gateway need distinct ones), the hostname (one DNS record), the deploy role (one stack's
    deployments could change the other) and the cluster name (it names buckets, the database and secrets)."""
    settings = _settings(stack, config)
    if settings is None:
        return []
    found = []
    for other in stacks(program):
        if other == stack:
            continue
        try:
            theirs = _settings(other, stack_config(other, program))
        except StackFileError:
            theirs = None
        if theirs is None:
            continue
        if ipaddress.ip_network(settings.network.vpc_cidr).overlaps(ipaddress.ip_network(theirs.network.vpc_cidr)):
            found.append(f"mlplatform:network.vpcCidr {settings.network.vpc_cidr} overlaps {other}'s "
                         f"{theirs.network.vpc_cidr}: VPCs with overlapping ranges cannot be peered or routed to one "
                         "network (VPN, Transit Gateway); give each stack its own range")
        if settings.mesh.hostname == theirs.mesh.hostname:
            found.append(f"Kubeflow's hostname {settings.mesh.hostname} is also {other}'s: both would write its DNS "
                         "record; set mesh.hostname or addons.dns.domain apart")
        if settings.cluster.deploy_role_arn and settings.cluster.deploy_role_arn == theirs.cluster.deploy_role_arn:
            found.append(f"mlplatform:cluster.deployRoleArn is also {other}'s: that stack's deployments could change "
                         "this one; use the role deployments/ creates for each stack (mlplatform-deploy-<stack>)")
        if settings.cluster.name == theirs.cluster.name:
            found.append(f"the cluster name {settings.cluster.name} is also {other}'s: in one account and region their "
                         "buckets, database, cache and secrets collide; set cluster.name apart")
    return found


def _settings(stack: str, config: dict[str, Any]):
    from components.config import ConfigError, parse_stack_file
    try:
        return parse_stack_file(config, stack)
    except ConfigError:
        return None  # its own plan reports why


# ---- the report ------------------------------------------------------------------------------------------

def _usd(value: float) -> str:
    return f"${value:,.2f}"


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _name(tree: ResourceTree, urn: str) -> str:
    resource = tree.by_urn.get(urn)
    return tree.path(resource) if resource else urn.rsplit("::", 1)[-1]


def tree_lines(tree: ResourceTree) -> list[str]:
    """The component tree as `pulumi preview` draws it, each component with its count and its own resources
    by type."""
    lines = [f"{tree.stack_urn.rsplit('::', 1)[-1]}  pulumi:pulumi:Stack  {len(tree.resources)} resources"]

    def draw(urn: str, indent: str) -> None:
        entries: list[tuple[str, Registered | None]] = [
            (f"{n} x {t}", None) for t, n in sorted(tree.counts_by_type(urn).items())]
        entries += [("", c) for c in tree.components(urn)]
        for index, (text, component) in enumerate(entries):
            last = index == len(entries) - 1
            branch, below = ("└─ ", "   ") if last else ("├─ ", "│  ")
            if component is None:
                lines.append(f"{indent}{branch}{text}")
            else:
                count = len(tree.descendants(component.urn))
                lines.append(f"{indent}{branch}{component.name}  {component.type}  {count}")
                draw(component.urn, indent + below)

    draw(tree.stack_urn, "")
    return lines


def _protection_rows(tree: ResourceTree) -> list[str]:
    rows = [f"| `{tree.path(r)}` | `{r.type}` | {'yes' if r.protect else ''} | {'yes' if r.retain_on_delete else ''} |"
            for r in tree.resources if r.protect or r.retain_on_delete]
    if not rows:
        return ["Nothing is protected or retained: `pulumi destroy` removes everything."]
    return ["| Resource | Type | protect | retained on delete |", "| --- | --- | --- | --- |", *rows]


def _policy_section(plan: Plan) -> list[str]:
    mandatory, advisory = plan.mandatory, [f for f in plan.findings if f.level == "advisory"]
    from mlplatform_policies import ALL_POLICIES
    lines = [f"{len(ALL_POLICIES)} policies run through the analyzer: {len(mandatory)} mandatory violation(s), "
             f"{len(advisory)} advisory finding(s)."]
    for finding in plan.findings:
        lines.append(f"- **{finding.level}** `{finding.policy}` on `{_name(plan.tree, finding.urn)}`: "
                     f"{finding.report.strip()}")
    return lines


def _component_costs(plan: Plan) -> list[str]:
    by_component = plan.cost.by_component()
    rows = ["| Component | Idle / month | Max / month |", "| --- | ---: | ---: |"]

    def visit(component: Registered, depth: int) -> None:
        path = plan.tree.path(component)
        subtree = {p: v for p, v in by_component.items() if p == path or p.startswith(path + "/")}
        if subtree:
            idle, top = sum(v[0] for v in subtree.values()), sum(v[1] for v in subtree.values())
            rows.append(f"| {'↳ ' * depth}{component.name} | {_usd(idle)} | {_usd(top)} |")
        for child in plan.tree.components(component.urn):
            visit(child, depth + 1)

    for top_level in plan.tree.components():
        visit(top_level, 0)
    rows.append(f"| **total** | **{_usd(plan.cost.idle)}** | **{_usd(plan.cost.max)}** |")
    return rows


def _cost_section(plan: Plan, details: bool) -> list[str]:
    estimate, prices = plan.cost, cost.PriceTable.load()
    spot = prices.data["spot"]
    lines = [f"{estimate.region} list prices (offline/prices.yaml), {prices.hours:g} hours a month; usage "
             f"assumptions of the `{plan.profile}` profile. Idle: autoscaled groups at their minimum (GPU groups at "
             f"zero), storage as created. Max: every group at its maximum, storage at its autoscaling ceiling. "
             f"Spot is estimated at {spot['factor']} x on-demand (range {spot['range'][0]}-{spot['range'][1]}). "
             "Not included: data transfer out to the internet, API requests, tax, credits and discounts.", "",
             *_component_costs(plan), "", _capacity_line(plan), ""]
    if estimate.unpriced:
        lines.append("**Not priced** (the totals leave these out):")
        lines += [f"- `{_name(plan.tree, u.urn)}` ({u.type}): {u.reason}" for u in estimate.unpriced]
    else:
        lines.append("Every billable resource the stack registers is priced.")
    if details:
        lines += ["", "<details><summary>Cost lines</summary>", "",
                  "| Component | Item | Idle | Max |", "| --- | --- | ---: | ---: |"]
        lines += [f"| {line.component} | {line.item} | {_usd(line.idle)} | {_usd(line.max)} |"
                  for line in estimate.lines]
        lines += ["", "Free: " + ", ".join(f"{n} x `{t}`" for t, n in sorted(estimate.free.items())), "",
                  "</details>"]
    return lines


def _capacity_line(plan: Plan) -> str:
    c = plan.capacity

    def verdict(holds: bool) -> str:
        return "holds" if holds else "does NOT hold"

    return (f"Always-on capacity: {c.nodes} CPU nodes at their minimum offer {c.available} to pods; that "
            f"{verdict(c.holds_recommended)} Kubeflow's recommended {capacity.KUBEFLOW_RECOMMENDED} plus the add-ons' "
            f"requests ({c.addons}). With one node drained, {c.drained} {verdict(c.holds_with_one_drained)} what this "
            f"stack runs: Kubeflow's platform and {', '.join(sorted(c.applications)) or 'no applications'} "
            f"({c.kubeflow}, per the release's component table) plus the add-ons ({c.drained_addons}).")


def _deploy_section(plan: Plan) -> list[str]:
    deploy = plan.deploy
    lines = [f"Critical path **{_minutes(deploy.critical_seconds)}**; every create one after another would take "
             f"{_minutes(deploy.total_seconds)}. Typical create times per type from offline/create_times.yaml.", "",
             "| Step | Type | Seconds | Done at |", "| --- | --- | ---: | ---: |"]
    elapsed = 0.0
    for step in deploy.critical_path:
        if step.seconds == 0:
            continue
        elapsed += step.seconds
        lines.append(f"| `{_name(plan.tree, step.urn)}` | `{step.type}` | {step.seconds:g} | {_minutes(elapsed)} |")
    if deploy.untimed:
        lines += ["", "No create time for (counted as 0 s): " + ", ".join(
            f"{n} x `{t}`" for t, n in sorted(deploy.untimed.items()))]
    return lines


def _kernel_section(plan: Plan) -> list[str]:
    if not plan.kernel:
        return ["The stack has no GPU node group."]
    lines = ["From Launch in the notebook form to a running kernel, per GPU node group: **cold** (the group at zero, "
             "so cluster-autoscaler starts a node) and **warm** (a node of the group up, with the image). Typical "
             "step times from offline/time_to_kernel.yaml, each with its source; docs/kubeflow.md says how to "
             "measure yours.", "",
             "| Group | Instance | A new node gets the image | Cold | Warm | Warm node |",
             "| --- | --- | --- | ---: | ---: | --- |"]
    for g in plan.kernel:
        warm_node = (f"{g.warm_hours_month:.0f} h a month: {_usd(g.warm_node_month)}/month" if g.warm_hours_month
                     else f"none; 08:00-19:00 on weekdays would cost {_usd(g.warm_node_month)}/month")
        lines.append(f"| {g.group} | {g.instance_type} | {g.image} | **{_minutes(g.cold_seconds)}** | "
                     f"**{_minutes(g.warm_seconds)}** | {warm_node} |")
    for g in plan.kernel:
        lines += ["", f"<details><summary>{g.group}: the steps</summary>", "",
                  "| Step | Cold (s) | Warm (s) | Basis | Source |", "| --- | ---: | ---: | --- | --- |"]
        rows: list[tuple[time_to_kernel.Step, str, str]] = []
        warm = {s.key: s for s in g.warm}
        for step in g.cold:
            rows.append((step, f"{step.seconds:g}", f"{warm[step.key].seconds:g}" if step.key in warm else ""))
            if step.key == "volume":  # what only a warm start does comes where it happens
                rows += [(w, "", f"{w.seconds:g}") for w in g.warm if w.key not in {c.key for c in g.cold}]
        lines += [f"| {step.what} | {cold} | {hot} | {step.basis} | {step.source} |" for step, cold, hot in rows]
        lines += ["", "</details>"]
    return lines


def _reachable(edges: set[tuple[str, str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for a, b in edges:
            if a == node and b not in seen:
                if b == goal:
                    return True
                seen.add(b)
                todo.append(b)
    return False


def component_graph(plan: Plan) -> list[str]:
    """A Mermaid diagram: each top-level component, an arrow from what it waits for, critical path in bold."""
    tree = plan.tree
    edges: set[tuple[str, str]] = set()
    for r in tree.resources:
        here = tree.top_component(r)
        for urn in tree.waits_for(r):
            there = tree.top_component(tree.by_urn[urn])
            if here and there and here.urn != there.urn:
                edges.add((there.name, here.name))
    # Only direct waits: an arrow implied by a longer chain (network -> cluster -> add-ons) is left out.
    edges = {(a, b) for a, b in edges if not _reachable(edges - {(a, b)}, a, b)}
    critical = {c.name for c in (tree.top_component(tree.by_urn[s.urn]) for s in plan.deploy.critical_path) if c}
    ids = {c.name: f"c{i}" for i, c in enumerate(tree.components())}
    lines = ["Arrows point from what is created first to what waits for it; the critical path is outlined.", "",
             "```mermaid", "flowchart LR"]
    lines += [f'  {ids[c.name]}["{c.name}<br/><small>{c.type.rsplit(":", 1)[-1]}</small>"]' for c in tree.components()]
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in sorted(edges)]
    lines += ["  classDef critical stroke:#d33,stroke-width:3px"]
    if critical:
        lines += [f"  class {','.join(ids[n] for n in sorted(critical))} critical"]
    return lines + ["```"]


def markdown(plan: Plan, diagram: bool = True) -> str:
    counts = {"components": sum(1 for r in plan.resources if r.component),
              "providers": sum(1 for r in plan.resources if is_provider(r))}
    counts["resources"] = len(plan.resources) - counts["components"] - counts["providers"]
    sections = [
        f"# Plan: stack `{plan.stack}`", "",
        f"What `pulumi up` of `{plan.stack}` would create, evaluated offline under Pulumi's mocks "
        f"(`make plan STACK={plan.stack}`, no account needed). Regenerated by `make generate`.", "",
        *(["## Warnings", "", *[f"- {w}" for w in plan.warnings], ""] if plan.warnings else []),
        f"## Resources: {len(plan.resources)}", "",
        f"{counts['resources']} cloud and Kubernetes resources, {counts['components']} components, "
        f"{counts['providers']} providers.", "",
        "```", *tree_lines(plan.tree), "```", "",
        "Protected from deletion (`protect`) or left in the account by `pulumi destroy` (`retain_on_delete`):", "",
        *_protection_rows(plan.tree), "",
        "## Policy pack", "", *_policy_section(plan), "",
        "## Monthly cost", "", *_cost_section(plan, details=diagram), "",
        "## Cold deploy time", "", *_deploy_section(plan), "",
        "## GPU notebooks: time to kernel", "", *_kernel_section(plan), "",
    ]
    if diagram:
        sections += ["## Components and what they wait for", "", *component_graph(plan), ""]
    return "\n".join(sections)


def as_json(plan: Plan) -> dict[str, Any]:
    tree, estimate, deploy = plan.tree, plan.cost, plan.deploy
    components = [c for c in tree.resources if c.component]
    return {
        "stack": plan.stack,
        "warnings": plan.warnings,
        "resources": {
            "total": len(tree.resources),
            "components": dict(sorted(
                (tree.path(c), {"type": c.type, "resources": len(tree.descendants(c.urn)),
                                "by_type": dict(sorted(tree.counts_by_type(c.urn).items()))})
                for c in components)),
            "protected": sorted(tree.path(r) for r in tree.resources if r.protect),
            "retained_on_delete": sorted(tree.path(r) for r in tree.resources if r.retain_on_delete),
        },
        "policies": {level: [{"policy": f.policy, "resource": _name(tree, f.urn), "message": f.report.strip()}
                             for f in plan.findings if f.level == level] for level in ("mandatory", "advisory")},
        "cost": {
            "currency": "USD", "region": estimate.region, "usage_profile": plan.profile,
            "idle_per_month": round(estimate.idle, 2), "max_per_month": round(estimate.max, 2),
            "components": {path: {"idle": round(idle, 2), "max": round(top, 2)}
                           for path, (idle, top) in sorted(estimate.by_component().items())},
            "lines": [{"component": line.component, "item": line.item, "idle": round(line.idle, 2),
                       "max": round(line.max, 2), "prices": list(line.prices)} for line in estimate.lines],
            "not_priced": [{"resource": _name(tree, u.urn), "type": u.type, "reason": u.reason}
                           for u in estimate.unpriced],
            "free": dict(sorted(estimate.free.items())),
        },
        "capacity": _capacity_json(plan),
        "time_to_kernel": [{"group": g.group, "instance_type": g.instance_type, "image": g.image,
                            "cold_seconds": g.cold_seconds, "warm_seconds": g.warm_seconds,
                            "warm_hours_per_month": round(g.warm_hours_month, 1),
                            "warm_node_per_month": round(g.warm_node_month, 2),
                            "cold": [{"step": s.what, "seconds": s.seconds, "basis": s.basis} for s in g.cold],
                            "warm": [{"step": s.what, "seconds": s.seconds, "basis": s.basis} for s in g.warm]}
                           for g in plan.kernel],
        "deploy_time": {
            "critical_path_seconds": deploy.critical_seconds,
            "sequential_seconds": deploy.total_seconds,
            "critical_path": [{"resource": _name(tree, s.urn), "type": s.type, "seconds": s.seconds}
                              for s in deploy.critical_path if s.seconds],
            "untimed": dict(sorted(deploy.untimed.items())),
        },
    }


def _capacity_json(plan: Plan) -> dict[str, Any]:
    c = plan.capacity

    def figures(r: capacity.Resources) -> dict[str, int]:
        return {"cpu_millicores": r.cpu_m, "memory_mib": r.memory_mi}

    return {"always_on_nodes": c.nodes, "allocatable": figures(c.available), "addon_requests": figures(c.addons),
            "kubeflow_recommended": figures(capacity.KUBEFLOW_RECOMMENDED),
            "one_node_drained": {"allocatable": figures(c.drained), "applications": sorted(c.applications),
                                 "kubeflow_needs": figures(c.kubeflow), "addon_requests": figures(c.drained_addons)}}


def write(plan: Plan, directory: Path = PLAN_DIR) -> tuple[Path, Path]:
    directory.mkdir(exist_ok=True)
    md, js = directory / f"{plan.stack}.md", directory / f"{plan.stack}.json"
    md.write_text(markdown(plan))
    js.write_text(json.dumps(as_json(plan), indent=2) + "\n")
    return md, js


def main(argv: list[str], program: Path = ROOT, out: Path = PLAN_DIR) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", help="a stack with a Pulumi.<stack>.yaml next to __main__.py")
    parser.add_argument("--summary", type=Path, metavar="FILE",
                        help="also append the report (or the error) to FILE, e.g. $GITHUB_STEP_SUMMARY")
    args = parser.parse_args(argv)
    stack = args.stack
    if stack not in stacks(program):
        print(f"error: no stack file Pulumi.{stack}.yaml; stacks here: {', '.join(stacks(program))}", file=sys.stderr)
        return 2
    try:
        plan = build(stack, program=program)
    except StackFileError as unreadable:
        print(f"error: {unreadable}", file=sys.stderr)
        _append(args.summary, f"# Plan: stack `{stack}`\n\nThe stack file cannot be read: `{unreadable}`\n")
        return 2
    except PlanError as failed:
        print(failed, file=sys.stderr)
        _append(args.summary, f"# Plan: stack `{stack}`\n\nThe program fails before it creates anything:\n\n"
                              f"```\n{failed}\n```\n")
        return 1
    print(markdown(plan, diagram=False))
    md, js = write(plan, out)
    print(f"Written: {os.path.relpath(md)} (with the component diagram and cost lines) and {os.path.relpath(js)}.")
    _append(args.summary, markdown(plan))
    if plan.mandatory:
        print(f"error: {len(plan.mandatory)} mandatory policy violation(s); a real preview would stop here",
              file=sys.stderr)
        return 1
    return 0


def _append(summary: Path | None, text: str) -> None:
    if summary is not None:
        with summary.open("a") as file:
            file.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
