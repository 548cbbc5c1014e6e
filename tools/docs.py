"""The tables of README.md and docs/*.md, each made from the code that holds its facts (`make generate` writes
them between `<!-- generated:<name> -->` fences; tests/test_generated.py fails when one is stale).

Tables about what the program creates (add-ons, keys, outputs) come from evaluating the tests' own stacks
(tests/stacks: prod runs every application), so they describe the program, not one adopter's values.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline.engine import Registered, StackResult, evaluate, stacks
from offline.plan import PLAN_DIR

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "stacks"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _type(prop: dict[str, Any], definitions: dict[str, Any]) -> str:
    if "$ref" in prop:
        return "map, see below"
    if "anyOf" in prop:
        kinds = [_type(p, definitions) for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(kinds)
    if "enum" in prop and len(prop["enum"]) > 8:
        return f"one of {len(prop['enum'])} values (see the schema)"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type")
    if kind == "integer" and ("minimum" in prop or "maximum" in prop):
        return f"integer {prop.get('minimum', '')}–{prop.get('maximum', '')}"
    if kind == "array":
        return "list of " + _type(prop.get("items", {}), definitions).removesuffix(", see below")
    if kind == "object":
        return "map"
    return {"string": "string", "boolean": "`true`/`false`", "integer": "integer"}.get(str(kind), "value")


def _default(prop: dict[str, Any], required: bool) -> str:
    if "default" in prop and prop["default"] not in ("", [], {}, None):
        return f"`{json.dumps(prop['default'])}`"
    match = re.search(r"\(default: (.*)\)$", prop.get("description", ""))
    if match:
        return match.group(1)
    return "required" if required else "none"


def config_table() -> str:
    from components.config import PROJECT
    from tools.generate import stack_file_schema

    schema = stack_file_schema()
    definitions = schema["definitions"]
    config = schema["properties"]["config"]
    lines = [_row("Key", "Type", "Default", "What it sets"), _row("---", "---", "---", "---")]

    def rows(prefix: str, prop: dict[str, Any], required: bool) -> None:
        target = prop
        if prop.get("type") == "array" and "$ref" in prop.get("items", {}):
            target = prop["items"]
        refs = [p for p in prop.get("anyOf", []) if "$ref" in p]  # an optional map
        if refs:
            target = refs[0]
        if "$ref" in target:
            listed = target is prop.get("items")
            lines.append(_row(f"`{prefix}`", "list of maps" if listed else "map", "", prop.get("description", "")))
            definition = definitions[target["$ref"].rsplit("/", 1)[1]]
            for key, child in definition["properties"].items():
                rows(f"{prefix}{'[]' if listed else ''}.{key}", child, key in definition.get("required", []))
            return
        description = re.sub(r"\s*\(default: .*\)$", "", prop.get("description", ""))
        lines.append(_row(f"`{prefix}`", _type(prop, definitions), _default(prop, required), description))

    for key, prop in config["properties"].items():
        if key.startswith(f"{PROJECT}:"):
            rows(key.removeprefix(f"{PROJECT}:"), prop, key in config["required"])
    return "\n".join(lines)


def environments_table() -> str:
    from components.config import environments

    names = list(environments.ENVIRONMENTS)
    lines = [_row("Setting", *names), _row("---", *["---"] * len(names)),
             _row("production (protection, retention, pack's production rules)",
                  *[str(environments.ENVIRONMENTS[n].production).lower() for n in names])]
    tables = {"network": environments.NETWORK_DEFAULTS, "cluster": environments.CLUSTER_DEFAULTS,
              "data.database": environments.DATABASE_DEFAULTS,
              "data.artifactStore": environments.ARTIFACT_STORE_DEFAULTS,
              "data.sessionCache": environments.SESSION_CACHE_DEFAULTS,
              "kubeflow.applications": environments.KUBEFLOW_DEFAULTS}
    for prefix, table in tables.items():
        for key in table["dev"]:
            values = [table[environments.ENVIRONMENTS[n].defaults][key] for n in names]
            lines.append(_row(f"`{prefix}.{key}`", *[f"`{json.dumps(v)}`" for v in values]))
    for requirement in environments.PRODUCTION_REQUIREMENTS:
        lines.append(_row(f"`{requirement.key}` (required in production)",
                          *["" if not environments.ENVIRONMENTS[n].production else requirement.fix for n in names]))
    return "\n".join(lines)


def policies() -> str:
    sys.path.insert(0, str(ROOT / "policies"))
    from mlplatform_policies import ALL_POLICIES

    lines = [_row("Policy", "Level", "What must hold", "Control"), _row("---", "---", "---", "---")]
    lines += [_row(f"`{p.name}`", p.enforcement_level.value, p.what, p.control) for p in ALL_POLICIES]
    return "\n".join(lines)


def security_groups() -> str:
    from components import addons, kubeflow, mesh
    from components.cluster.cluster import security_group_rules

    def ports(rule: Any) -> str:
        if rule.protocol == "-1":
            return "all traffic"
        span = str(rule.from_port) if rule.from_port == rule.to_port else f"{rule.from_port}-{rule.to_port}"
        return f"{rule.protocol.upper()} {span}"

    names = {"cluster": "control plane", "node": "nodes"}
    lines = [_row("To", "From", "Ports", "Who needs it"), _row("---", "---", "---", "---")]
    lines += [_row(names[r.target], names[r.source], ports(r), r.needed_by) for r in security_group_rules(
        [*addons.WEBHOOKS, *mesh.WEBHOOKS, *kubeflow.WEBHOOKS])]
    return "\n".join(lines)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min"


def plan_summary() -> str:
    """The stacks side by side, from the committed plans (plan/<stack>.json, which tests/test_plan.py keeps
    current): what each creates, costs and takes to deploy."""
    plans = {stack: json.loads((PLAN_DIR / f"{stack}.json").read_text()) for stack in stacks()}
    names = list(plans)

    def money(value: float) -> str:
        return f"${value:,.0f}"

    lines = [_row("", *[f"`{n}`" for n in names]), _row("---", *["---:"] * len(names)),
             _row("resources", *[str(p["resources"]["total"]) for p in plans.values()]),
             _row("warnings (placeholders left, values shared with another stack)",
                  *[str(len(p["warnings"])) for p in plans.values()]),
             _row("policy pack: mandatory / advisory findings",
                  *[f"{len(p['policies']['mandatory'])} / {len(p['policies']['advisory'])}" for p in plans.values()]),
             _row("cost per month at idle", *[money(p["cost"]["idle_per_month"]) for p in plans.values()]),
             _row("cost per month at maximum", *[money(p["cost"]["max_per_month"]) for p in plans.values()]),
             _row("cold deploy (critical path)",
                  *[_minutes(p["deploy_time"]["critical_path_seconds"]) for p in plans.values()])]
    totals: dict[str, dict[str, list[float]]] = {}
    for name, plan in plans.items():
        for path, figures in plan["cost"]["components"].items():
            top = totals.setdefault(path.split("/")[0], {})
            idle, most = top.get(name, [0.0, 0.0])
            top[name] = [idle + figures["idle"], most + figures["max"]]
    for component, by_stack in sorted(totals.items()):
        lines.append(_row(f"&nbsp;&nbsp;`{component}` idle / max", *[
            f"{money(by_stack[n][0])} / {money(by_stack[n][1])}" if n in by_stack else "" for n in names]))
    return "\n".join(lines)




# ---- what the program creates, from the tests' own stacks ------------------------------------------------------

EXAMPLES: dict[str, StackResult] = {}  # evaluations of the tests' stacks, made once (the tests hand theirs in)


def _example(stack: str) -> StackResult:
    if stack not in EXAMPLES:
        result = evaluate(stack, stack_files=FIXTURES)
        if result.error:
            raise result.error
        EXAMPLES[stack] = result
    return EXAMPLES[stack]


def _file_of(token: str) -> str:
    """The file a component's class lives in, from its type token mlplatform:<module>:<Class>."""
    stem = token.split(":")[1]
    [path] = [p for p in (ROOT / "components").rglob(f"{stem}.py") if "config" not in p.parts]
    return str(path.relative_to(ROOT))


