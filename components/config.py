"""The stack configuration as typed, validated objects.

This module is the only reader of `pulumi.Config`. `load()` runs before any resource is created: every
problem found is collected and raised as one `ConfigError` that names each key and how to fix it, so a
bad stack file registers nothing.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components import instance_types, versions

PROJECT = "mlplatform"

ENVIRONMENTS = ("dev", "prod")
NAT_MODES = ("single", "perAz")
CAPACITY_TYPES = ("ON_DEMAND", "SPOT")
CPU_AMI_TYPE = "AL2023_x86_64_STANDARD"
# AL2 reached end of support in Nov 2025; the AL2023 NVIDIA AMI ships the driver and container toolkit.
GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
MAX_AZS = 6

_AZ_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")
_ROLE_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Also the prefix of S3 bucket and Secrets Manager names, so lowercase and short.
_CLUSTER_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
_ZONE_ID_RE = re.compile(r"^Z[A-Z0-9]{4,32}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ADDON_VERSION_RE = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")


class ConfigError(pulumi.RunError):
    """Raised by `load()`; its message lists every problem, one line each."""


# ---- the typed configuration -------------------------------------------------------------------

@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    nat_gateways: str  # "single" or "perAz"
    flow_logs: bool
    flow_log_retention_days: int


@dataclass(frozen=True)
class NodeGroupConfig:
    name: str
    instance_types: tuple[str, ...]
    capacity_type: str
    min_size: int
    desired_size: int
    max_size: int
    disk_size_gib: int
    gpu: bool
    ami_type: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def instance(self) -> instance_types.InstanceType:
        """What every node of the group looks like (validation keeps one shape per group)."""
        return instance_types.CATALOGUE[self.instance_types[0]]

    @property
    def accelerator(self) -> str | None:
        """The NVIDIA accelerator of this group's instances, or None for a CPU group."""
        return self.instance.accelerator if self.gpu else None

    @property
    def gpus_per_node(self) -> int:
        return self.instance.gpus if self.gpu else 0


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    kubernetes_version: str
    public_access_cidrs: tuple[str, ...]
    admin_role_arns: tuple[str, ...]
    deploy_role_arn: str | None  # the Pulumi Deployments role (deployments/); cluster-admin like the admins
    log_retention_days: int
    addon_versions: Mapping[str, str]
    node_groups: tuple[NodeGroupConfig, ...]

    @property
    def endpoint_public_access(self) -> bool:
        return bool(self.public_access_cidrs)

    @property
    def access_role_arns(self) -> tuple[str, ...]:
        """Every principal with an access entry: the one deliberate list (no automatic creator entry)."""
        return self.admin_role_arns + ((self.deploy_role_arn,) if self.deploy_role_arn else ())


@dataclass(frozen=True)
class DnsConfig:
    domain: str
    hosted_zone_id: str


@dataclass(frozen=True)
class AddonsConfig:
    """Which optional controllers run, and what they need. The load balancer controller, EBS storage,
    cluster-autoscaler, external-secrets (the data tier's credentials go through it) and the NVIDIA
    device plugin (when there is a GPU group) always run."""
    dns: DnsConfig | None
    acme_email: str | None
    external_dns: bool
    cert_manager: bool
    efs: bool


@dataclass(frozen=True)
class DatabaseConfig:
    instance_class: str
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    backup_retention_days: int
    multi_az: bool
    require_tls: bool
    log_retention_days: int         # the error and slow-query logs RDS exports to CloudWatch
    monitoring_interval_seconds: int  # RDS enhanced monitoring


@dataclass(frozen=True)
class CacheConfig:
    node_type: str
    nodes: int


@dataclass(frozen=True)
class DataConfig:
    database: DatabaseConfig
    cache: CacheConfig
    noncurrent_version_days: int


@dataclass(frozen=True)
class StackConfig:
    stack: str
    environment: str
    region: str
    tags: Mapping[str, str]
    network: NetworkConfig
    cluster: ClusterConfig
    addons: AddonsConfig
    data: DataConfig

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"


def role_name(arn: str) -> str:
    """arn:aws:iam::<account>:role/<path>/<name> -> <name>: a stable key for the role's resources."""
    return arn.rsplit("/", 1)[-1]


