"""Cluster: the EKS control plane, its node groups, core add-ons and a Kubernetes provider."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import iam, namespaces
from components.cluster.eks_addon import eks_addon
from components.cluster.node_group import NodeGroup, NodeGroupArgs
from components.cluster.registry_mirror import RegistryMirror, RegistryMirrorArgs
from components.component import Component
from components.config import ClusterConfig, NodeGroupConfig, role_name
from components.kms import account_id, customer_key
from components.network import Network
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.stack import StackContext

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VPC_CNI_NAMESPACE = namespaces.KUBE_SYSTEM
VPC_CNI_SERVICE_ACCOUNT = "aws-node"


@dataclass(frozen=True)
class Webhook:
    """A server on the nodes that the control plane calls: an admission or conversion webhook, or the kubelet.
    `port` is the pod's own port: with the VPC CNI the API server connects to the pod's address, whatever port its
    Service says. Each component declares the webhooks it runs (WEBHOOKS); the node group opens exactly those."""
    port: int
    who: str


KUBELET = Webhook(10250, "kubelet (logs, exec, metrics)")


def container_logs_prefix(cluster_name: str) -> str:
    """Where Container Insights writes the cluster's container, node and performance logs (its fixed layout)."""
    return f"/aws/containerinsights/{cluster_name}/"


@dataclass(frozen=True)
class SecurityGroupRule:
    """One ingress rule: who (`source`) may reach which group (`target`) on what, and who needs it."""
    key: str       # stable: names the resource
    target: str    # "cluster" (control plane ENIs) or "node"
    source: str    # "cluster" or "node"
    protocol: str  # "tcp", "udp" or "-1" (everything)
    from_port: int
    to_port: int
    needed_by: str
    renamed_from: tuple[str, ...] = ()  # keys it had before, kept as aliases so the rule is not recreated


# The rules that do not depend on what runs on the nodes. Between nodes: everything, as EKS's own node group
# does; pods serve on any port and protocol (DNS over UDP, Istio's 15012/15006, a pod on port 80).
API_FROM_NODES = SecurityGroupRule("api-from-nodes", "cluster", "node", "tcp", 443, 443,
                                   "kubelets and pods calling the Kubernetes API",
                                   renamed_from=("cluster-from-nodes-443",))
BETWEEN_NODES = SecurityGroupRule("all-between-nodes", "node", "node", "-1", 0, 0,
                                  "pod to pod across nodes: CoreDNS (TCP/UDP 53), Istio, services on any port")
# What each control-plane rule was named before its key followed its port.
FORMER_KEYS = {4443: ("node-from-cluster-4443", "metrics-server-from-control-plane"),
               8443: ("node-from-cluster-8443",), 9443: ("node-from-cluster-9443",),
               10250: ("node-from-cluster-10250",),
               15017: ("node-from-cluster-15017", "istiod-webhook-from-control-plane")}


def _rule_key(port: int) -> str:
    return "kubelet-from-control-plane" if port == KUBELET.port else f"webhooks-{port}-from-control-plane"


def security_group_rules(webhooks: Sequence[Webhook]) -> tuple[SecurityGroupRule, ...]:
    """Every rule of the cluster's and the nodes' security groups: the control plane reaches the nodes on each
    port something listens on (the kubelet and `webhooks`), one rule per port, and nothing else."""
    who_by_port: dict[int, list[str]] = {}
    for webhook in (KUBELET, *webhooks):
        if webhook.who not in who_by_port.setdefault(webhook.port, []):
            who_by_port[webhook.port].append(webhook.who)
    from_control_plane = tuple(
        SecurityGroupRule(_rule_key(port), "node", "cluster", "tcp", port, port, "; ".join(who),
                          FORMER_KEYS.get(port, ()))
        for port, who in sorted(who_by_port.items()))
    return (API_FROM_NODES, *from_control_plane, BETWEEN_NODES)


class NoAccess(pulumi.RunError):
    """The identity running Pulumi has no access entry in the cluster."""


