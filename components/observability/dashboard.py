"""Dashboard: the platform's health at a glance, one CloudWatch dashboard per stack: the cluster and its GPUs (from
Container Insights, when it is on), the database, the session cache and the front door."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.observability.container_insights import (
    FRONT_DOOR_ERRORS,
    FRONT_DOOR_REQUESTS,
    METRICS_NAMESPACE,
    log_metrics_namespace,
)

WIDTH, HEIGHT = 12, 6


@dataclass
class DashboardArgs:
    cluster_name: str
    region: str
    database_identifier: str
    cache_node_ids: list[str]
    container_insights: str  # "enhanced", "logs" or "off"
    gpus: bool


def _widget(title: str, metrics: list[list[Any]], region: str, stat: str = "Average") -> dict[str, Any]:
    return {"type": "metric", "width": WIDTH, "height": HEIGHT, "properties": {
        "title": title, "region": region, "stat": stat, "period": 300, "view": "timeSeries", "metrics": metrics}}


def body(args: DashboardArgs) -> dict[str, Any]:
    """The dashboard's widgets, in rows of two: what is on, what is slow, what is full."""
    cluster, region = args.cluster_name, args.region
    widgets = []
    if args.container_insights == "enhanced":
        widgets += [
            _widget("Nodes (all, failed)", [[METRICS_NAMESPACE, "cluster_node_count", "ClusterName", cluster],
                                            [".", "cluster_failed_node_count", ".", "."]], region, "Maximum"),
            _widget("Node CPU and memory (%)", [[METRICS_NAMESPACE, "node_cpu_utilization", "ClusterName", cluster],
                                               [".", "node_memory_utilization", ".", "."]], region),
        ]
        if args.gpus:
            widgets.append(_widget("GPU utilisation and memory (%)", [
                [METRICS_NAMESPACE, "node_gpu_utilization", "ClusterName", cluster],
                [".", "node_gpu_memory_utilization", ".", "."]], region))
    if args.container_insights != "off":
        widgets.append(_widget("Front door: requests and 5xx", [
            [log_metrics_namespace(cluster), FRONT_DOOR_REQUESTS], [".", FRONT_DOOR_ERRORS]], region, "Sum"))
    database = ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", args.database_identifier]
    widgets += [
        _widget("Database CPU (%) and connections", [database, [".", "DatabaseConnections", ".", ".", {
            "yAxis": "right"}]], region),
        _widget("Database free storage (bytes)", [[*database[:1], "FreeStorageSpace", *database[2:]]], region,
                "Minimum"),
        _widget("Session cache memory (%)", [["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId",
                                              node] for node in args.cache_node_ids], region, "Maximum"),
    ]
    return {"widgets": widgets}


class Dashboard(Component):
    url: str

    def __init__(self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:dashboard:Dashboard", name, opts)
        dashboard_name = f"{args.cluster_name}-health"
        aws.cloudwatch.Dashboard(f"{name}-health", dashboard_name=dashboard_name,
                                 dashboard_body=json.dumps(body(args), sort_keys=True), opts=self.child())
        self.url = (f"https://{args.region}.console.aws.amazon.com/cloudwatch/home?region={args.region}"
                    f"#dashboards/dashboard/{dashboard_name}")
        self.register_outputs({"url": self.url})
