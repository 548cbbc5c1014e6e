"""EKS worker nodes as one shape, whichever resource declares them.

Nodes come from `aws.eks.NodeGroup` (EKS managed), pulumi-eks's `ManagedNodeGroup` (the same, with its own
arguments), its self-managed `NodeGroup`/`NodeGroupV2`, and the default node group an `eks.Cluster` creates
unless `skipDefaultNodeGroup` is set (configured at the top level and in `nodeGroupOptions`). The GPU,
SSH, IMDS and volume policies judge all of them from this one view.

pulumi-eks behaviour read in pulumi/pulumi-eks nodejs/eks/nodes/nodegroup.ts: `enableIMDSv2` sets the hop
limit to 2; self-managed groups leave root volume encryption to the AMI unless `nodeRootVolumeEncrypted` or
`encryptRootBlockDevice` is set. Without a launch template, EKS managed node groups use EKS's default one
(IMDS hop limit 2, root volume settings EKS's, not ours).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._base import UNKNOWN, get, items, keys, known

AWS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_MANAGED_NODE_GROUP = "eks:index:ManagedNodeGroup"
EKS_SELF_MANAGED = ("eks:index:NodeGroup", "eks:index:NodeGroupV2")
EKS_CLUSTER = "eks:index:Cluster"
NODE_TYPES = (AWS_NODE_GROUP, EKS_MANAGED_NODE_GROUP, *EKS_SELF_MANAGED, EKS_CLUSTER)

# NVIDIA GPU instances: the program's catalogue (components/instance_types.py), copied here by `make generate`
# because the pack is published on its own.
GPU_CATALOGUE: dict[str, Any] = json.loads((Path(__file__).parent / "gpu_instances.json").read_text())
GPU_FAMILIES = tuple(GPU_CATALOGUE["families"])


@dataclass
class Nodes:
    gpu: Any                    # True, False or UNKNOWN
    taints: list[tuple[Any, Any]] = field(default_factory=list)  # (key, effect)
    ssh: str | None = None      # how SSH reaches the nodes, if it does
    launch_template: bool = False
    imds_problem: str | None = None     # what keeps IMDSv2 with hop limit 1 from holding, when no template
    root_volume_problem: str | None = None  # what leaves the root volume unencrypted, when no template


def _is_gpu(flag: Any, ami_type: Any, instance_types: list[Any]) -> Any:
    if flag is True:
        return True
    if isinstance(ami_type, str) and ("NVIDIA" in ami_type or "GPU" in ami_type):
        return True
    if any(isinstance(t, str) and t.split(".")[0] in GPU_FAMILIES for t in instance_types):
        return True
    if UNKNOWN in (flag, ami_type) or UNKNOWN in instance_types:
        return UNKNOWN
    return False


def _list_taints(value: Any) -> list[tuple[Any, Any]]:
    return [(get(t, "key"), get(t, "effect")) for t in items(value) if known(t)]


def _map_taints(value: Any) -> list[tuple[Any, Any]]:
    return [(key, get(value, key, "effect")) for key in keys(value)]


def _managed(props: Any, flag: Any, taints: Any, imds_problem: str | None) -> Nodes:
    template = get(props, "launchTemplate") is not None
    return Nodes(
        gpu=_is_gpu(flag, get(props, "amiType"), items(get(props, "instanceTypes"))),
        taints=_list_taints(taints),
        ssh="remoteAccess opens SSH to the nodes" if get(props, "remoteAccess") is not None else None,
        launch_template=template,
        imds_problem=None if template else imds_problem,
        root_volume_problem=None if template else "the root volume's encryption is left to EKS's default launch "
                                                  "template",
    )


def _self_managed(settings: list[Any]) -> Nodes:
    """pulumi-eks self-managed nodes; `settings` are the maps to read, later ones winning."""
    def setting(key: str) -> Any:
        values = [get(s, key) for s in settings]
        return next((v for v in reversed(values) if v is not None), None)

    key_pair = setting("keyName") or setting("nodePublicKey")
    encrypted = setting("nodeRootVolumeEncrypted") is True or setting("encryptRootBlockDevice") is True
    return Nodes(
        gpu=_is_gpu(setting("gpu"), setting("amiType"), items(setting("instanceType"))),
        taints=_map_taints(setting("taints")),
        ssh="a key pair opens SSH to the nodes" if key_pair is not None else None,
        imds_problem="pulumi-eks self-managed nodes keep the AMI's metadata hop limit (2)",
        root_volume_problem=None if encrypted else "the root volume's encryption is left to the AMI",
    )


def nodes_of(resource_type: str, props: Any) -> Nodes | None:
    """The nodes a resource declares, or None when it declares none."""
    if resource_type == AWS_NODE_GROUP:
        return _managed(props, None, get(props, "taints"),
                        "without a launch template EKS's default sets the metadata hop limit to 2")
    if resource_type == EKS_MANAGED_NODE_GROUP:
        imds = "pulumi-eks's enableIMDSv2 sets the metadata hop limit to 2" if get(props, "enableIMDSv2") is True \
            else "IMDSv1 is allowed (enableIMDSv2 is off and there is no launch template)"
        return _managed(props, get(props, "gpu"), get(props, "taints"), imds)
    if resource_type in EKS_SELF_MANAGED:
        return _self_managed([props])
    if resource_type == EKS_CLUSTER:
        if get(props, "skipDefaultNodeGroup") is True or get(props, "fargate") is not None:
            return None
        return _self_managed([props, get(props, "nodeGroupOptions", default={})])
    return None
