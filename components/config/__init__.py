"""The stack configuration as typed, validated objects; this package is the only reader of `pulumi.Config`.

Each top-level key under `mlplatform:` is a section, declared once as a pydantic model in this package
(one module per tier). `load()` runs before any resource is created: every problem found is collected and
raised as one `ConfigError` that names each key and how to fix it, so a bad stack file registers nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema
import pulumi
from pydantic import TypeAdapter, ValidationError

from components.config.addons import AddonsConfig, DnsConfig
from components.config.base import PROJECT, ConfigError, ConfigModel, Problems, did_you_mean, how_to_set, report
from components.config.cluster import ClusterConfig, NodeGroupConfig, node_groups_rules, role_name
from components.config.data import (
    ArtifactStoreConfig,
    DatabaseConfig,
    DataConfig,
    PackageIndexConfig,
    SessionCacheConfig,
)
from components.config.environments import ENVIRONMENTS, PRODUCTION_REQUIREMENTS, Environment
from components.config.kubeflow import ApplicationsConfig, KubeflowConfig, TeamConfig
from components.config.mesh import CompanyIdpConfig, MeshConfig
from components.config.network import MAX_AZS, NetworkConfig
from components.config.observability import ObservabilityConfig
from components.config.placeholders import placeholders

__all__ = ["PROJECT", "ConfigError", "StackConfig", "load", "parse", "parse_stack_file", "placeholder_warnings",
           "role_name",
           "NetworkConfig", "ClusterConfig", "NodeGroupConfig", "AddonsConfig", "DnsConfig", "DataConfig",
           "DatabaseConfig", "ArtifactStoreConfig", "SessionCacheConfig", "PackageIndexConfig", "MeshConfig",
           "CompanyIdpConfig",
           "KubeflowConfig", "ApplicationsConfig", "TeamConfig", "ObservabilityConfig", "Environment", "MAX_AZS",
           "SECTIONS"]

NodeGroups = tuple[NodeGroupConfig, ...]


# The sections under mlplatform:, in the order a deploy goes through them: key -> (type, required, description).
SECTIONS: dict[str, tuple[Any, bool, str]] = {
    "network": (NetworkConfig, True, "the VPC"),
    "cluster": (ClusterConfig, True, "the EKS cluster and who may reach it"),
    "nodeGroups": (NodeGroups, True, "the node groups: at least one CPU group; GPU groups scale from zero"),
    "addons": (AddonsConfig, True, "the DNS zone and ACME account the add-ons use, and optional add-ons"),
    "data": (DataConfig, False, "RDS, the artifact bucket, the session cache and the package index"),
    "mesh": (MeshConfig, True, "the front door (hostname, load balancer) and the login (first admin, company "
                               "identity provider)"),
    "kubeflow": (KubeflowConfig, False, "Kubeflow's applications and the teams that use them"),
    "observability": (ObservabilityConfig, False, "metrics, container logs, alarms and who they reach, the cost "
                                                  "export"),
}
EnvironmentName = Literal[tuple(ENVIRONMENTS)]  # type: ignore[valid-type]
TagMap = dict[str, str]
TOP_LEVEL = {
    "environment": (EnvironmentName, True, f"which environment this stack is: {', '.join(ENVIRONMENTS)} "
                                           "(components/config/environments.py says what each one changes)"),
    "tags": (TagMap, False, "extra tags on every AWS resource (keys may not start with aws:)"),
    **SECTIONS,
}


@dataclass(frozen=True)
class StackConfig:
    stack: str
    environment: str
    region: str
    tags: Mapping[str, str]
    network: NetworkConfig
    cluster: ClusterConfig
    node_groups: NodeGroups
    addons: AddonsConfig
    data: DataConfig
    mesh: MeshConfig
    kubeflow: KubeflowConfig
    observability: ObservabilityConfig

    @property
    def production(self) -> bool:
        """The one notion of production: the environment's entry in environments.py. The program protects
        data by it, and tags every AWS resource with it (`production`), which the policy pack reads."""
        return ENVIRONMENTS[self.environment].production


def load() -> StackConfig:
    """Read and validate this stack's configuration; raise ConfigError before anything is created."""
    raw: dict[str, Any] = {}
    prefix = f"{PROJECT}:"
    for full_key in sorted(_config_keys()):
        if full_key.startswith(prefix):
            # Read raw: a key holding a secret (mesh.companyIdp.clientSecret) arrives decrypted like any other;
            # the component that uses the secret wraps it as a Pulumi secret again.
            raw[full_key[len(prefix):]] = _decode(pulumi.runtime.config.get_config(full_key))
    config = parse(raw, region=pulumi.Config("aws").get("region"), stack=pulumi.get_stack())
    for line in placeholder_warnings(raw):
        pulumi.log.warn(line)
    return config