def _purpose(token: str) -> str:
    """The first sentence of the component's module docstring, after its name."""
    doc = module_docstring(ROOT / _file_of(token))
    first = re.split(r"(?<=[a-z)])\. ", " ".join(doc.split()))[0].rstrip(".")
    return first.split(": ", 1)[-1]


def _owner(result: StackResult, resource: Registered) -> Registered:
    """The top-level component a resource belongs to."""
    while not resource.top_level:
        resource = result.by_urn(resource.parent)
    return resource


def _access(result: StackResult, role_arn: str) -> str:
    """What a Pod Identity role may do: its managed policies by name, or the statements of its own policy."""
    role = result.one("aws:iam/role:Role", role_arn.rsplit("/", 1)[1])
    managed = [a.inputs["policyArn"].rsplit("/", 1)[1] for a in result.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == role.name]
    inline = [json.loads(p.inputs["policy"]) for p in result.of_type("aws:iam/rolePolicy:RolePolicy")
              if p.inputs["role"] == result.ids_of(role)]
    sids = [s.get("Sid") or ", ".join(sorted({a.split(":")[0] for a in s["Action"]}))
            for doc in inline for s in doc["Statement"]]
    own = f"own policy: {', '.join(sids)}" if len(sids) <= 4 else f"own policy, {len(sids)} statements"
    return "; ".join([*(f"`{m}`" for m in managed), *([own] if sids else [])])


