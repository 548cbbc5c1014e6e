"""LoadBalancerController: the AWS Load Balancer Controller, which turns Services and Ingresses into
NLBs and ALBs in the subnets tagged by the network."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import iam
from components.cluster.cluster import Cluster
from components.helm import helm_release
from components.options import dependencies
from components.pod_identity import ServiceAccountRole, ServiceAccountRoleArgs
from components.versions import AWS_LOAD_BALANCER_CONTROLLER

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
WEBHOOK_PORT = 9443


@dataclass
class LoadBalancerControllerArgs:
    cluster: Cluster
    vpc_id: pulumi.Input[str]
    region: str


class LoadBalancerController(pulumi.ComponentResource):
    release: pulumi.Resource  # what anything that creates a load balancer must depend on

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:load_balancer_controller:LoadBalancerController", name, None, opts)
        cluster = args.cluster
        role = ServiceAccountRole(
            name,
            ServiceAccountRoleArgs(cluster_name=cluster.name, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
                                   policy=iam.load_balancer_controller()),
            opts=pulumi.ResourceOptions(parent=self))
        self.release = helm_release(
            f"{name}-chart", parent=self, chart=AWS_LOAD_BALANCER_CONTROLLER, namespace=NAMESPACE,
            values={
                "clusterName": cluster.name,
                # Pods cannot reach IMDS (hop limit 1), so region and VPC are given, not discovered.
                "region": args.region,
                "vpcId": args.vpc_id,
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "replicaCount": 2,
                "podDisruptionBudget": {"maxUnavailable": 1},
                # Features whose permissions the role leaves out (components/iam.py).
                "enableShield": False,
                "enableWaf": False,
                "enableWafv2": False,
            },
            depends_on=[*cluster.ready, *role.ready, *dependencies(opts)])
        self.register_outputs({})