def parse_stack_file(config: Mapping[str, Any], stack: str) -> StackConfig:
    """A stack file's `config:` as Pulumi.<stack>.yaml holds it (namespaced keys, aws:region among them), validated."""
    raw = {k.removeprefix(f"{PROJECT}:"): v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    return parse(raw, region=config.get("aws:region"), stack=stack)


def placeholder_warnings(raw: Mapping[str, Any]) -> list[str]:
    """One line per example value still in the stack file (components/config/placeholders.py)."""
    return [f"{PROJECT}:{key}: {value!r} is a placeholder: {reason}; replace it before deploying"
            for key, value, reason in placeholders(raw)]


def _decode(value: str | None) -> Any:
    # Structured values arrive as JSON text; anything else stays a string for parse() to judge.
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def _config_keys() -> set[str]:
    # The engine hands config to the program either as the runtime's config map or as the
    # PULUMI_CONFIG environment variable; unknown keys must be caught in both.
    return set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.config.get_config_env())


def parse(raw: Mapping[str, Any], region: str | None, stack: str) -> StackConfig:
    """Validate raw config values (project keys without the namespace) into a StackConfig."""
    problems = Problems()
    for key in raw:
        if key not in TOP_LEVEL:
            problems.add(key, did_you_mean(key, list(TOP_LEVEL)))
    if not region:
        problems.add("", "aws:region: is required: `pulumi config set aws:region <region>`")

    environment = raw.get("environment")
    if isinstance(environment, str) and environment not in ENVIRONMENTS:
        problems.add("environment", f"must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}; a new "
                                    "environment is one entry in ENVIRONMENTS, components/config/environments.py "
                                    "(whether it is production, and whose defaults it takes)")
        environment = None
    else:
        environment = _validated(problems, "environment", raw, {})
    profile = ENVIRONMENTS.get(environment) if isinstance(environment, str) else None
    context = {"defaults": profile.defaults if profile else "dev", "stack": stack, "region": region or ""}
    tags = _validated(problems, "tags", raw, context) or {}
    for tag in tags:
        if tag.lower().startswith("aws:"):
            problems.add(f"tags.{tag}", "the 'aws:' prefix is reserved by AWS; rename the tag")

    sections = {key: _validated(problems, key, raw, context) for key in SECTIONS}
    _check_relations(problems, sections, context)
    if profile and profile.production:
        _check_production(problems, sections)
    problems.raise_if_any()
    assert isinstance(environment, str)  # validated above

    return StackConfig(stack=stack, environment=environment, region=region or "", tags=tags, **{
        "network": sections["network"], "cluster": sections["cluster"], "node_groups": sections["nodeGroups"],
        "addons": sections["addons"], "data": sections["data"], "mesh": sections["mesh"],
        "kubeflow": sections["kubeflow"], "observability": sections["observability"]})