# ---- reading ------------------------------------------------------------------------------------

# Top-level keys under the project namespace, and the keys each structured value may hold.
TOP_LEVEL_KEYS = ("environment", "tags", "network", "cluster", "nodeGroups", "addons", "data")
NETWORK_KEYS = ("vpcCidr", "availabilityZones", "natGateways", "flowLogs", "flowLogRetentionDays")
DATA_KEYS = ("database", "cache", "artifacts")
DATABASE_KEYS = ("instanceClass", "allocatedStorageGiB", "maxAllocatedStorageGiB", "backupRetentionDays",
                 "multiAz", "requireTls", "logRetentionDays")
CACHE_KEYS = ("nodeType", "nodes")
ARTIFACT_KEYS = ("noncurrentVersionDays",)
ADDON_KEYS = ("dns", "acmeEmail", "externalDns", "certManager", "efs")
DNS_KEYS = ("domain", "hostedZoneId")
CLUSTER_KEYS = ("name", "kubernetesVersion", "publicAccessCidrs", "adminRoleArns", "deployRoleArn",
                "logRetentionDays", "addonVersions")
NODE_GROUP_KEYS = ("name", "instanceTypes", "capacityType", "minSize", "desiredSize", "maxSize",
                   "diskSizeGiB", "gpu", "amiType", "labels")


def load() -> StackConfig:
    """Read and validate this stack's configuration; raise ConfigError before anything is created."""
    raw: dict[str, Any] = {}
    cfg = pulumi.Config(PROJECT)
    prefix = f"{PROJECT}:"
    for full_key in sorted(_config_keys()):
        if full_key.startswith(prefix):
            key = full_key[len(prefix):]
            raw[key] = _decode(cfg.get(key))
    region = pulumi.Config("aws").get("region")
    return parse(raw, region=region, stack=pulumi.get_stack())


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


