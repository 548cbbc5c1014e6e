"""Monthly cost of what a stack registers, from the price table in offline/prices.yaml.

Each AWS resource type is either priced here (a function turning the resource's inputs into cost lines), free
(with the reason), or reported as "not priced": a type this module does not know never counts as zero
silently. Two figures per line: idle (autoscaled groups at their minimum, so GPU groups at zero; storage as
created) and max (every group at its maximum, storage at its autoscaling ceiling).
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.cluster.node_group import GP3_BASELINE
from components.config.addons import FSX_MINIMUM_GIB
from components.config.cluster import weekdays
from offline.engine import Registered
from offline.tree import ResourceTree, is_provider

PRICES_FILE = Path(__file__).with_name("prices.yaml")
GP3_BASE_IOPS, GP3_BASE_MIBPS = GP3_BASELINE  # what a gp3 volume's price includes


class NotPriced(Exception):
    """The table has no price for what this resource needs (the message says what)."""


@dataclass(frozen=True)
class Line:
    urn: str
    component: str   # path of the component holding the resource, e.g. "cluster/system"
    item: str        # what is billed, e.g. "3-6 x c6a.xlarge Spot"
    idle: float      # USD per month
    max: float
    prices: tuple[str, ...]  # the price table entries used


@dataclass(frozen=True)
class Unpriced:
    urn: str
    component: str
    type: str
    reason: str


@dataclass
class Estimate:
    region: str
    profile: str
    lines: list[Line] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)
    free: dict[str, int] = field(default_factory=dict)   # type -> how many registered

    @property
    def idle(self) -> float:
        return sum(line.idle for line in self.lines)

    @property
    def max(self) -> float:
        return sum(line.max for line in self.lines)

    def by_component(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for line in self.lines:
            idle, top = out.get(line.component, (0.0, 0.0))
            out[line.component] = (idle + line.idle, top + line.max)
        return out


@functools.cache
def _read(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


class PriceTable:
    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.region: str = data["region"]
        self.hours: float = data["hours_per_month"]
        self.spot_factor: float = data["spot"]["factor"]
        ec2 = data["ec2_instance_hour"]
        self.ec2: dict[str, float] = {f"{family}.{size}": price
                                      for family, sizes in ec2["types"].items() for size, price in sizes.items()}
        self.ec2_not_offered: dict[str, str] = ec2.get("not_offered", {})
        valkey = data["elasticache_valkey_node_hour"]["types"]
        self.valkey = {f"{family}.{size}": price for family, sizes in valkey.items() for size, price in sizes.items()}

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        return cls(_read(path))

    def usd(self, key: str) -> float:
        return self.data["prices"][key]["usd"]

    def monthly(self, key: str) -> float:
        """An hourly price for a whole month."""
        return self.usd(key) * self.hours

    def instance_hour(self, instance_type: str) -> float:
        if instance_type in self.ec2:
            return self.ec2[instance_type]
        reason = self.ec2_not_offered.get(instance_type, "not in the price table")
        raise NotPriced(f"EC2 {instance_type}: {reason}")

    def usage(self, profile: str) -> dict[str, Any]:
        return self.data["usage"][profile]


# ---- what each resource type costs ---------------------------------------------------------------------

@dataclass
class Context:
    prices: PriceTable
    usage: dict[str, Any]
    tree: ResourceTree

    def storage_gb(self, resource: Registered) -> float:
        """The usage assumption whose key is the longest part of the resource's name."""
        matches = [key for key in self.usage["storage_gb"] if key in resource.name]
        if not matches:
            raise NotPriced(f"no usage.*.storage_gb assumption in offline/prices.yaml matches '{resource.name}'")
        return self.usage["storage_gb"][max(matches, key=len)]


Cost = tuple[str, float, float, tuple[str, ...]]  # item, idle, max, price keys
Pricer = Callable[[Registered, Context], list[Cost]]


def _same(item: str, monthly: float, *keys: str) -> Cost:
    return item, monthly, monthly, keys


