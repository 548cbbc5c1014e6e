"""EKS: encrypted secrets, audit logs, a non-public endpoint, GPU nodes tainted.

Sources: CIS Amazon EKS Benchmark 2.1.1 (audit logs), 5.3.1 (secrets encryption), 5.4.2 (endpoint
access); "CIS Kubernetes - AWS (EKS)" pack; EKS best practices guide.

The cluster is checked in both shapes it takes: the `aws:eks/cluster:Cluster` that pulumi-eks creates
(what a real preview shows) and the inputs of the `eks:index:Cluster` component itself.
"""

from __future__ import annotations

from ._base import ADVISORY, as_list, resource_policy

CLUSTER_TYPES = ("aws:eks/cluster:Cluster", "eks:index:Cluster")
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
REQUIRED_LOG_TYPES = ("api", "audit", "authenticator")
GPU_FAMILIES = ("p2", "p3", "p4d", "p4de", "p5", "p5e", "p5en", "g4dn", "g5", "g6", "g6e", "gr6")


def _settings(resource_type: str, props: dict) -> dict:
    if resource_type == "eks:index:Cluster":
        public = props.get("endpointPublicAccess", True)  # pulumi-eks's default
        cidrs = props.get("publicAccessCidrs")
        return {"key": props.get("encryptionConfigKeyArn"), "logs": props.get("enabledClusterLogTypes"),
                "public": public, "cidrs": cidrs if cidrs else ["0.0.0.0/0"],  # EKS's default
                "support": (props.get("upgradePolicy") or {}).get("supportType")}
    vpc = props.get("vpcConfig") or {}
    encryption = as_list(props.get("encryptionConfig"))
    key = next((e.get("provider", {}).get("keyArn") for e in encryption
                if "secrets" in as_list(e.get("resources"))), None)
    return {"key": key, "logs": props.get("enabledClusterLogTypes"),
            "public": vpc.get("endpointPublicAccess", True),
            "cidrs": vpc.get("publicAccessCidrs") or ["0.0.0.0/0"],
            "support": (props.get("upgradePolicy") or {}).get("supportType")}


@resource_policy("eks-secrets-encrypted",
                 "Kubernetes secrets must be envelope-encrypted with a customer-managed KMS key.",
                 CLUSTER_TYPES)
def secrets_encrypted(props, args, config):
    if not _settings(args.resource_type, props)["key"]:
        yield "secrets are not envelope-encrypted", "set the cluster's encryption key to a KMS key ARN"


@resource_policy("eks-audit-logging",
                 "Control-plane api, audit and authenticator logs must go to CloudWatch.", CLUSTER_TYPES)
def audit_logging(props, args, config):
    enabled = as_list(_settings(args.resource_type, props)["logs"])
    missing = [t for t in REQUIRED_LOG_TYPES if t not in enabled]
    if missing:
        yield f"control-plane logs {', '.join(missing)} are off", \
            "enable " + ", ".join(REQUIRED_LOG_TYPES) + " in enabledClusterLogTypes"


@resource_policy("eks-endpoint-not-open",
                 "The Kubernetes API must not be open to the internet: private access, or public "
                 "access only from listed CIDRs.", CLUSTER_TYPES)
def endpoint_not_open(props, args, config):
    settings = _settings(args.resource_type, props)
    if settings["public"] is not False and any(c in ("0.0.0.0/0", "::/0") for c in settings["cidrs"]):
        yield "the public API endpoint accepts any address", \
            "turn endpointPublicAccess off or list specific publicAccessCidrs"


@resource_policy("eks-standard-support",
                 "Clusters should use the STANDARD upgrade policy: extended support costs six times "
                 "as much per cluster-hour.", CLUSTER_TYPES, level=ADVISORY)
def standard_support(props, args, config):
    if _settings(args.resource_type, props)["support"] != "STANDARD":
        yield "upgradePolicy.supportType is not STANDARD", "set upgradePolicy.supportType STANDARD"


def _is_gpu_group(props: dict) -> bool:
    ami = props.get("amiType") or ""
    if "NVIDIA" in ami or "GPU" in ami:
        return True
    return any(t.split(".")[0] in GPU_FAMILIES for t in as_list(props.get("instanceTypes")))


@resource_policy("eks-gpu-nodes-tainted",
                 "GPU node groups must carry the nvidia.com/gpu NoSchedule taint so only pods that "
                 "ask for GPUs land on (and keep paying for) GPU nodes.", [NODE_GROUP])
def gpu_nodes_tainted(props, args, config):
    if not _is_gpu_group(props):
        return
    taints = as_list(props.get("taints"))
    if not any(t.get("key") == "nvidia.com/gpu" and t.get("effect") == "NO_SCHEDULE" for t in taints):
        yield "a GPU node group without the nvidia.com/gpu taint", \
            "add the taint key nvidia.com/gpu, value true, effect NO_SCHEDULE"


@resource_policy("eks-no-node-ssh", "Node groups must not open SSH; use SSM Session Manager.",
                 [NODE_GROUP])
def no_node_ssh(props, args, config):
    if props.get("remoteAccess"):
        yield "remoteAccess opens SSH to the nodes", "remove remoteAccess; use SSM Session Manager"


POLICIES = [secrets_encrypted, audit_logging, endpoint_not_open, standard_support, gpu_nodes_tainted,
            no_node_ssh]
