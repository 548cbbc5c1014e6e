"""NvidiaDevicePlugin: advertises each GPU node's GPUs to the scheduler as nvidia.com/gpu.

The AL2023 NVIDIA AMI ships the driver and container toolkit, so the device plugin alone is enough
(the GPU operator would install both again).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.cluster.cluster import Cluster
from components.cluster.node_group import GPU_PRESENT_LABEL, GPU_TAINT_KEY
from components.helm import helm_release
from components.options import dependencies
from components.versions import NVIDIA_DEVICE_PLUGIN

NAMESPACE = "kube-system"


@dataclass
class NvidiaDevicePluginArgs:
    cluster: Cluster


class NvidiaDevicePlugin(pulumi.ComponentResource):
    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:nvidia_device_plugin:NvidiaDevicePlugin", name, None, opts)
        helm_release(
            f"{name}-chart", parent=self, chart=NVIDIA_DEVICE_PLUGIN, namespace=NAMESPACE,
            values={
                # Only on GPU nodes (labelled by their node group), and allowed past their taint.
                "nodeSelector": {GPU_PRESENT_LABEL: "true"},
                "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
                # gpu-feature-discovery would pull in node-feature-discovery; the node group labels
                # already say which GPU a node has.
                "gfd": {"enabled": False},
                "nfd": {"enabled": False},
            },
            depends_on=[*args.cluster.ready, *dependencies(opts)])
        self.register_outputs({})