def _check_relations(problems: Problems, sections: dict[str, Any], context: Mapping[str, Any]) -> None:
    """Each section's own rules, then the ones across sections (the sections that failed are already reported)."""
    for key, section in sections.items():
        for item in (i for i in (section if isinstance(section, tuple) else (section,)) if isinstance(i, ConfigModel)):
            where = f"{key}[{item.name}]" if isinstance(item, NodeGroupConfig) else key
            for sub, message in item.rules(context):
                problems.add(f"{where}.{sub}" if sub else where, message)
    if isinstance(sections["nodeGroups"], tuple):
        for key, message in node_groups_rules(sections["nodeGroups"]):
            problems.add(key, message)
        if isinstance(sections["network"], NetworkConfig):
            sections["nodeGroups"] = _zones(problems, sections["nodeGroups"], sections["network"])
    if isinstance(sections["mesh"], MeshConfig) and isinstance(sections["addons"], AddonsConfig):
        sections["mesh"] = _hostname(problems, sections["mesh"], sections["addons"].dns)


def _zones(problems: Problems, groups: NodeGroups, network: NetworkConfig) -> NodeGroups:
    """A GPU group lives in one AZ, the network's first unless it says otherwise: a notebook's EBS workspace can only
    come back in the AZ it was made in, and cluster-autoscaler models a group from zero by its first AZ only."""
    zones = network.availability_zones
    for group in groups:
        if group.zone and group.zone not in zones:
            problems.add(f"nodeGroups[{group.name}].zone", f"{group.zone} is not one of network.availabilityZones "
                                                           f"({', '.join(zones)})")
    return tuple(g.model_copy(update={"zone": zones[0]}) if g.gpu and not g.zone else g for g in groups)


def _hostname(problems: Problems, mesh: MeshConfig, dns: DnsConfig) -> MeshConfig:
    """Kubeflow's hostname defaults to kubeflow.<zone>; its DNS record (external-dns) and certificate
    (cert-manager, DNS-01) are made in that zone, so it must be inside it."""
    hostname = mesh.hostname or f"kubeflow.{dns.domain}"
    if not hostname.endswith(f".{dns.domain}"):
        problems.add("mesh.hostname", f"{hostname} is outside the zone addons.dns.domain ({dns.domain}), where its "
                                      "record and certificate are made; use a name under it")
    return mesh.model_copy(update={"hostname": hostname})


def _validated(problems: Problems, key: str, raw: Mapping[str, Any], context: dict[str, Any]) -> Any:
    kind, required, description = TOP_LEVEL[key]
    value = raw.get(key)
    if value is None:
        if required:
            problems.add(key, f"is required: {description}; {how_to_set(key, kind)}")
            return None
        value = {}
    if kind is NodeGroups and isinstance(value, list):
        # One group at a time, so a mistake in one group does not hide another group's problems.
        groups = [_validated_item(problems, key, index, item, value, context) for index, item in enumerate(value)]
        if not groups:
            problems.add(key, f"is required: {description}")
        return tuple(groups) if all(groups) and groups else None
    try:
        return TypeAdapter(kind).validate_python(value, context=context)
    except ValidationError as error:
        report(problems, key, kind, error, value)
        return None


def _validated_item(problems: Problems, key: str, index: int, item: Any, items: list[Any],
                    context: dict[str, Any]) -> NodeGroupConfig | None:
    try:
        return NodeGroupConfig.model_validate(item, context=context)
    except ValidationError as error:
        report(problems, key, NodeGroups, error, items, within=(index,))
        return None


def _check_production(problems: Problems, sections: Mapping[str, Any]) -> None:
    """The production requirements (environments.py), checked on the settings in effect (defaults included)
    with the same JSON Schema fragments the editor schema carries."""
    for requirement in PRODUCTION_REQUIREMENTS:
        section, *path = requirement.key.split(".")
        value = sections.get(section)
        if value is None:
            continue  # already reported
        value = TypeAdapter(SECTIONS[section][0]).dump_python(value, by_alias=True, mode="json")
        for part in path:
            value = value[part]
        if not jsonschema.Draft7Validator(requirement.schema).is_valid(value):
            problems.add(requirement.key, requirement.fix)