class _Problems:
    """Collects every problem so one run reports them all."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{PROJECT}:{key}: {message}")


def _unknown_keys(problems: _Problems, where: str, value: Mapping[str, Any], known: tuple[str, ...]):
    for key in value:
        if key not in known:
            by_lower = {k.lower(): k for k in known}
            close = difflib.get_close_matches(key.lower(), list(by_lower), n=1)
            hint = f"did you mean '{by_lower[close[0]]}'?" if close \
                else f"known keys: {', '.join(known)}"
            path = f"{where}.{key}" if where else key
            problems.add(path, f"unknown key; {hint} (a misspelt key would otherwise be ignored)")


def _typed(problems: _Problems, key: str, value: Any, kind: type | tuple[type, ...],
           what: str) -> Any:
    # bool is an int in Python; a YAML `true` must not pass as a node count.
    if value is None:
        return None
    if isinstance(value, bool) and kind is not bool:
        problems.add(key, f"must be {what}, got {value!r}")
        return None
    if kind is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, kind):
        problems.add(key, f"must be {what}, got {value!r}")
        return None
    return value


def _string_list(problems: _Problems, key: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(key, f"must be a list of strings, got {value!r}")
        return None
    return tuple(value)


def _string_map(problems: _Problems, key: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        problems.add(key, f"must be a map of strings to strings, got {value!r}")
        return {}
    return dict(value)


def _required(problems: _Problems, key: str, value: Any, fix: str) -> Any:
    if value is None or value == [] or value == "":
        problems.add(key, f"is required: {fix}")
    return value


def parse(raw: Mapping[str, Any], region: str | None, stack: str) -> StackConfig:
    """Validate raw config values (project keys without the namespace) into a StackConfig."""
    p = _Problems()
    _unknown_keys(p, "", raw, TOP_LEVEL_KEYS)

    if not region:
        p.lines.append("aws:region: is required: `pulumi config set aws:region <region>`")
        region = ""

    environment = _typed(p, "environment", raw.get("environment"), str, "a string")
    _required(p, "environment", environment, f"set it to one of {', '.join(ENVIRONMENTS)}")
    if environment is not None and environment not in ENVIRONMENTS:
        p.add("environment", f"must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    is_prod = environment == "prod"

    tags = _string_map(p, "tags", raw.get("tags"))
    for key in tags:
        if key.lower().startswith("aws:"):
            p.add(f"tags.{key}", "the 'aws:' prefix is reserved by AWS; rename the tag")

    network = _parse_network(p, _settings(p, "network", raw.get("network"), NETWORK_KEYS, required=True),
                             region, is_prod)
    cluster = _parse_cluster(p, _settings(p, "cluster", raw.get("cluster"), CLUSTER_KEYS, required=True),
                             stack, is_prod)
    node_groups = _parse_node_groups(p, raw.get("nodeGroups"), is_prod)
    addons = _parse_addons(p, _settings(p, "addons", raw.get("addons"), ADDON_KEYS))
    data = _parse_data(p, _settings(p, "data", raw.get("data"), DATA_KEYS), is_prod)

    if p.lines:
        raise ConfigError("invalid stack configuration:\n  " + "\n  ".join(p.lines))

    return StackConfig(
        stack=stack, environment=environment, region=region, tags=tags, network=network,
        cluster=ClusterConfig(**cluster, node_groups=node_groups), addons=addons, data=data,
    )


def _settings(p: _Problems, key: str, value: Any, known: tuple[str, ...],
              required: bool = False) -> dict[str, Any]:
    """A structured value: a map whose keys are all known. Reports and returns {} when it is not one."""
    if value is None:
        if required:
            p.add(key, "is required (a structured value); see Pulumi.dev.yaml for an example")
        return {}
    if not isinstance(value, dict):
        p.add(key, f"must be a map of settings, got {value!r}")
        return {}
    _unknown_keys(p, key, value, known)
    return value


def _parse_network(p: _Problems, raw: dict[str, Any], region: str, is_prod: bool) -> NetworkConfig:

    vpc_cidr = _typed(p, "network.vpcCidr", raw.get("vpcCidr"), str, "a CIDR string")
    _required(p, "network.vpcCidr", vpc_cidr, "set a private IPv4 block such as 10.0.0.0/16")
    if vpc_cidr:
        _check_vpc_cidr(p, vpc_cidr)

    azs = _string_list(p, "network.availabilityZones", raw.get("availabilityZones")) or ()
    _required(p, "network.availabilityZones", list(azs),
              f"list the AZs to use, e.g. [{region or 'us-east-1'}a, {region or 'us-east-1'}b]")
    minimum = 3 if is_prod else 2
    if azs and len(azs) < minimum:
        p.add("network.availabilityZones",
              f"needs at least {minimum} AZs{' in prod' if is_prod else ''}, got {len(azs)}; add more")
    if len(azs) > MAX_AZS:
        p.add("network.availabilityZones", f"at most {MAX_AZS} AZs fit the subnet layout, got {len(azs)}")
    if len(set(azs)) != len(azs):
        p.add("network.availabilityZones", "lists an AZ twice; each AZ once")
    for az in azs:
        if not _AZ_RE.match(az) or (region and not az.startswith(region)):
            p.add("network.availabilityZones",
                  f"{az!r} is not an AZ of region {region!r}; use names like {region}a")

    nat = _typed(p, "network.natGateways", raw.get("natGateways"), str, "a string")
    nat = nat if nat is not None else ("perAz" if is_prod else "single")
    if nat not in NAT_MODES:
        p.add("network.natGateways", f"must be one of {', '.join(NAT_MODES)}, got {nat!r}")
    elif is_prod and nat != "perAz":
        p.add("network.natGateways",
              "prod needs one NAT gateway per AZ so losing an AZ does not cut egress; set perAz")

    flow_logs = _typed(p, "network.flowLogs", raw.get("flowLogs"), bool, "true or false")
    flow_logs = is_prod if flow_logs is None else flow_logs
    if is_prod and not flow_logs:
        p.add("network.flowLogs", "prod keeps VPC flow logs for incident response; set true")

    retention = _retention(p, "network.flowLogRetentionDays", raw.get("flowLogRetentionDays"), 90)
    return NetworkConfig(vpc_cidr=vpc_cidr or "", availability_zones=azs, nat_gateways=nat,
                         flow_logs=flow_logs, flow_log_retention_days=retention)


def _check_vpc_cidr(p: _Problems, cidr: str) -> None:
    try:
        net = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as err:
        p.add("network.vpcCidr", f"{cidr!r} is not a valid IPv4 network ({err}); e.g. 10.0.0.0/16")
        return
    if not 16 <= net.prefixlen <= 19:
        p.add("network.vpcCidr",
              f"{cidr} must be between /16 and /19 so every subnet fits (private subnets get 1/8 "
              "of the VPC each for pod IPs; public ones must stay /27 or larger for load "
              "balancers); use e.g. 10.0.0.0/16")
    if not net.is_private:
        p.add("network.vpcCidr", f"{cidr} is not a private (RFC 1918) range; use 10.0.0.0/8 space")


def _retention(p: _Problems, key: str, value: Any, default: int) -> int:
    days = _typed(p, key, value, int, "a whole number of days")
    if days is None:
        return default
    if days not in LOG_RETENTION_DAYS:
        nearest = min(LOG_RETENTION_DAYS, key=lambda d: abs(d - days))
        p.add(key, f"CloudWatch does not accept {days} days; use an allowed value such as {nearest}")
    return days


def _parse_cluster(p: _Problems, raw: dict[str, Any], stack: str, is_prod: bool) -> dict[str, Any]:

    name = _typed(p, "cluster.name", raw.get("name"), str, "a string") or f"{PROJECT}-{stack}"
    if not _CLUSTER_NAME_RE.match(name):
        p.add("cluster.name", f"{name!r} must be lowercase letters, digits and '-', at most 30 characters "
              "(it also names S3 buckets and secrets)")

    version = _typed(p, "cluster.kubernetesVersion", raw.get("kubernetesVersion"), str,
                     "a string such as \"1.35\"") or versions.DEFAULT_KUBERNETES_VERSION
    if version not in versions.KUBERNETES_STANDARD_SUPPORT_ENDS:
        supported = ", ".join(versions.KUBERNETES_STANDARD_SUPPORT_ENDS)
        p.add("cluster.kubernetesVersion",
              f"{version!r} is not supported here; use one of {supported} (see components/versions.py)")

    cidrs = _string_list(p, "cluster.publicAccessCidrs", raw.get("publicAccessCidrs")) or ()
    for cidr in cidrs:
        try:
            net = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            p.add("cluster.publicAccessCidrs", f"{cidr!r} is not a valid IPv4 CIDR such as 203.0.113.0/24")
            continue
        if net.prefixlen == 0:
            p.add("cluster.publicAccessCidrs",
                  "0.0.0.0/0 opens the Kubernetes API to the internet; list your office/VPN/CI "
                  "egress CIDRs, or leave the list empty for a private-only endpoint")

    admins = _string_list(p, "cluster.adminRoleArns", raw.get("adminRoleArns")) or ()
    _required(p, "cluster.adminRoleArns", list(admins),
              "list the IAM role ARNs that get cluster-admin access (e.g. your SSO admin role)")
    for arn in admins:
        if not _ROLE_ARN_RE.match(arn):
            p.add("cluster.adminRoleArns", f"{arn!r} is not an IAM role ARN "
                  "(arn:aws:iam::<account>:role/<name>)")
    deployer = _typed(p, "cluster.deployRoleArn", raw.get("deployRoleArn"), str, "an IAM role ARN")
    if deployer and not _ROLE_ARN_RE.match(deployer):
        p.add("cluster.deployRoleArn", f"{deployer!r} is not an IAM role ARN (the role deployments/ creates, "
              "arn:aws:iam::<account>:role/mlplatform-deploy-<stack>)")
    # EKS accepts one access entry per principal (a second fails with 409 ResourceInUseException), and the
    # entries are named after the role, so each principal and each role name appears once.
    principals = [*admins, *([deployer] if deployer else [])]
    for arn in sorted({a for a in principals if principals.count(a) > 1}):
        p.add("cluster.adminRoleArns", f"{arn} is listed twice (or is also cluster.deployRoleArn); "
              "list each principal once")
    names = [role_name(a) for a in set(principals)]
    for name in sorted({n for n in names if names.count(n) > 1}):
        p.add("cluster.adminRoleArns", f"two roles are named {name!r}; access entries are keyed by role "
              "name, so give them distinct names")

    retention = _retention(p, "cluster.logRetentionDays", raw.get("logRetentionDays"),
                           365 if is_prod else 30)

    addon_versions = _string_map(p, "cluster.addonVersions", raw.get("addonVersions"))
    for addon, pinned in addon_versions.items():
        if addon not in versions.EKS_ADDONS:
            p.add(f"cluster.addonVersions.{addon}",
                  f"unknown add-on; pin one of {', '.join(versions.EKS_ADDONS)}")
        elif not _ADDON_VERSION_RE.match(pinned):
            p.add(f"cluster.addonVersions.{addon}",
                  f"{pinned!r} is not an EKS add-on version such as v1.19.2-eksbuild.1 "
                  "(aws eks describe-addon-versions)")

    return dict(name=name, kubernetes_version=version, public_access_cidrs=cidrs, admin_role_arns=admins,
                deploy_role_arn=deployer, log_retention_days=retention, addon_versions=addon_versions)


def _parse_node_groups(p: _Problems, raw: Any, is_prod: bool) -> tuple[NodeGroupConfig, ...]:
    if raw is None or raw == []:
        p.add("nodeGroups", "is required: list at least one CPU node group for the system workloads")
        return ()
    if not isinstance(raw, list):
        p.add("nodeGroups", f"must be a list of node groups, got {raw!r}")
        return ()

    groups = []
    for index, item in enumerate(raw):
        key = f"nodeGroups[{index}]"
        if not isinstance(item, dict):
            p.add(key, f"must be a map of settings, got {item!r}")
            continue
        group = _parse_node_group(p, key, item)
        if group:
            groups.append(group)

    names = [g.name for g in groups]
    for name in sorted({n for n in names if names.count(n) > 1}):
        p.add("nodeGroups", f"the name {name!r} is used twice; node group names must be unique")
    if groups and all(g.gpu for g in groups):
        p.add("nodeGroups", "every group is a GPU group; add a CPU group for the system workloads")
    if is_prod and groups and not any(
            not g.gpu and g.capacity_type == "ON_DEMAND" and g.min_size >= 2 for g in groups):
        p.add("nodeGroups", "prod needs an ON_DEMAND CPU group with minSize >= 2, so a node can "
              "drain (upgrades, AZ loss) while the platform keeps running")
    return tuple(groups)


def _parse_node_group(p: _Problems, key: str, raw: dict[str, Any]) -> NodeGroupConfig | None:
    problems_before = len(p.lines)

    name = _typed(p, f"{key}.name", raw.get("name"), str, "a string")
    _required(p, f"{key}.name", name, "give the group a short name such as 'system' or 'gpu'")
    if name and not _NAME_RE.match(name):
        p.add(f"{key}.name", f"{name!r} must be lowercase letters, digits and '-', at most 31 chars")
    if name:
        key = f"nodeGroups[{name}]"
    _unknown_keys(p, key, raw, NODE_GROUP_KEYS)

    gpu = _typed(p, f"{key}.gpu", raw.get("gpu"), bool, "true or false") or False
    instance_types_ = _string_list(p, f"{key}.instanceTypes", raw.get("instanceTypes")) or ()
    _required(p, f"{key}.instanceTypes", list(instance_types_), "list one or more EC2 instance types")
    known = [instance_types.lookup(t) for t in instance_types_]
    for itype, spec in zip(instance_types_, known, strict=True):
        if spec is None:
            p.add(f"{key}.instanceTypes", f"{itype!r} is not in the instance catalogue "
                  "(components/instance_types.py); use a listed x86_64 type or add it there with its "
                  "vCPUs, memory and GPUs")
        elif gpu and not spec.gpus:
            families = ", ".join(instance_types.GPU_FAMILIES)
            p.add(f"{key}.instanceTypes", f"{itype} has no NVIDIA GPU; a GPU group needs an "
                  f"instance type from the families {families} (or set gpu: false)")
        elif not gpu and spec.gpus:
            p.add(f"{key}.instanceTypes", f"{itype} is a GPU instance; set gpu: true so it gets the "
                  "NVIDIA AMI and the GPU taint, or choose a CPU instance type")
    shapes = {(s.vcpus, s.memory_gib, s.gpus, s.accelerator) for s in known if s}
    if len(shapes) > 1:
        p.add(f"{key}.instanceTypes", f"mixes shapes ({', '.join(instance_types_)}); cluster-autoscaler "
              "assumes every node of a group has the same CPU, memory and GPUs, so use one size per group "
              "(a second group for another size)")

    ami_type = _typed(p, f"{key}.amiType", raw.get("amiType"), str, "a string")
    expected_ami = GPU_AMI_TYPE if gpu else CPU_AMI_TYPE
    ami_type = ami_type or expected_ami
    if ami_type != expected_ami:
        p.add(f"{key}.amiType", f"{'a GPU' if gpu else 'a CPU'} group must use {expected_ami}, "
              f"got {ami_type!r}")

    capacity = _typed(p, f"{key}.capacityType", raw.get("capacityType"), str, "a string") or "ON_DEMAND"
    if capacity not in CAPACITY_TYPES:
        p.add(f"{key}.capacityType", f"must be ON_DEMAND or SPOT, got {capacity!r}")

    sizes = {}
    for size_key in ("minSize", "desiredSize", "maxSize"):
        value = _typed(p, f"{key}.{size_key}", raw.get(size_key), int, "a whole number")
        _required(p, f"{key}.{size_key}", value, "set minSize, desiredSize and maxSize")
        if value is not None and value < 0:
            p.add(f"{key}.{size_key}", f"must not be negative, got {value}")
        sizes[size_key] = value
    lo, want, hi = sizes["minSize"], sizes["desiredSize"], sizes["maxSize"]
    if None not in (lo, want, hi):
        if not lo <= want <= hi:
            p.add(key, f"needs minSize <= desiredSize <= maxSize, got {lo} <= {want} <= {hi}")
        if hi < 1:
            p.add(f"{key}.maxSize", "must be at least 1, or the group can never run a node")

    # GPU images (CUDA, frameworks) are tens of GB; a small root volume fills up on the first pull.
    disk = _number(p, f"{key}.diskSizeGiB", raw.get("diskSizeGiB"), 200 if gpu else 100, 20, 16384)

    labels = _string_map(p, f"{key}.labels", raw.get("labels"))

    if len(p.lines) != problems_before:
        return None
    return NodeGroupConfig(name=name, instance_types=instance_types_, capacity_type=capacity,
                           min_size=lo, desired_size=want, max_size=hi, disk_size_gib=disk,
                           gpu=gpu, ami_type=ami_type, labels=labels)


def _parse_addons(p: _Problems, raw: dict[str, Any]) -> AddonsConfig:
    switches = {}
    for key in ("externalDns", "certManager", "efs"):
        value = _typed(p, f"addons.{key}", raw.get(key), bool, "true or false")
        switches[key] = True if value is None else value

    dns = None
    dns_raw = _settings(p, "addons.dns", raw.get("dns"), DNS_KEYS)
    if dns_raw:
        domain = _typed(p, "addons.dns.domain", dns_raw.get("domain"), str, "a string") or ""
        zone = _typed(p, "addons.dns.hostedZoneId", dns_raw.get("hostedZoneId"), str, "a string") or ""
        if not _DOMAIN_RE.match(domain):
            p.add("addons.dns.domain", f"{domain!r} is not a DNS domain such as ml.example.com")
        if not _ZONE_ID_RE.match(zone):
            p.add("addons.dns.hostedZoneId", f"{zone!r} is not a Route 53 hosted zone ID such as "
                  "Z0123456789ABCDEFGHIJ (aws route53 list-hosted-zones)")
        dns = DnsConfig(domain=domain, hosted_zone_id=zone)
    for key, what in (("externalDns", "DNS records"), ("certManager", "DNS-01 certificates")):
        if switches[key] and dns is None:
            p.add("addons.dns", f"is required while addons.{key} is on ({what} go into that zone); "
                  f"set domain and hostedZoneId, or set addons.{key}: false")

    email = _typed(p, "addons.acmeEmail", raw.get("acmeEmail"), str, "a string")
    if switches["certManager"] and not email:
        p.add("addons.acmeEmail", "is required while addons.certManager is on: Let's Encrypt sends "
              "expiry notices there")
    elif email and not _EMAIL_RE.match(email):
        p.add("addons.acmeEmail", f"{email!r} is not an email address")

    return AddonsConfig(dns=dns, acme_email=email, external_dns=switches["externalDns"],
                        cert_manager=switches["certManager"], efs=switches["efs"])


def _number(p: _Problems, key: str, value: Any, default: int, low: int, high: int) -> int:
    number = _typed(p, key, value, int, "a whole number")
    number = default if number is None else number
    if not low <= number <= high:
        p.add(key, f"must be between {low} and {high}, got {number}")
    return number


def _parse_data(p: _Problems, raw: dict[str, Any], is_prod: bool) -> DataConfig:
    db = _settings(p, "data.database", raw.get("database"), DATABASE_KEYS)
    instance_class = _typed(p, "data.database.instanceClass", db.get("instanceClass"), str, "a string") \
        or ("db.m7g.large" if is_prod else "db.t4g.medium")
    if not instance_class.startswith("db."):
        p.add("data.database.instanceClass", f"{instance_class!r} is not an RDS instance class such as db.m7g.large")
    storage = _number(p, "data.database.allocatedStorageGiB", db.get("allocatedStorageGiB"),
                      100 if is_prod else 20, 20, 65536)
    max_storage = _number(p, "data.database.maxAllocatedStorageGiB", db.get("maxAllocatedStorageGiB"),
                          storage * 5, 20, 65536)
    if max_storage < storage:
        p.add("data.database.maxAllocatedStorageGiB",
              f"must be at least allocatedStorageGiB ({storage}) so storage can grow, got {max_storage}")
    minimum_backups = 14 if is_prod else 1
    backups = _number(p, "data.database.backupRetentionDays", db.get("backupRetentionDays"),
                      14 if is_prod else 7, 1, 35)
    if backups < minimum_backups:
        p.add("data.database.backupRetentionDays",
              f"prod keeps at least {minimum_backups} days of backups for point-in-time restore, got {backups}")
    multi_az = _typed(p, "data.database.multiAz", db.get("multiAz"), bool, "true or false")
    multi_az = is_prod if multi_az is None else multi_az
    if is_prod and not multi_az:
        p.add("data.database.multiAz", "prod runs the database in two AZs; set true")
    require_tls = _typed(p, "data.database.requireTls", db.get("requireTls"), bool, "true or false") or False
    db_logs = _retention(p, "data.database.logRetentionDays", db.get("logRetentionDays"), 365 if is_prod else 30)

    cache = _settings(p, "data.cache", raw.get("cache"), CACHE_KEYS)
    node_type = _typed(p, "data.cache.nodeType", cache.get("nodeType"), str, "a string") \
        or ("cache.m7g.large" if is_prod else "cache.t4g.small")
    if not node_type.startswith("cache."):
        p.add("data.cache.nodeType", f"{node_type!r} is not an ElastiCache node type such as cache.t4g.small")
    nodes = _number(p, "data.cache.nodes", cache.get("nodes"), 2 if is_prod else 1, 1, 6)
    if is_prod and nodes < 2:
        p.add("data.cache.nodes", "prod needs a replica in a second AZ for automatic failover; set 2 or more")

    artifacts = _settings(p, "data.artifacts", raw.get("artifacts"), ARTIFACT_KEYS)
    noncurrent = _number(p, "data.artifacts.noncurrentVersionDays", artifacts.get("noncurrentVersionDays"),
                         90 if is_prod else 30, 1, 3650)

    return DataConfig(
        database=DatabaseConfig(instance_class=instance_class, allocated_storage_gib=storage,
                                max_allocated_storage_gib=max_storage, backup_retention_days=backups,
                                multi_az=multi_az, require_tls=require_tls, log_retention_days=db_logs,
                                # Enhanced monitoring: OS metrics every 15 s in prod, every minute in dev.
                                monitoring_interval_seconds=15 if is_prod else 60),
        cache=CacheConfig(node_type=node_type, nodes=nodes),
        noncurrent_version_days=noncurrent,
    )
