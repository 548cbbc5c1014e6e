"""LoadBalancerController: the AWS Load Balancer Controller, which turns Services and Ingresses into
NLBs and ALBs in the subnets tagged by the network."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import iam, namespaces
from components.addons.controller import controller_chart
from components.cluster.cluster import Cluster, Webhook
from components.component import Component
from components.stack import StackContext
from components.versions import AWS_LOAD_BALANCER_CONTROLLER

NAMESPACE = namespaces.KUBE_SYSTEM
SERVICE_ACCOUNT = "aws-load-balancer-controller"
WEBHOOKS = (Webhook(9443, "AWS Load Balancer Controller webhook"),)


@dataclass
class LoadBalancerControllerArgs:
    stack: StackContext
    cluster: Cluster
    vpc_id: pulumi.Input[str]


class LoadBalancerController(Component):
    """`ready`: its release. The chart's webhook rejects every new Service until the controller runs, and on
    destroy only the running controller removes the load balancers it made: whatever creates a Service (every other
    chart, the front door's gateway) waits for it, so it also goes last."""

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:load_balancer_controller:LoadBalancerController", name, opts)
        _, release = controller_chart(
            self, name, cluster=args.cluster, chart=AWS_LOAD_BALANCER_CONTROLLER, namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT, policy=iam.load_balancer_controller(),
            values={
                "clusterName": args.cluster.name,
                # Pods cannot reach IMDS (hop limit 1), so region and VPC are given, not discovered.
                "region": args.stack.region,
                "vpcId": args.vpc_id,
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "webhookBindPort": WEBHOOKS[0].port,
                "replicaCount": 2,
                "podDisruptionBudget": {"maxUnavailable": 1},
                # Features whose permissions the role leaves out (components/iam.py).
                "enableShield": False,
                "enableWaf": False,
                "enableWafv2": False,
            })
        self.ready = [release]
        self.register_outputs({})
