"""ContainerInsights: node, pod and GPU metrics and every container's logs in CloudWatch, on Pod Identity.

The `amazon-cloudwatch-observability` EKS add-on runs the CloudWatch agent (Container Insights with enhanced
observability), Fluent Bit (container, kubelet and kernel logs) and NVIDIA's DCGM exporter on GPU nodes. Its
DaemonSets tolerate every taint (the chart's default `tolerations: [{operator: Exists}]`), so they land on the
tainted GPU nodes; with the GPU groups at zero nothing runs there and nothing is billed.

Read in the chart (aws-observability/helm-charts@71a298f, charts/amazon-cloudwatch-observability; the add-on
takes the chart's values): the agent and Fluent Bit both run as service account `cloudwatch-agent` in
`amazon-cloudwatch`; Fluent Bit writes /aws/containerinsights/<cluster>/{application,dataplane,host} and the
agent /performance, each created on first write with no retention and no key unless it exists: the program
creates all four first. Application Signals is on by default and would instrument Kubeflow's Python pods and
every notebook at their next restart: off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam, namespaces
from components.cluster.cluster import Cluster, container_logs_prefix
from components.component import Component
from components.kms import account_id
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.stack import StackContext

ADDON = "amazon-cloudwatch-observability"
NAMESPACE = namespaces.CLOUDWATCH
SERVICE_ACCOUNT = "cloudwatch-agent"
LOG_GROUPS = ("application", "dataplane", "host", "performance")
METRICS_NAMESPACE = "ContainerInsights"
# Metrics counted from the application log group (the alarms read them), each a JSON filter pattern on the records
# Fluent Bit writes: the container's line in `log`, parsed into `log_processed` when it is JSON, and `kubernetes`.
# The front door is the istio-proxy container in istio-system (istiod's container is `discovery`); its access log
# is JSON (components/mesh/istio.py). cert-manager logs with klog: an error line starts with E and the date.
FRONT_DOOR_REQUESTS = "FrontDoorRequests"
FRONT_DOOR_ERRORS = "FrontDoor5xx"
CERT_MANAGER_ERRORS = "CertManagerErrors"
_GATEWAY = '$.kubernetes.namespace_name = "istio-system" && $.kubernetes.container_name = "istio-proxy"'
LOG_METRICS = {  # metric -> (the filter's short name, its pattern)
    FRONT_DOOR_REQUESTS: ("front-door-requests", f"{{ {_GATEWAY} && $.log_processed.response_code > 0 }}"),
    FRONT_DOOR_ERRORS: ("front-door-5xx", f"{{ {_GATEWAY} && $.log_processed.response_code >= 500 }}"),
    CERT_MANAGER_ERRORS: ("cert-manager-errors",
                          '{ $.kubernetes.namespace_name = "cert-manager" && $.log = "E*" }'),
}


def log_metrics_namespace(cluster_name: str) -> str:
    """Where the metrics counted from logs are published (one namespace per stack)."""
    return f"MLPlatform/{cluster_name}"


def log_group_name(cluster_name: str, kind: str) -> str:
    return f"{container_logs_prefix(cluster_name)}{kind}"


def log_groups(mode: str) -> tuple[str, ...]:
    """What the add-on writes: Fluent Bit's three groups, and the agent's performance events with metrics on."""
    return () if mode == "off" else LOG_GROUPS if mode == "enhanced" else LOG_GROUPS[:3]


def addon_configuration(mode: str) -> dict[str, Any]:
    """The add-on's values: enhanced Container Insights and the GPU exporter (the chart's defaults, stated) or, for
    logs only, neither; Fluent Bit's logs always; never Application Signals. Keys as in the chart's values.yaml at
    71a298f (tolerations, containerInsights, dcgmExporter, containerLogs, applicationSignals .enabled;
    the documented opt-out manager.applicationSignals.autoMonitor.monitorAllServices, for add-on versions that
    still read it)."""
    metrics = mode == "enhanced"
    return {
        # Every DaemonSet past every taint (the GPU nodes' nvidia.com/gpu NoSchedule): the chart's default, stated.
        "tolerations": [{"operator": "Exists"}],
        "containerInsights": {"enabled": metrics},
        "dcgmExporter": {"enabled": metrics},
        "containerLogs": {"enabled": True},  # Fluent Bit, in either mode
        "applicationSignals": {"enabled": False},
        "manager": {"applicationSignals": {"autoMonitor": {"monitorAllServices": False}}},
    }


@dataclass
class ContainerInsightsArgs:
    stack: StackContext
    cluster: Cluster
    key_arn: pulumi.Input[str]  # the cluster's logs key: its policy lets CloudWatch Logs use it for these groups
    log_retention_days: int
    mode: str                   # "enhanced" (metrics and logs) or "logs"


class ContainerInsights(Component):
    """`ready`: the add-on. `application_log_group`: where every container's stdout goes."""
    application_log_group: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerInsightsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:container_insights:ContainerInsights", name, opts)
        cluster, stack = args.cluster, args.stack
        names = {kind: log_group_name(stack.name_prefix, kind) for kind in log_groups(args.mode)}
        groups = {kind: aws.cloudwatch.LogGroup(
            f"{name}-{kind}", name=group, retention_in_days=args.log_retention_days, kms_key_id=args.key_arn,
            opts=self.child()) for kind, group in names.items()}
        role = ServiceAccountRole(
            f"{name}-agent",
            ServiceAccountRoleArgs(
                cluster_name=cluster.name, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
                policy=account_id(self).apply(lambda account: iam.cloudwatch_agent(
                    stack.region, account, list(names.values()))),
                association_by_addon=True, boundary=cluster.role_boundary_arn),
            opts=self.child())
        # After the groups (or Fluent Bit makes them, keyless and kept forever) and the role (or the agents start
        # without credentials and do not retry).
        addon = cluster.addon(f"{name}-addon", parent=self, addon=ADDON, role=role,
                              configuration=addon_configuration(args.mode),
                              depends_on=[*groups.values(), *self.waits_for])
        for metric, (short_name, pattern) in LOG_METRICS.items():
            aws.cloudwatch.LogMetricFilter(
                f"{name}-{short_name}", log_group_name=groups["application"].name,
                name=f"{stack.name_prefix}-{short_name}",
                pattern=pattern, metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                    name=metric, namespace=log_metrics_namespace(stack.name_prefix), value="1", unit="Count"),
                opts=self.child())
        self.ready = [addon]
        self.application_log_group = groups["application"].name
        self.register_outputs({"application_log_group": self.application_log_group})