def eks_cluster(r: Registered, ctx: Context) -> list[Cost]:
    # Without an upgrade policy, EKS puts the cluster on extended support when its version ages out.
    support = (r.inputs.get("upgradePolicy") or {}).get("supportType", "EXTENDED")
    key = "eks_cluster_hour" if support == "STANDARD" else "eks_cluster_extended_hour"
    return [_same(f"control plane ({support.lower()} support)", ctx.prices.monthly(key), key)]


def node_group(r: Registered, ctx: Context) -> list[Cost]:
    p = ctx.prices
    scaling = r.inputs["scalingConfig"]
    low, high = scaling["minSize"], scaling["maxSize"]
    per_node, what = _instance_hour(r, ctx)
    costs = [(f"{low}-{high} x {what}", low * per_node * p.hours, high * per_node * p.hours,
              ("ec2_instance_hour",) + (("spot",) if "Spot" in what else ()))]
    for item, monthly, keys in _node_volumes(r, ctx):
        costs.append((f"{low}-{high} x {item}", low * monthly, high * monthly, keys))
    snapshot = (_image_cache(r, ctx) or {}).get("snapshotId")
    if snapshot and r is _groups_using(snapshot, ctx)[0]:  # a snapshot is stored once, whoever uses it
        gb = ctx.usage["image_cache_gb"]
        costs.append(_same(f"image cache snapshot, {gb:g} GB (assumed)", gb * p.usd("ebs_snapshot_gb_month"),
                           "ebs_snapshot_gb_month"))
    return costs


def _groups_using(snapshot: str, ctx: Context) -> list[Registered]:
    groups = [g for g in ctx.tree.resources if g.type == "aws:eks/nodeGroup:NodeGroup"]
    return sorted((g for g in groups if (_image_cache(g, ctx) or {}).get("snapshotId") == snapshot),
                  key=lambda g: g.urn)


def _instance_hour(r: Registered, ctx: Context) -> tuple[float, str]:
    """What one node of a group costs an hour, and how it is bought."""
    p = ctx.prices
    types = r.inputs["instanceTypes"]
    hourly = {t: p.instance_hour(t) for t in types}
    if r.inputs.get("capacityType") == "SPOT":
        cheapest = min(types, key=lambda t: hourly[t])
        return hourly[cheapest] * p.spot_factor, f"{cheapest} Spot (x{p.spot_factor} on-demand)"
    # On-demand managed groups launch the first listed type (prioritized allocation).
    return hourly[types[0]], f"{types[0]} on-demand"


def _launch_template(r: Registered, ctx: Context) -> Registered:
    templates = r.property_dependencies.get("launchTemplate") or []
    template = ctx.tree.by_urn.get(templates[0]) if templates else None
    if template is None:
        raise NotPriced("node group without a launch template: root volume size unknown")
    return template


def _image_cache(r: Registered, ctx: Context) -> dict[str, Any] | None:
    mappings = _launch_template(r, ctx).inputs["blockDeviceMappings"]
    return next((m["ebs"] for m in mappings if m["ebs"].get("snapshotId")), None)


def _node_volumes(r: Registered, ctx: Context) -> list[tuple[str, float, tuple[str, ...]]]:
    """Each volume a node of the group has, per node-month: size, and IOPS and throughput above gp3's baseline."""
    p = ctx.prices
    out = []
    for mapping in _launch_template(r, ctx).inputs["blockDeviceMappings"]:
        ebs = mapping["ebs"]
        if ebs.get("volumeType") != "gp3":
            raise NotPriced(f"volume type {ebs.get('volumeType')} is not priced")
        cache = bool(ebs.get("snapshotId"))
        size = ctx.usage["image_cache_gb"] if cache else ebs["volumeSize"]
        iops, throughput = ebs.get("iops", GP3_BASE_IOPS), ebs.get("throughput", GP3_BASE_MIBPS)
        extra_iops, extra_throughput = max(0, iops - GP3_BASE_IOPS), max(0, throughput - GP3_BASE_MIBPS)
        monthly = (size * p.usd("ebs_gp3_gb_month") + extra_iops * p.usd("ebs_gp3_iops_month")
                   + extra_throughput * p.usd("ebs_gp3_mibps_month"))
        what = f"{size:g} GiB gp3 {'image cache volume (assumed size)' if cache else 'root volume'}"
        if extra_iops or extra_throughput:
            what += f", {iops} IOPS, {throughput} MiB/s"
        out.append((what, monthly, ("ebs_gp3_gb_month",) + (("ebs_gp3_iops_month", "ebs_gp3_mibps_month")
                                                             if extra_iops or extra_throughput else ())))
    return out


