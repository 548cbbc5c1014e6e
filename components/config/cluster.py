"""cluster and nodeGroups: the EKS cluster, who may reach it, and its node groups."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, StrictInt

from components import instance_types as catalogue
from components import versions
from components.config import environments
from components.config.base import ConfigModel, repeated, text
from components.config.network import RetentionDays

CPU_AMI_TYPE = "AL2023_x86_64_STANDARD"
# AL2 reached end of support in Nov 2025; the AL2023 NVIDIA AMI ships the driver and container toolkit.
GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
ROLE_ARN_PATTERN = r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]+$"
ROLE_ARN_HINT = "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
CIDR_PATTERN = r"^(\d{1,3}\.){3}\d{1,3}/([1-9]|[12]\d|3[0-2])$"  # /0 is never allowed: it opens the API to all
PRIVATE_CIDR_PATTERN = r"^(10\.\d{1,3}|172\.(1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}/([89]|[12]\d|3[0-2])$"
ADDON_VERSION_PATTERN = r"^v\d+\.\d+\.\d+-eksbuild\.\d+$"
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"
# The cluster's name prefixes what AWS wants unique and spelled its way: S3 buckets (lowercase), RDS and ElastiCache
# identifiers (no hyphen at the end, none twice in a row), Secrets Manager names and key aliases.
CLUSTER_NAME_PATTERN = r"^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$"
CLUSTER_NAME_HINT = ("a name of lowercase letters, digits and single hyphens, starting with a letter and not ending in "
                     "a hyphen (it also names S3 buckets, the database and the session cache)")
# How long the names the program derives from it may be, and how much they add (components/data: the access-log
# bucket <name>-access-logs-<12-digit account>-<region> within S3's 63; the session cache's replication group
# <name>-sessions within ElastiCache's 40).
LONGEST_BUCKET_SUFFIX = len("-access-logs-") + 12 + 1   # plus the region
S3_BUCKET_NAME_MAX = 63
SESSION_CACHE_SUFFIX = len("-sessions")
MIRROR_PREFIX_MAX = 30  # an ECR pull-through cache rule's repository prefix
ELASTICACHE_GROUP_ID_MAX = 40


def cluster_name_limit(region: str) -> int:
    """The longest cluster name whose derived names fit AWS's limits in `region`."""
    return min(S3_BUCKET_NAME_MAX - LONGEST_BUCKET_SUFFIX - len(region),
               ELASTICACHE_GROUP_ID_MAX - SESSION_CACHE_SUFFIX)


def _catalogued(name: str) -> str:
    if name not in catalogue.CATALOGUE:
        raise ValueError(f"{name!r} is not in the instance catalogue (components/instance_types.py); use a listed "
                         "x86_64 type or add it there with its vCPUs, memory and GPUs")
    return name


InstanceTypeName = Annotated[str, AfterValidator(_catalogued),
                             Field(json_schema_extra={"enum": sorted(catalogue.CATALOGUE)})]


def role_name(arn: str) -> str:
    """arn:aws:iam::<account>:role/<path>/<name> -> <name>: a stable key for the role's resources."""
    return arn.rsplit("/", 1)[-1]


RoleArn = Annotated[str, Field(pattern=ROLE_ARN_PATTERN, json_schema_extra={"hint": ROLE_ARN_HINT})]


class RegistryMirrorConfig(ConfigModel):
    """An in-region mirror of the GitHub Container Registry (where Kubeflow's notebook images live): an ECR
    pull-through cache. ECR fetches an image from ghcr.io on its first pull and serves it from the region after."""

    ghcr_credential_arn: str = text(
        r"^arn:aws(-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache/[\w/+=.@-]+$",
        "the ARN of a Secrets Manager secret named ecr-pullthroughcache/<name>, in this stack's account and region",
        "the GitHub credentials ECR pulls from ghcr.io with (ECR requires them for ghcr.io even for public images): "
        "a secret holding {\"username\": <GitHub user>, \"accessToken\": <token with read:packages>} "
        "(docs/kubeflow.md, GPU notebooks)")

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        region = context.get("region")
        secret_region = self.ghcr_credential_arn.split(":")[3]
        if region and secret_region != region:
            yield "ghcrCredentialArn", f"the secret is in {secret_region}, the stack in {region}; ECR reads it only " \
                                       "from its own region"