def check_access(caller_arn: str, access_role_arns: Sequence[str]) -> str:
    """`caller_arn` (sts:GetCallerIdentity) if it is one of the roles given access: an assumed-role session of one
    (arn:aws:sts::<account>:assumed-role/<name>/<session>; a role's path is not in it), or the role itself.
    Otherwise NoAccess, naming the roles to assume."""
    parts = caller_arn.split(":")
    account, resource = (parts[4], parts[5]) if len(parts) >= 6 else ("", caller_arn)
    kind, _, rest = resource.partition("/")
    name = rest.split("/")[0] if kind == "assumed-role" else rest.rsplit("/", 1)[-1] if kind == "role" else None
    allowed = {(arn.split(":")[4], role_name(arn)) for arn in access_role_arns}
    if name is not None and (account, name) in allowed:
        return caller_arn
    raise NoAccess(
        f"{caller_arn} has no access entry in this cluster, so every Kubernetes resource would fail with "
        f"Unauthorized. Run as one of {', '.join(sorted(access_role_arns))} (assume it, or `aws sso login` to it), "
        "or add your role to cluster.adminRoleArns.")


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
    stack: StackContext  # the region; in production the cluster and its keys survive `pulumi destroy`
    config: ClusterConfig
    node_groups: tuple[NodeGroupConfig, ...]
    network: Network
    webhooks: Sequence[Webhook]  # what the control plane calls on the nodes, declared by whoever listens