def node_hour(group: Registered, ctx: Context) -> tuple[float, str]:
    """What one node of a group costs an hour with its volumes, and how its instance is bought."""
    per_node, what = _instance_hour(group, ctx)
    return per_node + sum(monthly for _, monthly, _ in _node_volumes(group, ctx)) / ctx.prices.hours, what


def warm_hours(r: Registered, ctx: Context) -> list[Cost]:
    """The warm node: its group's node (instance and volumes) for the hours between the start and stop actions."""
    if not r.name.endswith("-warm-start"):
        return []  # the stop action: priced with its start
    [group_urn] = r.property_dependencies["autoscalingGroupName"]
    group = ctx.tree.by_urn[group_urn]
    hours = warm_hours_of(group, ctx.tree.resources, ctx.prices.hours)
    hourly, what = node_hour(group, ctx)
    return [_same(f"1 warm node, {hours:.0f} h a month ({what} and its volumes)", hours * hourly,
                  "ec2_instance_hour", "ebs_gp3_gb_month")]


def warm_hours_of(group: Registered, resources: list[Registered], hours_in_month: float) -> float:
    """Hours a month a node group keeps a node warm: between its warm-start and warm-stop actions; 0 without."""
    actions = {r.name.rsplit("-", 1)[-1]: r.inputs["recurrence"] for r in resources
               if r.type == "aws:autoscaling/schedule:Schedule"
               and r.property_dependencies.get("autoscalingGroupName") == [group.urn]}
    if not {"start", "stop"} <= actions.keys():
        return 0.0
    return hours_per_month(actions["start"], actions["stop"], hours_in_month)


def hours_per_month(start: str, stop: str, hours_in_month: float) -> float:
    """Hours a month between two Auto Scaling recurrences `M H * * DAYS` on the same days."""
    (m1, h1, *_, days), (m2, h2, *_) = start.split(), stop.split()
    daily = (int(h2) * 60 + int(m2) - int(h1) * 60 - int(m1)) / 60
    return daily * len(weekdays(days)) * hours_in_month / (24 * 7)


def package_index(r: Registered, ctx: Context) -> list[Cost]:
    gb, requests = ctx.usage["package_index_gb"], ctx.usage["package_index_requests"]
    p = ctx.prices
    billed = max(0, requests - p.usd("codeartifact_free_requests"))
    return [_same(f"{gb:g} GB of packages (assumed)", gb * p.usd("codeartifact_gb_month"), "codeartifact_gb_month"),
            _same(f"{requests:,} requests a month (assumed; the first 100,000 free)",
                  billed / 10_000 * p.usd("codeartifact_10k_requests"), "codeartifact_10k_requests")]


def storage_class(r: Registered, ctx: Context) -> list[Cost]:
    """A class's volumes are billed when claimed: nothing at idle. FSx for Lustre's are file systems of 1.2 TiB or more,
    each costly: max counts the file systems the usage assumption says a stack holds at its busiest."""
    if r.inputs.get("provisioner") != "fsx.csi.aws.com":
        return []
    parameters = r.inputs["parameters"]
    key = f"fsx_{parameters['deploymentType'].lower()}_{parameters['perUnitStorageThroughput']}_gb_month"
    if key not in ctx.prices.data["prices"]:
        raise NotPriced(f"FSx for Lustre {parameters['deploymentType']} at {parameters['perUnitStorageThroughput']} "
                        "MB/s/TiB is not in the price table")
    count, gib = ctx.usage["fsx_file_systems"], FSX_MINIMUM_GIB
    per_file_system = gib * ctx.prices.usd(key)
    return [(f"{count} x {gib} GiB Lustre file system(s) when claimed (${per_file_system:,.2f} a month each)",
             0.0, count * per_file_system, (key,))]


