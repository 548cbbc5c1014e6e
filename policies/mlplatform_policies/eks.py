"""EKS: encrypted secrets, audit logs, a non-public endpoint, GPU nodes tainted, no SSH to nodes.

Sources: CIS Amazon EKS Benchmark 2.1.1 (audit logs), 5.3.1 (secrets encryption), 5.4.2 (endpoint
access); AWS FSBP EKS.1 (endpoint not public), EKS.3 (secrets encryption), EKS.8 (audit logging); the EKS
best practices guide (GPU taints, no SSH: use SSM).

The cluster is checked in both shapes it takes: `aws.eks.Cluster` (what this program creates, and what a
real preview shows inside pulumi-eks) and the inputs of pulumi-eks's `eks.Cluster` component. Node groups
in every form: see nodes.py.
"""

from __future__ import annotations

from ._base import ADVISORY, UNKNOWN, get, items, known, resource_policy
from .nodes import NODE_TYPES, nodes_of

CLUSTER_TYPES = ("aws:eks/cluster:Cluster", "eks:index:Cluster")
REQUIRED_LOG_TYPES = ("api", "audit", "authenticator")
INTERNET = ("0.0.0.0/0", "::/0")


def _settings(resource_type: str, props) -> dict:
    """The cluster settings the policies judge, from either shape, with the defaults AWS and pulumi-eks apply."""
    if resource_type == "eks:index:Cluster":
        return {"key": get(props, "encryptionConfigKeyArn"), "logs": get(props, "enabledClusterLogTypes"),
                "public": get(props, "endpointPublicAccess", default=True),  # pulumi-eks's default
                "cidrs": get(props, "publicAccessCidrs", default=["0.0.0.0/0"]),  # EKS's default
                "support": get(props, "upgradePolicy", "supportType")}
    return {"key": _secrets_key(props),
            "logs": get(props, "enabledClusterLogTypes"),
            "public": get(props, "vpcConfig", "endpointPublicAccess", default=True),
            "cidrs": get(props, "vpcConfig", "publicAccessCidrs", default=["0.0.0.0/0"]),
            "support": get(props, "upgradePolicy", "supportType")}


def _secrets_key(props):
    """The KMS key encrypting secrets in an aws.eks.Cluster's encryptionConfig (UNKNOWN if not yet known)."""
    found = None
    for entry in items(get(props, "encryptionConfig")):
        resources = items(get(entry, "resources"))
        if UNKNOWN in resources:
            return UNKNOWN
        if "secrets" in resources:
            found = get(entry, "provider", "keyArn")
    return found


@resource_policy("eks-secrets-encrypted",
                 "Kubernetes secrets must be envelope-encrypted with a customer-managed KMS key.",
                 "CIS EKS 5.3.1; FSBP EKS.3", CLUSTER_TYPES)
def secrets_encrypted(props, args, config):
    if _settings(args.resource_type, props)["key"] is None:
        yield "secrets are not envelope-encrypted", "set the cluster's encryption key to a KMS key ARN"


@resource_policy("eks-audit-logging",
                 "Control-plane api, audit and authenticator logs must go to CloudWatch.",
                 "CIS EKS 2.1.1; FSBP EKS.8", CLUSTER_TYPES)
def audit_logging(props, args, config):
    enabled = items(_settings(args.resource_type, props)["logs"])
    if UNKNOWN in enabled:
        return
    missing = [t for t in REQUIRED_LOG_TYPES if t not in enabled]
    if missing:
        yield f"control-plane logs {', '.join(missing)} are off", \
            "enable " + ", ".join(REQUIRED_LOG_TYPES) + " in enabledClusterLogTypes"


@resource_policy("eks-endpoint-not-open",
                 "The Kubernetes API must not be open to the internet: private access, or public access only from "
                 "listed CIDRs.",
                 "CIS EKS 5.4.2; FSBP EKS.1", CLUSTER_TYPES)
def endpoint_not_open(props, args, config):
    settings = _settings(args.resource_type, props)
    cidrs = items(settings["cidrs"]) or ["0.0.0.0/0"]  # an empty list means EKS's default
    if settings["public"] is True and any(c in INTERNET for c in cidrs):
        yield "the public API endpoint accepts any address", \
            "turn endpointPublicAccess off or list specific publicAccessCidrs"


@resource_policy("eks-standard-support",
                 "Clusters should use the STANDARD upgrade policy: extended support costs six times as much per "
                 "cluster-hour.",
                 'EKS user guide, "Cluster upgrade policy" (extended support pricing)', CLUSTER_TYPES, level=ADVISORY)
def standard_support(props, args, config):
    support = _settings(args.resource_type, props)["support"]
    if known(support) and support != "STANDARD":
        yield "upgradePolicy.supportType is not STANDARD", "set upgradePolicy.supportType STANDARD"


@resource_policy("eks-gpu-nodes-tainted",
                 "GPU node groups must carry the nvidia.com/gpu NoSchedule taint so only pods that ask for GPUs "
                 "land on (and keep up) expensive nodes.",
                 'EKS best practices, "Running GPU workloads"',
                 NODE_TYPES)
def gpu_nodes_tainted(props, args, config):
    nodes = nodes_of(args.resource_type, props)
    if nodes is None or nodes.gpu is not True:
        return
    if UNKNOWN in [k for k, _ in nodes.taints]:
        return
    if not any(key == "nvidia.com/gpu" and effect in ("NO_SCHEDULE", "NoSchedule") for key, effect in nodes.taints):
        yield "a GPU node group without the nvidia.com/gpu taint", \
            "add the taint nvidia.com/gpu=true with effect NoSchedule (NO_SCHEDULE in aws.eks.NodeGroup)"


@resource_policy("eks-no-node-ssh",
                 "Nodes must not be reachable over SSH key pairs; use SSM Session Manager.",
                 'EKS best practices, "Protecting the infrastructure"', NODE_TYPES)
def no_node_ssh(props, args, config):
    nodes = nodes_of(args.resource_type, props)
    if nodes is not None and nodes.ssh:
        yield nodes.ssh, "remove the SSH key; use SSM Session Manager (AmazonSSMManagedInstanceCore on the node role)"


POLICIES = [secrets_encrypted, audit_logging, endpoint_not_open, standard_support, gpu_nodes_tainted,
            no_node_ssh]
