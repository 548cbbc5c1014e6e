"""ClusterAutoscaler: grows and shrinks this cluster's managed node groups, GPU groups from zero."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import iam, namespaces
from components.addons.controller import controller_chart
from components.cluster.cluster import Cluster
from components.component import Component
from components.stack import StackContext
from components.versions import CLUSTER_AUTOSCALER, KUBERNETES_VERSIONS

NAMESPACE = namespaces.KUBE_SYSTEM
SERVICE_ACCOUNT = "cluster-autoscaler"

# Why these settings (cluster-autoscaler FAQ, "What are the parameters to CA?"):
EXTRA_ARGS = {
    # Of the groups that fit the pending pods, pick the one that leaves the least CPU and memory idle:
    # a pod asking for one GPU gets the smallest GPU instance that fits it, not the biggest.
    "expander": "least-waste",
    # Spread the system group evenly over AZs, so losing an AZ loses a third, not all.
    "balance-similar-node-groups": True,
    # Notebooks and pipeline steps use emptyDir scratch space; without this their nodes never scale down.
    "skip-nodes-with-local-storage": False,
    # GPU nodes are expensive: release an idle node after 10 minutes (the default), and wait 10 minutes
    # after a scale-up before considering scale-down so bursty pipelines do not thrash.
    "scale-down-unneeded-time": "10m",
    "scale-down-delay-after-add": "10m",
    # A GPU instance can take a while to boot and pull CUDA images; give up on it after 15 minutes.
    "max-node-provision-time": "15m",
}


def nodegroup_arns(cluster_arn: str) -> str:
    """arn:aws:eks:<region>:<account>:cluster/<name> -> the ARN pattern of its node groups."""
    return cluster_arn.replace(":cluster/", ":nodegroup/", 1) + "/*/*"


@dataclass
class ClusterAutoscalerArgs:
    stack: StackContext
    cluster: Cluster


class ClusterAutoscaler(Component):
    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster_autoscaler:ClusterAutoscaler", name, opts)
        cluster = args.cluster
        _, release = controller_chart(
            self, name, cluster=cluster, chart=CLUSTER_AUTOSCALER, namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT,
            policy=pulumi.Output.all(cluster.name, cluster.arn).apply(
                lambda a: iam.cluster_autoscaler(a[0], nodegroup_arns(a[1]))),
            values={
                # One may go at a time (the chart's default, stated: a drain must never wait on it).
                "podDisruptionBudget": {"maxUnavailable": 1},
                "cloudProvider": "aws",
                "awsRegion": args.stack.region,
                # Finds the groups EKS tagged k8s.io/cluster-autoscaler/enabled and .../<cluster>.
                "autoDiscovery": {"clusterName": cluster.name},
                "rbac": {"serviceAccount": {"create": True, "name": SERVICE_ACCOUNT}},
                "image": {"tag": KUBERNETES_VERSIONS[cluster.kubernetes_version].cluster_autoscaler_image},
                "extraArgs": EXTRA_ARGS,
                "priorityClassName": "system-cluster-critical",
            })
        self.ready = [release]
        self.register_outputs({})