def pull_through_cache(r: Registered, ctx: Context) -> list[Cost]:
    gb = ctx.usage["mirror_gb"]
    return [_same(f"{gb:g} GB of mirrored images (assumed)", gb * ctx.prices.usd("ecr_gb_month"), "ecr_gb_month")]


def nat_gateway(r: Registered, ctx: Context) -> list[Cost]:
    gateways = sum(1 for other in ctx.tree.resources if other.type == r.type)
    gb = ctx.usage["nat_gb_month"] / gateways
    return [_same("gateway hours", ctx.prices.monthly("nat_gateway_hour"), "nat_gateway_hour"),
            _same(f"{gb:g} GB processed (assumed)", gb * ctx.prices.usd("nat_gateway_gb"), "nat_gateway_gb")]


def elastic_ip(r: Registered, ctx: Context) -> list[Cost]:
    return [_same("public IPv4 address", ctx.prices.monthly("public_ipv4_hour"), "public_ipv4_hour")]


def vpc_endpoint(r: Registered, ctx: Context) -> list[Cost]:
    if r.inputs.get("vpcEndpointType", "Gateway") == "Gateway":
        return []  # gateway endpoints (S3, DynamoDB) have no charge
    raise NotPriced("interface endpoints are billed per AZ-hour and GB; not in the price table")


def rds_instance(r: Registered, ctx: Context) -> list[Cost]:
    p, hours = ctx.prices, ctx.prices.hours
    cls, multi_az = r.inputs["instanceClass"], bool(r.inputs.get("multiAz"))
    rate = p.data["rds_mysql_instance_hour"].get(cls)
    if r.inputs.get("engine") != "mysql" or rate is None:
        raise NotPriced(f"RDS {r.inputs.get('engine')} {cls} is not in the price table")
    az = "multi_az" if multi_az else "single_az"
    storage_key = "rds_gp3_multi_az_gb_month" if multi_az else "rds_gp3_gb_month"
    low, high = r.inputs["allocatedStorage"], r.inputs.get("maxAllocatedStorage") or r.inputs["allocatedStorage"]
    costs = [_same(f"{cls} {'Multi-AZ' if multi_az else 'Single-AZ'}", rate[az] * hours, "rds_mysql_instance_hour"),
             (f"{low}-{high} GB gp3 storage", low * p.usd(storage_key), high * p.usd(storage_key), (storage_key,))]
    if r.inputs.get("manageMasterUserPassword"):
        costs.append(_same("admin secret RDS manages", p.usd("secret_month"), "secret_month"))
    interval = r.inputs.get("monitoringInterval") or 0
    if interval:
        gb = hours * 3600 / interval * ctx.usage["enhanced_monitoring_kb_per_sample"] / 1e6
        costs.append(_same(f"enhanced monitoring every {interval} s ({gb:.2f} GB of logs, assumed)",
                           gb * p.usd("logs_ingested_gb"), "logs_ingested_gb"))
    if (r.inputs.get("performanceInsightsRetentionPeriod") or 7) > 7:
        raise NotPriced("Performance Insights beyond the free 7 days is not in the price table")
    return costs


def cache(r: Registered, ctx: Context) -> list[Cost]:
    node_type, engine = r.inputs["nodeType"], r.inputs.get("engine")
    if engine != "valkey" or node_type not in ctx.prices.valkey:
        raise NotPriced(f"ElastiCache {engine} {node_type} is not in the price table")
    nodes = r.inputs.get("numCacheClusters") or r.inputs.get("numNodeGroups", 1) * (
        1 + r.inputs.get("replicasPerNodeGroup", 0))
    return [_same(f"{nodes} x {node_type} Valkey", nodes * ctx.prices.valkey[node_type] * ctx.prices.hours,
                  "elasticache_valkey_node_hour")]


