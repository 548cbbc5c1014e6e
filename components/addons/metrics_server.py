"""MetricsServer: the resource metrics API (metrics.k8s.io), which `kubectl top`, every HorizontalPodAutoscaler
(Knative's and the Istio gateways' among them) and the dashboards' resource views read.

The EKS community add-on, so AWS keeps it compatible with the cluster's Kubernetes version; it needs no AWS
permissions. It serves on port 10251 (EKS user guide, "View resource usage with the Kubernetes Metrics Server":
the add-on is pre-configured for 10251), which the API server calls on the nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.cluster.cluster import Cluster, Webhook
from components.component import Component

ADDON = "metrics-server"
WEBHOOKS = (Webhook(10251, "metrics-server (the metrics API the API server proxies to)"),)


@dataclass
class MetricsServerArgs:
    cluster: Cluster


class MetricsServer(Component):
    """`ready`: the add-on, once its Deployment runs."""

    def __init__(self, name: str, args: MetricsServerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:metrics_server:MetricsServer", name, opts)
        addon = args.cluster.addon(f"{name}-addon", parent=self, addon=ADDON, depends_on=self.waits_for)
        self.ready = [addon]
        self.register_outputs({})
