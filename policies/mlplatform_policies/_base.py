"""Shared helpers: how a policy is declared, how it reads resources, how it words a violation.

Policies see resources the way `pulumi preview` hands them over: inputs deserialized from protobuf and
wrapped in read-only proxies (`collections.abc.Mapping` / `Sequence`, never `dict` / `list`), numbers as
floats, and, during a preview, values still unknown (ids, ARNs of resources not created yet) that raise
`UnknownValueError` when read. The helpers here never raise on those: `get` returns `UNKNOWN`, and a check
skips only the judgement that needs the unknown value while still judging everything that is known. The
engine runs the policies again before each resource is created, when those values are known.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


# A value the engine does not know yet (preview). Compare with `is`.
UNKNOWN: Any = _Unknown()

# Stacks whose names are listed here get the production rules (protection, HA, backups).
PRODUCTION_STACKS_DEFAULT = ["prod"]
PRODUCTION_SCHEMA = {
    "productionStacks": {"type": "array", "items": {"type": "string"},
                         "default": PRODUCTION_STACKS_DEFAULT},
}


# ---- reading resources ------------------------------------------------------------------------------

def is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def get(value: Any, *path: str | int, default: Any = None) -> Any:
    """value[path[0]][path[1]]...: `default` when a step is missing, UNKNOWN when a step is unknown."""
    current = value
    for key in path:
        if current is UNKNOWN:
            return UNKNOWN
        try:
            if isinstance(current, Mapping) or (is_sequence(current) and isinstance(key, int)):
                current = current[key]
            else:
                return default
        except (KeyError, IndexError):
            return default
        except UnknownValueError:
            return UNKNOWN
        if current is None:
            return default
    return current


def items(value: Any) -> list[Any]:
    """The elements of a list-like value (UNKNOWN for each unknown one); a single value as a list of one."""
    if value is None:
        return []
    if value is UNKNOWN or not is_sequence(value):
        return [value]
    found = []
    for index in range(len(value)):
        try:
            found.append(value[index])
        except UnknownValueError:
            found.append(UNKNOWN)
    return found


def keys(value: Any) -> list[str]:
    """The keys of a map (reading keys never touches an unknown value)."""
    return list(value) if isinstance(value, Mapping) else []


def known(value: Any) -> bool:
    return value is not UNKNOWN


def document(value: Any) -> Any:
    """An IAM/bucket/key policy as a Mapping: parsed from JSON, UNKNOWN while unknown, None if absent."""
    if value is UNKNOWN or isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


def truthy(value: Any) -> bool:
    # Launch templates take EBS flags as the strings "true"/"false".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def number(value: Any) -> str:
    """A number for a message: 2.0 (how numbers arrive) reads as 2."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def depends_through(resource, prop: str, target) -> bool:
    """Whether `resource`'s property `prop` is wired to `target` (works while ids are still unknown)."""
    return any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, []))


def refers_to(resource, prop: str, target, target_prop: str | None = None) -> bool:
    """Whether `resource.prop` points at `target`: wired through a dependency, or naming it literally
    (e.g. a bucket given by name rather than by its output)."""
    if depends_through(resource, prop, target):
        return True
    if target_prop is None:
        return False
    value, name = get(resource.props, prop), get(target.props, target_prop)
    return isinstance(value, str) and value == name


def of_type(args: StackValidationArgs, types: Iterable[str]) -> list:
    wanted = set(types)
    return [r for r in args.resources if r.resource_type in wanted]


def companions(args: StackValidationArgs, types: Iterable[str], prop: str, target,
               target_prop: str | None = None) -> list:
    """The resources of `types` whose `prop` points at `target` (e.g. a bucket's public access block)."""
    return [r for r in of_type(args, types) if refers_to(r, prop, target, target_prop)]


# ---- which resources are production --------------------------------------------------------------------

def stack_of(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::<type>::<name> -> <stack>"""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def production_tag(provider: Any) -> bool | None:
    """What the resource's provider says: the mlplatform program tags every AWS resource through its provider's
    default tags with `production: "true"|"false"`, from its environments table (components/config)."""
    if provider is None:
        return None
    tags = get(provider.props, "defaultTags")
    tags = document(tags) if isinstance(tags, str) else tags  # provider inputs may arrive as JSON text
    value = get(tags, "tags", "production")
    return value == "true" if value in ("true", "false") else None


def is_production(resource: Any, config: Mapping[str, Any]) -> bool:
    """One notion of production, the program's: the `production` tag on the resource's provider. Stacks whose
    resources carry no such tag (not deployed by this program) fall back to the `productionStacks` list."""
    tagged = production_tag(getattr(resource, "provider", None))
    if tagged is not None:
        return tagged
    return stack_of(resource.urn) in config.get("productionStacks", PRODUCTION_STACKS_DEFAULT)


# ---- declaring policies ------------------------------------------------------------------------------

def violation(name: str, resource_type: str, problem: str, fix: str) -> str:
    return f"{resource_type} '{name}': {problem}. Fix: {fix}."


def _schema(properties: dict[str, Any] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties=properties) if properties else None


def config_with_defaults(config: Mapping[str, Any] | None, properties: dict[str, Any] | None) -> dict[str, Any]:
    defaults = {k: v["default"] for k, v in (properties or {}).items() if "default" in v}
    return {**defaults, **(config or {})}


# A resource check gets (props, args, config) and yields (problem, fix) pairs.
ResourceCheck = Callable[[Mapping[str, Any], ResourceValidationArgs, dict[str, Any]], Iterable[tuple[str, str]]]


def _described(policy, description: str, control: str):
    policy.what, policy.control = description, control  # for the docs' policy table
    return policy


def resource_policy(name: str, description: str, control: str, types: Iterable[str] | Callable[[str], bool],
                    level=MANDATORY, config: dict[str, Any] | None = None):
    """Declare a ResourceValidationPolicy from a check yielding (problem, fix) pairs.

    `description` says what must hold and why; `control` names the benchmark control or guide it follows. `types`
    are the resource types it judges, or a test of the type (Kubernetes kinds come in several API versions)."""
    judged = types if callable(types) else frozenset(types).__contains__

    def declare(check: ResourceCheck) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation) -> None:
            if not judged(args.resource_type):
                return
            settings = config_with_defaults(args.get_config(), config)
            for problem, fix in check(args.props if args.props is not None else {}, args, settings):
                report_violation(violation(args.name, args.resource_type, problem, fix), None)

        return _described(ResourceValidationPolicy(
            name=name, description=f"{description} ({control})", validate=validate, enforcement_level=level,
            config_schema=_schema(config)), description, control)

    return declare


# A stack check gets (args, config) and yields (message, urn) pairs.
def stack_policy(name: str, description: str, control: str, level=MANDATORY, config: dict[str, Any] | None = None):
    def declare(check) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation) -> None:
            settings = config_with_defaults(args.get_config(), config)
            for message, urn in check(args, settings):
                report_violation(message, urn)

        return _described(StackValidationPolicy(
            name=name, description=f"{description} ({control})", validate=validate, enforcement_level=level,
            config_schema=_schema(config)), description, control)

    return declare


def stack_violation(resource, problem: str, fix: str) -> tuple[str, str]:
    return violation(resource.name, resource.resource_type, problem, fix), resource.urn