def kms_key(r: Registered, ctx: Context) -> list[Cost]:
    return [_same("customer managed key", ctx.prices.usd("kms_key_month"), "kms_key_month")]


def secret(r: Registered, ctx: Context) -> list[Cost]:
    return [_same("secret", ctx.prices.usd("secret_month"), "secret_month")]


def log_group(r: Registered, ctx: Context) -> list[Cost]:
    name = r.inputs.get("name", r.name)
    volumes = ctx.usage["log_ingest_gb_month"]
    matches = [pattern for pattern in volumes if fnmatch.fnmatchcase(name, pattern + "*")]
    if not matches:
        raise NotPriced(f"no log volume assumption in offline/prices.yaml usage.*.log_ingest_gb_month for {name}")
    gb = volumes[max(matches, key=len)]
    retention = r.inputs.get("retentionInDays") or 3650  # never expiring: ten years of logs, eventually
    stored = gb * retention / 30.4  # what is kept once the retention period has filled up
    p = ctx.prices
    return [_same(f"{gb:g} GB/month ingested (assumed)", gb * p.usd("logs_ingested_gb"), "logs_ingested_gb"),
            _same(f"{stored:.0f} GB stored after {retention} days", stored * p.usd("logs_stored_gb_month"),
                  "logs_stored_gb_month")]


def container_insights(r: Registered, ctx: Context) -> list[Cost]:
    """The CloudWatch observability add-on's enhanced metrics, billed per observation (its pods run on the nodes,
    its logs are priced with their log groups). Other add-ons cost only their pods."""
    if r.inputs.get("addonName") != "amazon-cloudwatch-observability":
        return []
    values = json.loads(r.inputs.get("configurationValues") or "{}")
    if not values.get("containerInsights", {}).get("enabled", True):
        return []
    millions = ctx.usage["container_insights_observations_million"]
    return [_same(f"Container Insights: {millions:g} million observations (assumed)",
                  millions * ctx.prices.usd("container_insights_observation_million"),
                  "container_insights_observation_million")]


def metric_alarm(r: Registered, ctx: Context) -> list[Cost]:
    """A standard-resolution alarm bills each metric it reads; a Metrics Insights query, each series it analyses."""
    p = ctx.prices
    queries = r.inputs.get("metricQueries") or []
    insights = [q for q in queries if str(q.get("expression", "")).startswith("SELECT")]
    if insights:
        key = next((k for k in ctx.usage["metrics_insights_series"] if r.inputs.get("name", "").endswith(k)), None)
        if key is None:
            raise NotPriced("no series assumption in offline/prices.yaml usage.*.metrics_insights_series")
        series = ctx.usage["metrics_insights_series"][key]
        return [_same(f"alarm on a Metrics Insights query ({series:g} series, assumed)",
                      series * p.usd("alarm_metric_month"), "alarm_metric_month")]
    metrics = sum(1 for q in queries if q.get("metric")) or 1
    return [_same(f"alarm on {metrics} metric{'s' if metrics > 1 else ''}", metrics * p.usd("alarm_metric_month"),
                  "alarm_metric_month")]


def log_metric_filter(r: Registered, ctx: Context) -> list[Cost]:
    return [_same("custom metric", ctx.prices.usd("custom_metric_month"), "custom_metric_month")]


def dashboard(r: Registered, ctx: Context) -> list[Cost]:
    return [_same("dashboard", ctx.prices.usd("dashboard_month"), "dashboard_month")]


def efs(r: Registered, ctx: Context) -> list[Cost]:
    gb = ctx.storage_gb(r)
    return [_same(f"{gb:g} GB Standard (assumed)", gb * ctx.prices.usd("efs_standard_gb_month"),
                  "efs_standard_gb_month")]


def efs_backup(r: Registered, ctx: Context) -> list[Cost]:
    if (r.inputs.get("backupPolicy") or {}).get("status") != "ENABLED":
        return []
    gb = ctx.storage_gb(r)
    return [_same(f"{gb:g} GB of AWS Backup storage (assumed)", gb * ctx.prices.usd("efs_backup_gb_month"),
                  "efs_backup_gb_month")]