class ClusterConfig(ConfigModel):
    ENVIRONMENT_DEFAULTS = environments.CLUSTER_DEFAULTS
    DERIVED_DEFAULTS = {"name": "mlplatform-<stack>"}

    name: str = text(CLUSTER_NAME_PATTERN, CLUSTER_NAME_HINT, "the EKS cluster's name; it prefixes the names of the "
                     "stack's buckets, database, cache, secrets and keys, so at most 37 characters minus the length "
                     "of aws:region (28 in us-east-1)", default="")
    kubernetes_version: Literal[tuple(versions.KUBERNETES_VERSIONS)] = Field(  # type: ignore[valid-type]
        versions.DEFAULT_KUBERNETES_VERSION,
        description="a Kubernetes minor from components/versions.py, inside every pinned component's range")
    public_access_cidrs: tuple[Annotated[str, Field(pattern=CIDR_PATTERN, json_schema_extra={
        "hint": "an IPv4 CIDR such as 203.0.113.0/24 (never 0.0.0.0/0, which opens the API to everyone)"})], ...] = \
        Field((), description="who may reach the public API endpoint (office/VPN/CI egress); empty: private only")
    private_access_cidrs: tuple[Annotated[str, Field(pattern=PRIVATE_CIDR_PATTERN, json_schema_extra={
        "hint": "a private (RFC 1918) IPv4 network such as 10.100.0.0/24"})], ...] = Field(
        (), description="networks routed to the VPC (VPN, peering, Transit Gateway) that may reach the private API "
                        "endpoint: where admins and the deployment agents run (docs/delivery.md)")
    admin_role_arns: tuple[RoleArn, ...] = Field(
        min_length=1, json_schema_extra={"uniqueItems": True},
        description="IAM roles given cluster-admin through access entries (whoever runs `pulumi up` by hand "
                    "assumes one); list the role ARNs, e.g. your SSO admin role")
    deploy_role_arn: RoleArn | None = Field(
        None, description="the Pulumi Deployments role of this stack (deployments/ creates "
                          "mlplatform-deploy-<stack>); cluster-admin like the admins")
    log_retention_days: RetentionDays = Field(
        description="control-plane log retention (a value CloudWatch accepts)")
    addon_versions: dict[Literal[versions.EKS_ADDONS], Annotated[str, Field(  # type: ignore[valid-type]
        pattern=ADDON_VERSION_PATTERN, json_schema_extra={
            "hint": "an EKS add-on version such as v1.19.2-eksbuild.1 (aws eks describe-addon-versions)"})]] = Field(
        default_factory=dict, description="pins for EKS add-ons; unpinned ones take AWS's default at creation, then "
                                          "are kept")
    registry_mirror: RegistryMirrorConfig | None = Field(
        None, description="pull notebook images through an in-region ECR mirror of ghcr.io (off: from ghcr.io through "
                          "the NAT gateway)")

    @classmethod
    def derived_defaults(cls, data: dict[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        if not data.get("name") and context:
            data["name"] = f"mlplatform-{context['stack']}"
        return data

    @property
    def endpoint_public_access(self) -> bool:
        return bool(self.public_access_cidrs)

    @property
    def access_role_arns(self) -> tuple[str, ...]:
        """Every principal with an access entry: the one deliberate list (no automatic creator entry)."""
        return self.admin_role_arns + ((self.deploy_role_arn,) if self.deploy_role_arn else ())

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        region = context.get("region") or ""
        if region and len(self.name) > cluster_name_limit(region):
            default = " (the default, mlplatform-<stack>)" if self.name == f"mlplatform-{context.get('stack')}" else ""
            yield "name", f"{self.name!r}{default} is {len(self.name)} characters; in {region} the access-log bucket " \
                          f"{self.name}-access-logs-<account>-{region} would pass S3's {S3_BUCKET_NAME_MAX}: set a " \
                          f"name of at most {cluster_name_limit(region)} characters"
        # EKS accepts one access entry per principal (a second fails with 409 ResourceInUseException), and the
        # entries are named after the role, so each principal and each role name appears once.
        principals = list(self.access_role_arns)
        for arn in repeated(principals):
            yield "adminRoleArns", f"{arn} is listed twice (or is also cluster.deployRoleArn); list each principal once"
        for name in repeated([role_name(a) for a in set(principals)]):
            yield "adminRoleArns", f"two roles are named {name!r}; access entries are keyed by role name, so give " \
                                   "them distinct names"
        if self.registry_mirror:
            for key, message in self.registry_mirror.rules(context):
                yield f"registryMirror.{key}", message
            if len(self.name) > MIRROR_PREFIX_MAX - len("/ghcr"):
                yield "registryMirror", f"the mirror's ECR prefix is <cluster.name>/ghcr, at most " \
                                        f"{MIRROR_PREFIX_MAX} characters: set a cluster.name of at most " \
                                        f"{MIRROR_PREFIX_MAX - len('/ghcr')}"
        for component, (low, high) in versions.KUBERNETES_SUPPORT.items():
            if not versions.minor(low) <= versions.minor(self.kubernetes_version) <= versions.minor(high):
                yield "kubernetesVersion", f"{self.kubernetes_version} is outside {component}'s supported range " \
                                           f"{low}-{high}; choose a version inside it or bump {component} in " \
                                           "components/versions.py"


def _gpu_or_cpu_schema() -> dict[str, Any]:
    """In the editor schema too: a GPU group takes GPU instance types and the NVIDIA AMI, a CPU group neither."""
    def types(gpu: bool) -> list[str]:
        return sorted(n for n, t in catalogue.CATALOGUE.items() if bool(t.gpus) is gpu)

    return {"if": {"properties": {"gpu": {"const": True}}, "required": ["gpu"]},
            "then": {"properties": {"instanceTypes": {"items": {"enum": types(True)}},
                                    "amiType": {"const": GPU_AMI_TYPE}}},
            "else": {"properties": {"instanceTypes": {"items": {"enum": types(False)}},
                                    "amiType": {"const": CPU_AMI_TYPE}}}}


HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
DAY = "(MON|TUE|WED|THU|FRI|SAT|SUN)"
DAYS_PATTERN = rf"^(\*|{DAY}(-{DAY})?(,{DAY}(-{DAY})?)*)$"
WEEK = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


class WarmHoursConfig(ConfigModel):
    """When one node of a GPU group is kept up: from `start` to `stop` on `days`, in `timezone`. Two scheduled
    actions on the group's Auto Scaling group raise its minimum to one at `start` and put it back at `stop`."""

    start: str = text(HHMM_PATTERN, "a time of day HH:MM such as 08:00", "when the warm node comes up")
    stop: str = text(HHMM_PATTERN, "a time of day HH:MM such as 19:00, after start",
                     "when the group may scale back to its minimum")
    days: str = text(DAYS_PATTERN, "days of the week as cron writes them: MON-FRI, MON,WED,FRI or *",
                     "the days the warm node comes up", default="MON-FRI")
    timezone: str = text(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+)+)$",
                         "an IANA time zone such as Europe/Berlin or UTC", "the time zone of start and stop",
                         default="UTC")

    def cron(self, time: str) -> str:
        """The Auto Scaling recurrence (Unix cron) for `time` on `days`."""
        hour, minute = time.split(":")
        return f"{int(minute)} {int(hour)} * * {self.days}"

    @property
    def hours_per_week(self) -> float:
        return (_minutes(self.stop) - _minutes(self.start)) / 60 * len(weekdays(self.days))