def addons() -> str:
    """Every cluster add-on: what runs, where, as whom, and what it may do in AWS."""
    result = _example("prod")
    lines = [_row("Add-on", "Component (file)", "What it is for", "Runs as (namespace / service account)",
                  "Version", "AWS access (components/iam.py)"), _row(*["---"] * 6)]
    associations = {a.inputs["serviceAccount"]: a for a in result.of_type(
        "aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    for addon in sorted(result.of_type("aws:eks/addon:Addon"), key=lambda a: a.inputs["addonName"]):
        owner = _owner(result, addon)
        [identity] = addon.inputs.get("podIdentityAssociations") or [{}]
        runs = f"{_role_namespace(result, identity['roleArn'])} / {identity['serviceAccount']}" if identity \
            else "kube-system"
        purpose = "networking, DNS and Pod Identity for every pod" if owner.type == "mlplatform:cluster:Cluster" \
            else _purpose(owner.type)
        lines.append(_row(addon.inputs["addonName"], f"`{owner.type.split(':')[2]}` ({_file_of(owner.type)})",
                          purpose, runs, "EKS add-on: AWS's default at creation, or "
                          "`cluster.addonVersions`", _access(result, identity["roleArn"]) if identity else "none"))
    for release in sorted(result.of_type("kubernetes:helm.sh/v3:Release"), key=lambda r: r.inputs["name"]):
        owner = _owner(result, release)
        if not _file_of(owner.type).startswith("components/addons/"):
            continue
        association = next((a for a in associations.values() if _owner(result, a).urn == owner.urn), None)
        runs = f"{release.inputs['namespace']} / {association.inputs['serviceAccount']}" if association else \
            release.inputs["namespace"]
        lines.append(_row(release.inputs["chart"], f"`{owner.type.split(':')[2]}` ({_file_of(owner.type)})",
                          _purpose(owner.type), runs, f"chart {release.inputs['version']}",
                          _access(result, association.inputs["roleArn"]) if association else "none"))
    return "\n".join(lines)


def _role_namespace(result: StackResult, role_arn: str) -> str:
    """The namespace a Pod Identity role serves, as its description says (components/service_account_role.py)."""
    role = result.one("aws:iam/role:Role", role_arn.rsplit("/", 1)[1])
    return role.inputs["description"].rsplit(" ", 1)[1].split("/")[0]


def keys() -> str:
    """Every customer-managed key, what it encrypts, and who may use it (its key policy's statements)."""
    result = _example("prod")
    cluster = result.exports["cluster_name"]
    lines = [_row("Key (alias)", "Encrypts", "Who may use it (key policy statements)"), _row("---", "---", "---")]
    for alias in sorted(result.of_type("aws:kms/alias:Alias"), key=lambda a: a.inputs["name"]):
        key = next(k for k in result.of_type("aws:kms/key:Key") if result.ids_of(k) == alias.inputs["targetKeyId"]
                   or k.name == alias.name)
        use = [s["Sid"] for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"] != "AccountAdministersKey"]
        lines.append(_row(f"`{alias.inputs['name'].replace(cluster, '<cluster>')}`",
                          key.inputs["description"].replace(cluster, "<cluster>"), ", ".join(use)))
    return "\n".join(lines)


def outputs() -> str:
    """The stack outputs, with the tests' dev stack's values as examples."""
    result = _example("dev")
    lines = [_row("Output", "Example (tests/stacks/Pulumi.dev.yaml, under mocks)"), _row("---", "---")]
    for name, value in result.exports.items():
        shown = "secret: `pulumi stack output " + name + " --show-secrets`" if name in result.secret_exports \
            else f"`{json.dumps(value)}`"
        lines.append(_row(f"`{name}`", shown))
    return "\n".join(lines)


# ---- versions ----------------------------------------------------------------------------------------------------

def versions() -> str:
    from components import versions as pins

    lines = [_row("What", "Version", "Source"), _row("---", "---", "---")]
    charts = [v for v in vars(pins).values() if isinstance(v, pins.Chart)]
    for chart in charts:
        lines.append(_row(f"chart `{chart.name}`", chart.version, chart.repo))
    lines += [
        _row("Istio images", pins.ISTIO_VERSION, pins.ISTIO_HUB),
        _row("Kubeflow release", pins.KUBEFLOW_RELEASE, f"{pins.KUBEFLOW_REPO} at `{pins.KUBEFLOW_REF}`"),
        _row("RDS MySQL engine", pins.MYSQL_ENGINE_VERSION, "AWS applies minor versions"),
        _row("MySQL client (database bootstrap job)", pins.MYSQL_CLIENT_IMAGE.rsplit(":", 1)[1],
             pins.MYSQL_CLIENT_IMAGE.rsplit(":", 1)[0]),
        _row("ElastiCache Valkey engine", pins.VALKEY_ENGINE_VERSION, "AWS applies minor versions"),
        _row("MLflow tracking server", pins.MLFLOW_IMAGE.rsplit(":", 1)[1], pins.MLFLOW_IMAGE.rsplit(":", 1)[0]),
        _row("EKS add-ons", ", ".join(f"`{a}`" for a in pins.EKS_ADDONS),
             "AWS's default for the Kubernetes version when created; `cluster.addonVersions` pins one"),
    ]
    return "\n".join(lines)


def kubernetes_support() -> str:
    from components import versions as pins

    lines = [_row("Kubernetes", "Standard support ends (EKS)", "cluster-autoscaler image"), _row("---", "---", "---")]
    lines += [_row(minor, v.standard_support_ends, v.cluster_autoscaler_image)
              for minor, v in pins.KUBERNETES_VERSIONS.items()]
    lines += ["", _row("Component", "Supports Kubernetes"), _row("---", "---")]
    lines += [_row(component, f"{low} to {high}") for component, (low, high) in pins.KUBERNETES_SUPPORT.items()]
    return "\n".join(lines)


# ---- the code itself ---------------------------------------------------------------------------------------------

def module_docstring(path: Path) -> str:
    """A module's docstring, read with a pattern: ast.parse is not safe beside the threads the Pulumi runtime leaves
    running in the test process ("AST constructor recursion depth mismatch", python/cpython#106905)."""
    found = re.match(r'\s*(?:#[^\n]*\n\s*)*[rR]?"""(.*?)"""', path.read_text(), re.S)
    return inspect.cleandoc(found.group(1)) if found else ""


def _summary(path: Path) -> str:
    doc = module_docstring(path)
    return " ".join(doc.split("\n\n")[0].split())


def tests() -> str:
    lines = [_row("File", "What it proves"), _row("---", "---")]
    lines += [_row(f"`{p.relative_to(ROOT)}`", _summary(p)) for p in sorted((ROOT / "tests").glob("test_*.py"))]
    return "\n".join(lines)


def layout() -> str:
    """Each package and module of components/, offline/, verify/ and tools/ with the first line of what it says
    it is."""
    lines = ["```"]
    for top in ("components", "offline", "verify", "tools"):
        for path in sorted((ROOT / top).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if relative.name == "__init__.py":
                relative = relative.parent
            depth = len(relative.parts) - 1
            summary = re.split(r"(?<=[a-z)])\. ", _summary(path))[0].rstrip(".:")
            head, _, rest = summary.partition(": ")
            summary = rest if rest and len(head) < 30 else summary  # "Cluster: the EKS ..." -> "the EKS ..."
            if len(summary) > 84:
                summary = summary[:83].rsplit(" ", 1)[0] + " ..."
            name = relative.name + ("/" if path.name == "__init__.py" else "")
            lines.append(f"{'  ' * depth}{name:<{30 - 2 * depth}} {summary}".rstrip())
    return "\n".join([*lines, "```"])


def alarms() -> str:
    """Every alarm rule: what it watches, when it fires, why, and which Container Insights mode it needs."""
    from components.observability.alarms import RULES

    result = _example("prod")
    made = {a.inputs["name"].removeprefix(f"mlplatform-{result.stack}-") for a in result.of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}
    dev = {a.inputs["name"].removeprefix("mlplatform-dev-") for a in _example("dev").of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}
    lines = [_row("Alarm (named `<cluster>-<alarm>`)", "Watches", "Fires when", "Why", "In dev"), _row(*["---"] * 5)]
    for rule in RULES.values():
        assert any(name.startswith(rule.key) for name in made), rule.key
        in_dev = "yes" if any(name.startswith(rule.key) for name in dev) else "no (needs `enhanced`)"
        lines.append(_row(f"`{rule.key}`", rule.watches, rule.fires, rule.why, in_dev))
    return "\n".join(lines)


SECTIONS: dict[str, Callable[[], str]] = {
    "config": config_table, "environments": environments_table, "policies": policies,
    "security-groups": security_groups, "plan-summary": plan_summary, "addons": addons, "keys": keys,
    "outputs": outputs, "versions": versions, "kubernetes-support": kubernetes_support, "tests": tests,
    "layout": layout, "alarms": alarms,
}