def helm_release(r: Registered, ctx: Context) -> list[Cost]:
    """A chart's pods run on the nodes; a chart whose Service is a LoadBalancer also makes the load balancer
    controller create an NLB (and, internet-facing, a public IPv4 address in each public subnet)."""
    service = (r.inputs.get("values") or {}).get("service") or {}
    if service.get("type") != "LoadBalancer":
        return []
    annotations = service.get("annotations") or {}
    if annotations.get(f"{LB_ANNOTATION}type") != "external":
        raise NotPriced("a LoadBalancer Service without the load balancer controller's NLB annotation")
    p, nlcu = ctx.prices, ctx.usage["load_balancer_nlcu"]
    costs = [_same("network load balancer", p.monthly("nlb_hour"), "nlb_hour"),
             _same(f"{nlcu:g} NLCU (assumed)", nlcu * p.monthly("nlb_nlcu_hour"), "nlb_nlcu_hour")]
    if annotations.get(f"{LB_ANNOTATION}scheme") == "internet-facing":
        zones = sum(1 for s in ctx.tree.resources if s.type == "aws:ec2/subnet:Subnet"
                    and (s.inputs.get("tags") or {}).get("kubernetes.io/role/elb") == "1")
        costs.append(_same(f"{zones} public IPv4 addresses (one per AZ)", zones * p.monthly("public_ipv4_hour"),
                           "public_ipv4_hour"))
    return costs


def bucket(r: Registered, ctx: Context) -> list[Cost]:
    gb = ctx.storage_gb(r)
    return [_same(f"{gb:g} GB Standard (assumed)", gb * ctx.prices.usd("s3_standard_gb_month"),
                  "s3_standard_gb_month")]


PRICED: dict[str, Pricer] = {
    "aws:eks/cluster:Cluster": eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": node_group,
    "aws:autoscaling/schedule:Schedule": warm_hours,
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": pull_through_cache,
    "aws:codeartifact/domain:Domain": package_index,
    "kubernetes:storage.k8s.io/v1:StorageClass": storage_class,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/eip:Eip": elastic_ip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:rds/instance:Instance": rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": cache,
    "aws:kms/key:Key": kms_key,
    "aws:secretsmanager/secret:Secret": secret,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:efs/fileSystem:FileSystem": efs,
    "aws:efs/backupPolicy:BackupPolicy": efs_backup,
    "aws:s3/bucket:Bucket": bucket,
    "kubernetes:helm.sh/v3:Release": helm_release,
    "aws:eks/addon:Addon": container_insights,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": log_metric_filter,
    "aws:cloudwatch/dashboard:Dashboard": dashboard,
}
LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"