def _minutes(time: str) -> int:
    hour, minute = time.split(":")
    return int(hour) * 60 + int(minute)


def weekdays(days: str) -> set[str]:
    if days == "*":
        return set(WEEK)
    chosen: set[str] = set()
    for part in days.split(","):
        first, _, last = part.partition("-")
        start, end = WEEK.index(first), WEEK.index(last or first)
        chosen.update(WEEK[start:end + 1] if start <= end else WEEK[start:] + WEEK[:end + 1])
    return chosen


class NodeGroupConfig(ConfigModel):
    model_config = ConfigDict(json_schema_extra=_gpu_or_cpu_schema())

    DERIVED_DEFAULTS = {"diskSizeGiB": "100; GPU groups 200", "amiType": "AL2023_x86_64_STANDARD; GPU groups "
                                                                        "AL2023_x86_64_NVIDIA",
                        "diskThroughputMiBps": "125; GPU groups 1000 (300 with an image cache)",
                        "diskIops": "3000; GPU groups 16000 (3000 with an image cache)",
                        "fastImagePull": "false; GPU groups true unless imageCacheSnapshotId is set"}

    name: str = text(NAME_PATTERN, "a name of lowercase letters, digits and '-', at most 31 characters",
                     "a short, stable name such as system or gpu-xlarge: it names the group's resources")
    instance_types: tuple[InstanceTypeName, ...] = Field(
        min_length=1, description="EC2 instance types of one CPU/memory/GPU shape (cluster-autoscaler assumes one "
                                  "shape per group), from components/instance_types.py")
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field("ON_DEMAND", description="on-demand or spot instances")
    min_size: StrictInt = Field(ge=0, le=1000, description="fewest nodes; 0 lets the group scale to zero")
    desired_size: StrictInt = Field(ge=0, le=1000, description="nodes at creation; the autoscaler owns it after")
    max_size: StrictInt = Field(ge=1, le=1000, description="most nodes the autoscaler may start")
    disk_size_gib: StrictInt = Field(alias="diskSizeGiB", ge=20, le=16384,
                                     description="root volume size (GiB); GPU images (CUDA, frameworks) are tens "
                                                 "of GB")
    gpu: StrictBool = Field(False, description="NVIDIA GPU nodes: the NVIDIA AMI, the nvidia.com/gpu taint and "
                                               "labels for scheduling")
    ami_type: Literal[CPU_AMI_TYPE, GPU_AMI_TYPE] = Field(  # type: ignore[valid-type]
        description="the EKS AMI type; follows gpu, which is the only value allowed")
    labels: dict[str, str] = Field(default_factory=dict, description="extra Kubernetes labels on the nodes")
    disk_throughput_mibps: StrictInt = Field(
        alias="diskThroughputMiBps", ge=125, le=1000,
        description="root (and image cache) volume throughput, gp3: a CUDA image pulls and unpacks at most this fast")
    disk_iops: StrictInt = Field(ge=3000, le=16000, description="root (and image cache) volume IOPS, gp3")
    fast_image_pull: StrictBool = Field(
        description="nodeadm's FastImagePull: containerd pulls and unpacks an image's layers in parallel (SOCI "
                    "parallel mode); needs 4 vCPU, 7 GiB and a root volume of 600 MiB/s or more")
    image_cache_snapshot_id: str | None = text(
        r"^snap-[0-9a-f]{8,17}$", "an EBS snapshot ID such as snap-0123456789abcdef0",
        "an EBS snapshot of containerd's image store holding the notebook images (docs/kubeflow.md, GPU notebooks): "
        "mounted at /var/lib/containerd, a node starts with them already pulled", default=None)
    zone: str | None = text(r"^[a-z]{2}-[a-z]+-\d[a-z]$", "an availability zone of network.availabilityZones",
                            "the one AZ of the group (GPU groups default to the network's first: a stopped notebook's "
                            "EBS workspace can only come back in its own AZ); CPU groups span every AZ by default",
                            default=None)
    warm_hours: WarmHoursConfig | None = Field(
        None, description="keep one node of this (GPU) group up during working hours, so the first notebook of the day "
                          "gets a GPU in seconds; the node is billed for those hours")

    @classmethod
    def derived_defaults(cls, data: dict[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        gpu = data.get("gpu") is True
        cached = data.get("imageCacheSnapshotId") is not None
        # A pull writes the image at the root volume's pace, so a GPU group pulling its CUDA images gets gp3's most;
        # one with an image cache reads them from the cache volume, which hydrates at 300 MiB/s.
        pulls = gpu and not cached
        return {"diskSizeGiB": 200 if gpu else 100, "amiType": GPU_AMI_TYPE if gpu else CPU_AMI_TYPE,
                "diskThroughputMiBps": 1000 if pulls else 300 if gpu else 125,
                "diskIops": 16000 if pulls else 3000, "fastImagePull": pulls, **data}

    @property
    def instance(self) -> catalogue.InstanceType:
        """What every node of the group looks like (validation keeps one shape per group)."""
        return catalogue.CATALOGUE[self.instance_types[0]]

    @property
    def accelerator(self) -> str | None:
        """The NVIDIA accelerator of this group's instances, or None for a CPU group."""
        return self.instance.accelerator if self.gpu else None

    @property
    def gpus_per_node(self) -> int:
        return self.instance.gpus if self.gpu else 0

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        specs = [catalogue.CATALOGUE[t] for t in self.instance_types]
        for spec in specs:
            if self.gpu and not spec.gpus:
                yield "instanceTypes", f"{spec.name} has no NVIDIA GPU; a GPU group needs an instance type from the " \
                                       f"families {', '.join(catalogue.GPU_FAMILIES)} (or set gpu: false)"
            elif not self.gpu and spec.gpus:
                yield "instanceTypes", f"{spec.name} is a GPU instance; set gpu: true so it gets the NVIDIA AMI and " \
                                       "the GPU taint, or choose a CPU instance type"
        if len({(s.vcpus, s.memory_gib, s.gpus, s.accelerator) for s in specs}) > 1:
            yield "instanceTypes", f"mixes shapes ({', '.join(self.instance_types)}); cluster-autoscaler assumes " \
                                   "every node of a group has the same CPU, memory and GPUs, so use one size per " \
                                   "group (a second group for another size)"
        expected = GPU_AMI_TYPE if self.gpu else CPU_AMI_TYPE
        if self.ami_type != expected:
            yield "amiType", f"{'a GPU' if self.gpu else 'a CPU'} group must use {expected}, got {self.ami_type!r}"
        if self.fast_image_pull and not self.instance.pulls_in_parallel:
            yield "fastImagePull", f"nodeadm ignores it below 4 vCPU and 7 GiB ({self.instance.name} has " \
                                   f"{self.instance.vcpus} vCPU, {self.instance.memory_gib:g} GiB); set it false"
        if self.fast_image_pull and self.disk_throughput_mibps < 600:
            yield "diskThroughputMiBps", f"FastImagePull needs at least 600 MiB/s of root volume throughput " \
                                         f"(nodeadm's guidance), got {self.disk_throughput_mibps}"
        if self.fast_image_pull and self.image_cache_snapshot_id:
            yield "fastImagePull", "the image cache holds containerd's default snapshotter's layers, which parallel " \
                                   "pull's snapshotter does not read; use one or the other"
        if self.warm_hours and not self.gpu:
            yield "warmHours", "only a GPU group has a cold start worth keeping a node up for"
        if self.warm_hours and _minutes(self.warm_hours.stop) <= _minutes(self.warm_hours.start):
            yield "warmHours.stop", f"{self.warm_hours.stop} is not after start ({self.warm_hours.start}); the warm " \
                                    "hours are one span within a day"
        if not self.min_size <= self.desired_size <= self.max_size:
            yield "", f"needs minSize <= desiredSize <= maxSize, got {self.min_size} <= {self.desired_size} <= " \
                      f"{self.max_size}"


def node_groups_rules(groups: tuple[NodeGroupConfig, ...]) -> Iterator[tuple[str, str]]:
    for name in repeated([g.name for g in groups]):
        yield "nodeGroups", f"the name {name!r} is used twice; node group names must be unique"
    if groups and all(g.gpu for g in groups):
        yield "nodeGroups", "every group is a GPU group; add a CPU group for the system workloads"
