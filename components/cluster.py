"""Cluster: the EKS control plane, its node groups, core add-ons and a Kubernetes provider."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import iam
from components.config import ClusterConfig
from components.eks_addon import eks_addon
from components.network import Network
from components.node_group import NodeGroup, NodeGroupArgs
from components.pod_identity import ServiceAccountRole, ServiceAccountRoleArgs

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VPC_CNI_NAMESPACE = "kube-system"
VPC_CNI_SERVICE_ACCOUNT = "aws-node"

# Ports the control plane opens on nodes: 443 and the usual webhook ports (metrics-server 4443,
# 6443, 8443, 9443 for the AWS Load Balancer Controller), 10250 for the kubelet (logs, exec, metrics)
# and 15017 for istiod's admission webhook. Same set as terraform-aws-eks's node group defaults plus
# Istio's webhook.
CONTROL_PLANE_TO_NODE_PORTS = (443, 4443, 6443, 8443, 9443, 10250, 15017)


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> dict:
    """A kubeconfig built only from the cluster's identity.

    The Kubernetes provider is replaced whenever its kubeconfig changes, and every Kubernetes resource
    with it (pulumi-eks#764, pulumi-kubernetes#1148). pulumi-eks's own kubeconfig output can change for
    reasons unrelated to the cluster; this one changes only when the cluster itself is replaced.
    """
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {
            "server": endpoint, "certificate-authority-data": certificate_authority}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region,
                     "--output", "json"],
        }}}],
    }


@dataclass
class ClusterArgs:
    config: ClusterConfig
    network: Network
    region: str
    protect_data: bool  # prod: stateful resources survive `pulumi destroy` and replacement


class Cluster(pulumi.ComponentResource):
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    kubernetes_version: str
    addon_versions: Mapping[str, str]  # per-stack pins (config cluster.addonVersions)
    ready: list[pulumi.Resource]       # node groups and coredns: depend on these to schedule pods
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]
    provider: k8s.Provider
    node_groups: dict[str, NodeGroup]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:Cluster", name, None, opts)
        cfg = args.config
        net = args.network
        child = pulumi.ResourceOptions(parent=self)

        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {cfg.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data, retain_on_delete=args.protect_data),
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/{cfg.name}-eks-secrets",
                      target_key_id=secrets_key.key_id, opts=child)

        # Created before the cluster so EKS writes into a group with a retention period instead of
        # creating one that keeps logs forever.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{cfg.name}/cluster",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )

        cluster_sg, node_sg = self._security_groups(name, net)
        node_role, node_role_ready = self._node_role(name)

        cluster = eks.Cluster(
            f"{name}-eks",
            name=cfg.name,
            version=cfg.kubernetes_version,
            vpc_id=net.vpc_id,
            private_subnet_ids=net.private_subnet_ids,
            node_associate_public_ip_address=False,
            endpoint_private_access=True,
            endpoint_public_access=cfg.endpoint_public_access,
            public_access_cidrs=list(cfg.public_access_cidrs) or None,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries={
                f"admin-{index}": eks.AccessEntryArgs(
                    principal_arn=arn,
                    type=eks.AccessEntryType.STANDARD,
                    access_policies={"cluster-admin": eks.AccessPolicyAssociationArgs(
                        policy_arn=CLUSTER_ADMIN_POLICY,
                        access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    )},
                )
                for index, arn in enumerate(cfg.admin_role_arns)
            },
            encryption_config_key_arn=secrets_key.arn,
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=args.protect_data,
            # Our own security groups, so every rule is visible and reviewable here.
            cluster_security_group=cluster_sg,
            skip_default_security_groups=True,
            skip_default_node_group=True,
            # Core add-ons are EKS managed add-ons created below, in the right order.
            bootstrap_self_managed_addons=False,
            use_default_vpc_cni=True,
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=False),
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=False),
            # Pod Identity, not IRSA: no OIDC provider needed.
            create_oidc_provider=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )
        cluster_name = cluster.eks_cluster.name

        cni_role = ServiceAccountRole(
            f"{name}-vpc-cni",
            ServiceAccountRoleArgs(
                cluster_name=cluster_name,
                namespace=VPC_CNI_NAMESPACE,
                service_account=VPC_CNI_SERVICE_ACCOUNT,
                managed_policy_arns=[iam.VPC_CNI_POLICY],
                association_by_addon=True,
            ),
            opts=child,
        )
        pod_identity_agent = self._addon(name, cfg, cluster_name, "eks-pod-identity-agent")
        before_nodes = [
            pod_identity_agent,
            self._addon(name, cfg, cluster_name, "kube-proxy"),
            self._addon(name, cfg, cluster_name, "vpc-cni", role=cni_role, depends_on=[pod_identity_agent]),
        ]

        self.node_groups = {}
        for group in cfg.node_groups:
            self.node_groups[group.name] = NodeGroup(
                f"{name}-{group.name}",
                NodeGroupArgs(
                    config=group,
                    cluster_name=cluster_name,
                    kubernetes_version=cfg.kubernetes_version,
                    node_role_arn=node_role.arn,
                    subnet_ids=net.private_subnet_ids,
                    security_group_ids=[node_sg.id],
                ),
                opts=pulumi.ResourceOptions(parent=self,
                                            depends_on=[*before_nodes, *node_role_ready]),
            )

        # coredns is a Deployment: created before any node exists it stays DEGRADED and the apply
        # times out (pulumi-eks#1819), so it waits for the node groups.
        coredns = self._addon(name, cfg, cluster_name, "coredns", depends_on=list(self.node_groups.values()))

        eks_cluster = cluster.eks_cluster
        config_json = pulumi.Output.all(
            eks_cluster.name, eks_cluster.endpoint, eks_cluster.certificate_authority.data,
        ).apply(lambda a: json.dumps(kubeconfig(a[0], a[1], a[2], args.region)))
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=config_json, opts=child)

        self.name = cluster_name
        self.arn = eks_cluster.arn
        self.kubernetes_version = cfg.kubernetes_version
        self.addon_versions = cfg.addon_versions
        # What a workload needs before it can be scheduled and resolve names.
        self.ready = [*self.node_groups.values(), coredns]
        self.endpoint = eks_cluster.endpoint
        self.kubeconfig = pulumi.Output.secret(config_json)
        self.cluster_security_group_id = cluster_sg.id
        self.node_security_group_id = node_sg.id
        self.node_role_arn = node_role.arn
        self.secrets_key_arn = secrets_key.arn
        self.register_outputs({
            "name": self.name,
            "endpoint": self.endpoint,
            "kubeconfig": self.kubeconfig,
            "cluster_security_group_id": self.cluster_security_group_id,
            "node_security_group_id": self.node_security_group_id,
        })

    def _security_groups(self, name: str, net: Network):
        child = pulumi.ResourceOptions(parent=self)
        cluster_sg = aws.ec2.SecurityGroup(
            f"{name}-cluster", vpc_id=net.vpc_id,
            description="EKS control plane (additional to the EKS-managed primary group)",
            revoke_rules_on_delete=True, tags={"Name": f"{name}-cluster"}, opts=child)
        node_sg = aws.ec2.SecurityGroup(
            f"{name}-node", vpc_id=net.vpc_id,
            description="EKS nodes and their pods; data services admit this group only",
            revoke_rules_on_delete=True, tags={"Name": f"{name}-node"}, opts=child)

        aws.vpc.SecurityGroupIngressRule(
            f"{name}-cluster-from-nodes-443", security_group_id=cluster_sg.id,
            referenced_security_group_id=node_sg.id, ip_protocol="tcp", from_port=443, to_port=443,
            description="Nodes and pods to the Kubernetes API", opts=child)
        for port in CONTROL_PLANE_TO_NODE_PORTS:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-node-from-cluster-{port}", security_group_id=node_sg.id,
                referenced_security_group_id=cluster_sg.id, ip_protocol="tcp",
                from_port=port, to_port=port,
                description=f"Control plane to kubelet/webhooks on {port}", opts=child)
        for protocol in ("tcp", "udp"):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-node-dns-{protocol}", security_group_id=node_sg.id,
                referenced_security_group_id=node_sg.id, ip_protocol=protocol,
                from_port=53, to_port=53, description="CoreDNS between nodes", opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-node-to-node", security_group_id=node_sg.id,
            referenced_security_group_id=node_sg.id, ip_protocol="tcp",
            from_port=1025, to_port=65535,
            description="Pod to pod across nodes (mesh, services)", opts=child)
        # Nodes pull images, reach AWS APIs and the internet through NAT.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-node-egress", security_group_id=node_sg.id, ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0", description="Outbound from nodes", opts=child)
        return cluster_sg, node_sg

    def _node_role(self, name: str):
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-node",
            assume_role_policy=iam.to_json(iam.service_trust("ec2.amazonaws.com")),
            description="EKS managed node group instances",
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{key}", role=role.name, policy_arn=arn,
                                         opts=child)
            for key, arn in iam.NODE_MANAGED_POLICIES.items()
        ]
        return role, attachments

    def _addon(self, name: str, cfg: ClusterConfig, cluster_name: pulumi.Input[str], addon: str,
               role: ServiceAccountRole | None = None, depends_on=()) -> aws.eks.Addon:
        return eks_addon(f"{name}-{addon}", parent=self, cluster_name=cluster_name, addon=addon,
                         kubernetes_version=cfg.kubernetes_version,
                         pinned_version=cfg.addon_versions.get(addon),
                         role=role, depends_on=depends_on)