class Cluster(Component):
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    kubernetes_version: str
    addon_versions: Mapping[str, str]  # per-stack pins (config cluster.addonVersions)
    ready: list[pulumi.Resource]       # node groups, coredns, access: what a workload waits for
    endpoint: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_security_group_id: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    logs_key_arn: pulumi.Output[str]   # encrypts the cluster's log groups and its alarm topic
    role_boundary_arn: pulumi.Output[str]  # caps the Pod Identity roles with the program's own policies
    provider: k8s.Provider
    node_groups: dict[str, NodeGroup]
    image_mirror: pulumi.Output[str] | None  # the in-region registry that stands for ghcr.io, if the stack has one

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cluster:Cluster", name, opts)
        cfg = args.config

        # In the order EKS needs them: the control plane, who may reach it, networking add-ons, nodes, DNS.
        cluster_sg, node_sg = self._security_groups(name, args.network, cfg.private_access_cidrs,
                                                    security_group_rules(args.webhooks))
        eks_cluster, secrets_key = self._control_plane(name, args, cluster_sg)
        cluster_name = eks_cluster.name
        access = self._access_entries(name, cfg, cluster_name)
        networking = self._networking_addons(name, cfg, cluster_name)
        node_role, node_role_ready = self._node_role(name)
        self.node_groups = {
            group.name: NodeGroup(
                f"{name}-{group.name}",
                NodeGroupArgs(config=group, cluster_name=cluster_name, kubernetes_version=cfg.kubernetes_version,
                              node_role_arn=node_role.arn, subnet_ids_by_az=args.network.private_subnet_ids_by_az,
                              security_group_ids=[node_sg.id]),
                opts=self.child(depends_on=[*networking, *node_role_ready]))
            for group in args.node_groups
        }
        self.image_mirror = RegistryMirror(
            f"{name}-registry-mirror", RegistryMirrorArgs(cfg.registry_mirror, cfg.name, args.stack.region,
                                                          node_role.name),
            opts=self.child()).registry if cfg.registry_mirror else None
        # coredns is a Deployment: created before any node exists it stays DEGRADED and the apply
        # times out (pulumi-eks#1819), so it waits for the node groups.
        coredns = self._addon(name, cfg, cluster_name, "coredns", depends_on=list(self.node_groups.values()))

        # Preflight: whoever runs this must be one of the roles given access, or every Kubernetes resource fails
        # with Unauthorized minutes into the run. The provider's kubeconfig waits for the check.
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).arn
        config_json = pulumi.Output.all(
            caller.apply(lambda arn: check_access(arn, cfg.access_role_arns)),
            eks_cluster.name, eks_cluster.endpoint, eks_cluster.certificate_authority.data,
        ).apply(lambda a: json.dumps(kubeconfig(a[1], a[2], a[3], args.stack.region)))
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=config_json, opts=self.child())

        self.name = cluster_name
        self.arn = eks_cluster.arn
        self.kubernetes_version = cfg.kubernetes_version
        self.addon_versions = cfg.addon_versions
        # What a workload needs before it can be scheduled and resolve names, and before the identity
        # running `pulumi up` may create it.
        self.ready = [*self.node_groups.values(), coredns, *access]
        self.endpoint = eks_cluster.endpoint
        # Issues the service-account tokens machine clients present at the front door (Kubeflow's m2m login).
        self.oidc_issuer = eks_cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        self.kubeconfig = pulumi.Output.secret(config_json)
        self.cluster_security_group_id = cluster_sg.id
        self.node_security_group_id = node_sg.id
        self.node_role_arn = node_role.arn
        # The cap of every Pod Identity role whose policy is the program's own (components/iam.py).
        self.role_boundary_arn = aws.iam.Policy(
            f"{name}-pod-role-boundary", name=f"{cfg.name}-pod-role-boundary",
            description=f"The most a Pod Identity role of EKS cluster {cfg.name} may do (components/iam.py)",
            policy=iam.to_json(account_id(self).apply(
                lambda account: iam.pod_role_boundary(args.stack.region, account, cfg.name))),
            opts=self.child()).arn
        self.register_outputs({
            "name": self.name,
            "endpoint": self.endpoint,
            "kubeconfig": self.kubeconfig,
            "cluster_security_group_id": self.cluster_security_group_id,
            "node_security_group_id": self.node_security_group_id,
        })

    def _control_plane(self, name: str, args: ClusterArgs,
                       cluster_sg: aws.ec2.SecurityGroup) -> tuple[aws.eks.Cluster, aws.kms.Key]:
        """The cluster, its role, the key for its secrets and the log group it writes into."""
        cfg, stack = args.config, args.stack
        child = self.child()
        account = account_id(self)
        role = aws.iam.Role(
            f"{name}-control-plane",
            assume_role_policy=iam.to_json(iam.service_trust("eks.amazonaws.com", tag_session=True)),
            description=f"EKS control plane of {cfg.name}",
            opts=child,
        )
        role_policy = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane", role=role.name, policy_arn=iam.EKS_CLUSTER_POLICY, opts=child)

        secrets_key = customer_key(
            f"{name}-secrets", parent=self, protect=stack.production,
            description=f"Envelope encryption of Kubernetes secrets in EKS cluster {cfg.name}",
            alias=f"alias/{cfg.name}-eks-secrets",
            usage=pulumi.Output.all(account, role.arn).apply(lambda a: [
                iam.key_use_by_role("ClusterRoleUsesKey", a[1], iam.EKS_CLUSTER_KEY_ACTIONS),
                iam.key_use_via_service("ClusterCreatorGrantsEks", a[0], stack.regional("eks")),
            ]))

        # Created before the cluster so EKS writes into an encrypted group with a retention period instead
        # of creating one that keeps logs forever, unencrypted. The key is the cluster's for all its logs (its
        # containers' too, under CONTAINER_LOGS) and for its alarms' notifications (the observability tier).
        log_group_name = f"/aws/eks/{cfg.name}/cluster"
        logs_key = customer_key(
            f"{name}-logs", parent=self, protect=stack.production,
            description=f"Logs (control plane, containers) and alarm notifications of EKS cluster {cfg.name}",
            alias=f"alias/{cfg.name}-eks-logs",
            usage=account.apply(lambda a: [
                iam.key_use_by_cloudwatch_logs(stack.region, a, [log_group_name],
                                               prefixes=[container_logs_prefix(cfg.name)]),
                iam.key_use_by_cloudwatch_alarms(a)]))
        self.logs_key_arn = logs_key.arn
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=log_group_name,
            retention_in_days=cfg.log_retention_days,
            kms_key_id=logs_key.arn,
            opts=child,
        )

        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cfg.name,
            version=cfg.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                # The control plane's network interfaces live in the private subnets.
                subnet_ids=args.network.private_subnet_ids,
                # Our group, whose rules are all written out (EKS adds its own primary group too).
                security_group_ids=[cluster_sg.id],
                endpoint_private_access=True,
                endpoint_public_access=cfg.endpoint_public_access,
                public_access_cidrs=list(cfg.public_access_cidrs) or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # No automatic cluster-admin for whoever runs `pulumi up`: every access entry comes from
                # config (_access_entries), so none can collide with an automatic one (409 ResourceInUseException).
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=stack.production,
            # Core add-ons are EKS managed add-ons created in order (_networking_addons, coredns).
            bootstrap_self_managed_addons=False,
            opts=self.child(depends_on=[log_group, role_policy], protect=stack.production),
        )
        return cluster, secrets_key

    def _networking_addons(self, name: str, cfg: ClusterConfig,
                           cluster_name: pulumi.Output[str]) -> list[pulumi.Resource]:
        """What nodes need before they start: Pod Identity, kube-proxy and the VPC CNI (on Pod Identity)."""
        cni_role = ServiceAccountRole(
            f"{name}-vpc-cni",
            ServiceAccountRoleArgs(
                cluster_name=cluster_name,
                namespace=VPC_CNI_NAMESPACE,
                service_account=VPC_CNI_SERVICE_ACCOUNT,
                managed_policy_arns=[iam.VPC_CNI_POLICY],
                association_by_addon=True,
            ),
            opts=self.child(),
        )
        pod_identity_agent = self._addon(name, cfg, cluster_name, "eks-pod-identity-agent")
        return [
            pod_identity_agent,
            self._addon(name, cfg, cluster_name, "kube-proxy"),
            self._addon(name, cfg, cluster_name, "vpc-cni", role=cni_role, depends_on=[pod_identity_agent]),
        ]

    def _access_entries(self, name: str, cfg: ClusterConfig, cluster_name: pulumi.Output[str]):
        """cluster-admin for the configured admins and the Deployments role; keyed by role name, so removing
        one role never renames another's entry."""
        child = self.child()
        associations = []
        for arn in cfg.access_role_arns:
            key = f"{name}-access-{role_name(arn)}"
            entry = aws.eks.AccessEntry(key, cluster_name=cluster_name, principal_arn=arn, type="STANDARD",
                                        opts=child)
            associations.append(aws.eks.AccessPolicyAssociation(
                key, cluster_name=cluster_name, principal_arn=entry.principal_arn, policy_arn=CLUSTER_ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"), opts=child))
        return associations

    def _security_groups(self, name: str, net: Network, private_access_cidrs: Sequence[str],
                         rules: Sequence[SecurityGroupRule]):
        child = self.child()
        groups = {
            "cluster": aws.ec2.SecurityGroup(
                f"{name}-cluster", vpc_id=net.vpc_id,
                description="EKS control plane (additional to the EKS-managed primary group)",
                revoke_rules_on_delete=True, tags={"Name": f"{name}-cluster"}, opts=child),
            "node": aws.ec2.SecurityGroup(
                f"{name}-node", vpc_id=net.vpc_id,
                description="EKS nodes and their pods; data services admit this group only",
                revoke_rules_on_delete=True, tags={"Name": f"{name}-node"}, opts=child),
        }
        for rule in rules:
            ports = {} if rule.protocol == "-1" else {"from_port": rule.from_port, "to_port": rule.to_port}
            aliases = [pulumi.Alias(name=f"{name}-{former}") for former in rule.renamed_from] or None
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{rule.key}", security_group_id=groups[rule.target].id,
                referenced_security_group_id=groups[rule.source].id, ip_protocol=rule.protocol,
                description=rule.needed_by, opts=self.child(aliases=aliases), **ports)
        # The private endpoint from routed networks (VPN, peering): admins and the deployment agents.
        for cidr in private_access_cidrs:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-{cidr.replace('.', '-').replace('/', '-')}", security_group_id=groups["cluster"].id,
                cidr_ipv4=cidr, ip_protocol="tcp", from_port=443, to_port=443,
                description="Kubernetes API from a routed network (cluster.privateAccessCidrs)", opts=child)
        # Nodes pull images, reach AWS APIs and the internet through NAT.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-node-egress", security_group_id=groups["node"].id, ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0", description="Outbound from nodes", opts=child)
        return groups["cluster"], groups["node"]

    def _node_role(self, name: str):
        child = self.child()
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

    def addon(self, resource_name: str, *, parent: pulumi.Resource, addon: str, role: ServiceAccountRole | None = None,
              configuration: dict | None = None, depends_on: Sequence[pulumi.Resource] = ()) -> aws.eks.Addon:
        """An EKS add-on of this cluster, at its pin (cluster.addonVersions) or AWS's default, once the cluster is
        ready for workloads (its nodes, DNS and the deployer's access)."""
        return eks_addon(resource_name, parent=parent, cluster_name=self.name, addon=addon,
                         kubernetes_version=self.kubernetes_version, pinned_version=self.addon_versions.get(addon),
                         role=role, configuration=configuration, depends_on=[*self.ready, *depends_on])

    def _addon(self, name: str, cfg: ClusterConfig, cluster_name: pulumi.Input[str], addon: str,
               role: ServiceAccountRole | None = None, depends_on=()) -> aws.eks.Addon:
        return eks_addon(f"{name}-{addon}", parent=self, cluster_name=cluster_name, addon=addon,
                         kubernetes_version=cfg.kubernetes_version,
                         pinned_version=cfg.addon_versions.get(addon),
                         role=role, depends_on=depends_on)
