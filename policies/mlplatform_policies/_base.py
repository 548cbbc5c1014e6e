"""Shared helpers: how a policy is declared, how it words a violation, which stacks are production."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# Stacks whose names are listed here get the production rules (protection, HA, backups).
PRODUCTION_STACKS_DEFAULT = ["prod"]
PRODUCTION_SCHEMA = {
    "productionStacks": {"type": "array", "items": {"type": "string"},
                         "default": PRODUCTION_STACKS_DEFAULT},
}


def stack_of(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::<type>::<name> -> <stack>"""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0]


def is_production(urn: str, config: dict[str, Any]) -> bool:
    return stack_of(urn) in config.get("productionStacks", PRODUCTION_STACKS_DEFAULT)


def violation(name: str, resource_type: str, problem: str, fix: str) -> str:
    return f"{resource_type} '{name}': {problem}. Fix: {fix}."


def _schema(properties: dict[str, Any] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties=properties) if properties else None


def config_with_defaults(config: dict[str, Any], properties: dict[str, Any] | None) -> dict[str, Any]:
    defaults = {k: v["default"] for k, v in (properties or {}).items() if "default" in v}
    return {**defaults, **(config or {})}


# A resource check gets (props, args, config) and yields "problem. Fix: ..." sentences.
ResourceCheck = Callable[[dict[str, Any], ResourceValidationArgs, dict[str, Any]], Iterable[tuple[str, str]]]


def resource_policy(name: str, description: str, types: Iterable[str], level=MANDATORY,
                    config: dict[str, Any] | None = None):
    """Declare a ResourceValidationPolicy from a check yielding (problem, fix) pairs."""
    types = frozenset(types)

    def declare(check: ResourceCheck) -> ResourceValidationPolicy:
        def validate(args: ResourceValidationArgs, report_violation) -> None:
            if args.resource_type not in types:
                return
            settings = config_with_defaults(args.get_config(), config)
            for problem, fix in check(dict(args.props or {}), args, settings):
                report_violation(violation(args.name, args.resource_type, problem, fix), None)

        return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                        enforcement_level=level, config_schema=_schema(config))

    return declare


# A stack check gets (args, config) and yields (message, urn) pairs.
def stack_policy(name: str, description: str, level=MANDATORY, config: dict[str, Any] | None = None):
    def declare(check) -> StackValidationPolicy:
        def validate(args: StackValidationArgs, report_violation) -> None:
            settings = config_with_defaults(args.get_config(), config)
            for message, urn in check(args, settings):
                report_violation(message, urn)

        return StackValidationPolicy(name=name, description=description, validate=validate,
                                     enforcement_level=level, config_schema=_schema(config))

    return declare


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def parse_document(value: Any) -> dict[str, Any] | None:
    """An IAM/bucket policy as a dict; None while it is still unknown (computed at deploy time)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def truthy(value: Any) -> bool:
    # Launch templates take EBS flags as the strings "true"/"false".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def depends_through(resource, prop: str, target) -> bool:
    """Whether `resource`'s property `prop` is wired to `target` (resolves even when ids are unknown)."""
    return any(dep.urn == target.urn for dep in resource.property_dependencies.get(prop, []))
