"""Observability: what the platform team sees (metrics, logs, a dashboard) and is told (alarms); `install()` sets it
up once everything it watches exists. metrics-server, which the cluster itself needs, is an add-on."""

from __future__ import annotations

from dataclasses import dataclass

from components import namespaces
from components.cluster.cluster import Cluster
from components.config import NodeGroupConfig, ObservabilityConfig
from components.data import Data
from components.mesh import Mesh
from components.observability.alarms import Alarms, AlarmsArgs
from components.observability.container_insights import ContainerInsights, ContainerInsightsArgs
from components.observability.dashboard import Dashboard, DashboardArgs
from components.stack import StackContext


@dataclass(frozen=True)
class Observability:
    insights: ContainerInsights | None  # unless observability.containerInsights is off
    alarms: Alarms
    dashboard: Dashboard


def install(stack: StackContext, config: ObservabilityConfig, node_groups: tuple[NodeGroupConfig, ...],
            cluster: Cluster, data: Data, mesh: Mesh) -> Observability:
    cluster_name = stack.name_prefix
    gpus = any(group.gpu for group in node_groups)
    alarms = Alarms("alarms", AlarmsArgs(
        cluster_name=cluster_name, region=stack.region, key_arn=cluster.logs_key_arn, emails=config.alarm_emails,
        platform_namespaces=tuple(sorted(namespaces.PLATFORM)), database=data.database, sessions=data.sessions,
        gpus=gpus, load_balancer_name=mesh.front_door.load_balancer_name, front_door=mesh.front_door.ready,
        container_insights=config.container_insights), opts=stack.on_aws())
    insights = None
    if config.container_insights != "off":
        insights = ContainerInsights("container-insights", ContainerInsightsArgs(
            stack, cluster, cluster.logs_key_arn, config.log_retention_days, config.container_insights),
            opts=stack.on_cluster())
    dashboard = Dashboard("dashboard", DashboardArgs(
        cluster_name=cluster_name, region=stack.region, database_identifier=data.database.identifier,
        cache_node_ids=data.sessions.node_ids, container_insights=config.container_insights, gpus=gpus),
        opts=stack.on_aws())
    return Observability(insights, alarms, dashboard)
