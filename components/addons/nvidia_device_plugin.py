"""NvidiaDevicePlugin: advertises each GPU node's GPUs to the scheduler as nvidia.com/gpu.

The AL2023 NVIDIA AMI ships the driver and container toolkit, so the device plugin alone is enough
(the GPU operator would install both again).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import namespaces
from components.cluster.cluster import Cluster
from components.cluster.node_group import GPU_PRESENT_LABEL, GPU_TAINT_KEY
from components.component import Component
from components.helm import helm_release
from components.versions import NVIDIA_DEVICE_PLUGIN

NAMESPACE = namespaces.KUBE_SYSTEM


@dataclass
class NvidiaDevicePluginArgs:
    cluster: Cluster


class NvidiaDevicePlugin(Component):
    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:nvidia_device_plugin:NvidiaDevicePlugin", name, opts)
        release = helm_release(
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
            depends_on=[*args.cluster.ready, *self.waits_for])
        self.ready = [release]
        self.register_outputs({})