_ON_NODES = "runs on the nodes (priced with the node groups)"
_CONFIG = "configuration of a priced resource"
FREE: dict[str, str] = {
    "aws:iam/role:Role": "IAM has no charge",
    "aws:iam/rolePolicy:RolePolicy": "IAM has no charge",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM has no charge",
    "aws:iam/policy:Policy": "IAM has no charge",
    "aws:ec2/vpc:Vpc": "no charge for the VPC itself",
    "aws:ec2/subnet:Subnet": "no charge",
    "aws:ec2/routeTable:RouteTable": "no charge",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "no charge",
    "aws:ec2/internetGateway:InternetGateway": "no charge (data out to the internet is not estimated)",
    "aws:ec2/securityGroup:SecurityGroup": "no charge",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "no charge",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "no charge",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "no charge",
    "aws:ec2/flowLog:FlowLog": "billed as ingestion into its log group (priced there)",
    "aws:ec2/launchTemplate:LaunchTemplate": "no charge; its root volumes are priced with the node group",
    "aws:autoscaling/tag:Tag": "no charge",
    "aws:eks/accessEntry:AccessEntry": "no charge",
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": "no charge",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "no charge",
    "aws:sns/topic:Topic": "no charge for a topic; the first 1,000 email notifications a month are free",
    "aws:sns/topicPolicy:TopicPolicy": _CONFIG,
    "aws:sns/topicSubscription:TopicSubscription": "no charge (email deliveries: see the topic)",
    "aws:kms/alias:Alias": "no charge",
    "aws:secretsmanager/secretVersion:SecretVersion": "priced per secret",
    "aws:rds/parameterGroup:ParameterGroup": "no charge",
    "aws:rds/subnetGroup:SubnetGroup": "no charge",
    "aws:elasticache/subnetGroup:SubnetGroup": "no charge",
    "aws:efs/mountTarget:MountTarget": "no charge",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _CONFIG,
    "aws:s3/bucketLogging:BucketLogging": _CONFIG + " (log objects count as the log bucket's storage)",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _CONFIG,
    "aws:s3/bucketPolicy:BucketPolicy": _CONFIG,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _CONFIG,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _CONFIG,
    "aws:s3/bucketVersioning:BucketVersioning": _CONFIG + " (noncurrent versions are in the storage assumption)",
    "random:index/randomPassword:RandomPassword": "computed by the provider, nothing in AWS",
    "kubernetes:kustomize/v2:Directory": _ON_NODES + " (the overlays create no load balancers or volumes)",
    "kubernetes:core/v1:ConfigMap": "no charge",
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": "no charge (the control plane runs it)",
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": "no charge",
    "kubernetes:core/v1:Secret": "no charge (encrypted with the cluster's secrets key)",
    "kubernetes:security.istio.io/v1:RequestAuthentication": _ON_NODES,
    "kubernetes:cert-manager.io/v1:Certificate": "no charge (Let's Encrypt)",
    "kubernetes:kubeflow.org/v1:Profile": "no charge (its namespace's pods run on the nodes)",
    "kubernetes:kubeflow.org/v1alpha1:PodDefault": "no charge",
    "kubernetes:networking.istio.io/v1:VirtualService": "no charge (a route on the existing gateway)",
    "kubernetes:security.istio.io/v1:AuthorizationPolicy": "no charge",
    "kubernetes:core/v1:ServiceAccount": "no charge",
    "kubernetes:core/v1:Service": "no charge (ClusterIP)",
    "kubernetes:apps/v1:Deployment": _ON_NODES,
    "aws:codeartifact/repository:Repository": "priced with its domain (storage and requests are the domain's)",
    "aws:codeartifact/domainPermissions:DomainPermissions": _CONFIG,
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": _CONFIG,
    "kubernetes:core/v1:Namespace": _ON_NODES,
    "kubernetes:batch/v1:Job": _ON_NODES,
    "kubernetes:cert-manager.io/v1:ClusterIssuer": _ON_NODES,
    "kubernetes:external-secrets.io/v1:ClusterSecretStore": _ON_NODES,
    "kubernetes:external-secrets.io/v1:ExternalSecret": _ON_NODES + "; reads from Secrets Manager",
}


def estimate(resources: list[Registered], profile: str, prices: PriceTable | None = None) -> Estimate:
    """The monthly cost of these resources under the usage assumptions of `profile` (dev or prod)."""
    prices = prices or PriceTable.load()
    tree = ResourceTree(resources)
    ctx = Context(prices, prices.usage(profile), tree)
    result = Estimate(region=prices.region, profile=profile)
    for r in sorted(resources, key=lambda r: r.urn):
        if r.component or is_provider(r):
            continue
        component = tree.path(tree.by_urn[r.parent]) if r.parent in tree.by_urn else ""
        pricer = PRICED.get(r.type)
        if pricer is None:
            if r.type in FREE:
                result.free[r.type] = result.free.get(r.type, 0) + 1
            else:
                result.unpriced.append(Unpriced(r.urn, component, r.type, "type not in offline/cost.py"))
            continue
        try:
            costs = pricer(r, ctx)
        except NotPriced as missing:
            result.unpriced.append(Unpriced(r.urn, component, r.type, str(missing)))
            continue
        result.lines += [Line(r.urn, component, f"{r.name}: {item}", idle, top, keys)
                         for item, idle, top, keys in costs]
    return result
