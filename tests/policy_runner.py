"""Run the policy pack's checks directly (no gRPC server) over synthetic or recorded resources."""

from __future__ import annotations

from typing import Any

from mlplatform_policies import ALL_POLICIES
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from tests.harness import StackResult

BY_NAME = {p.name: p for p in ALL_POLICIES}


def urn(stack: str, resource_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::mlplatform::{resource_type}::{name}"


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect=protect, ignore_changes=[], delete_before_replace=None,
                                 aliases=[], custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
                                 additional_secret_outputs=[])


def check_resource(policy_name: str, resource_type: str, props: dict[str, Any], stack: str = "dev",
                   name: str = "subject", config: dict | None = None) -> list[str]:
    policy = BY_NAME[policy_name]
    args = ResourceValidationArgs(resource_type, props, urn(stack, resource_type, name), name,
                                  options(), None, config)
    found: list[str] = []
    policy.validate(args, lambda message, _urn=None: found.append(message))
    return found


def resource(resource_type: str, name: str, props: dict, stack: str = "dev", protect: bool = False,
             property_dependencies: dict[str, list[PolicyResource]] | None = None) -> PolicyResource:
    return PolicyResource(resource_type, props, urn(stack, resource_type, name), name, options(protect),
                          None, None, [], property_dependencies or {})


def check_stack(policy_name: str, resources: list[PolicyResource], config: dict | None = None):
    found: list[tuple[str, str]] = []
    BY_NAME[policy_name].validate(StackValidationArgs(resources, config),
                                  lambda message, at=None: found.append((message, at)))
    return found


def policy_resources(result: StackResult) -> list[PolicyResource]:
    """What CrossGuard would be shown for a stack evaluated under mocks (inputs, camelCase)."""
    made: dict[str, PolicyResource] = {}
    for r in result.resources:
        made[r.urn] = PolicyResource(r.type, r.inputs, r.urn, r.name, options(r.protect), None, None,
                                     [], {})
    for r in result.resources:
        made[r.urn].property_dependencies = {
            prop: [made[u] for u in urns if u in made] for prop, urns in r.property_dependencies.items()}
        made[r.urn].dependencies = [made[u] for u in r.dependencies if u in made]
    return list(made.values())


def violations(result: StackResult) -> list[tuple[str, EnforcementLevel, str]]:
    """Every (policy, level, message) the whole pack reports for an evaluated stack."""
    resources = policy_resources(result)
    found = []
    for policy in ALL_POLICIES:
        def report(message, _urn=None, policy=policy):
            found.append((policy.name, policy.enforcement_level, message))
        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                policy.validate(ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts,
                                                       None, None), report)
        else:
            policy.validate(StackValidationArgs(resources, None), report)
    return found
