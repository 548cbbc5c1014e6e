"""Reloader: restarts a workload when a Secret or ConfigMap it names in an annotation changes (Stakater Reloader), so
a rotated credential, re-synced by external-secrets, reaches the pods that read it at start.

Only what asks is restarted: each consumer names its Secrets in `secret.reloader.stakater.com/reload` (the overlays
patch Kubeflow's Deployments; tests/test_rendered.py checks every reader of a Secret the program makes). The
`annotations` strategy marks the pod template with an annotation rather than an environment variable, a field
Pulumi's server-side apply does not own (stakater/Reloader@655a2b3, chart 2.2.16 values.yaml: reloadStrategy).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import namespaces
from components.cluster.cluster import Cluster
from components.component import Component
from components.helm import helm_release
from components.versions import RELOADER

NAMESPACE = namespaces.RELOADER
SECRET_ANNOTATION = "secret.reloader.stakater.com/reload"
CONFIG_MAP_ANNOTATION = "configmap.reloader.stakater.com/reload"


@dataclass
class ReloaderArgs:
    cluster: Cluster


class Reloader(Component):
    """`ready`: the release."""

    def __init__(self, name: str, args: ReloaderArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:reloader:Reloader", name, opts)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=NAMESPACE, labels=namespaces.RESTRICTED),
            opts=self.child(depends_on=[*args.cluster.ready, *self.waits_for]))
        release = helm_release(
            f"{name}-chart", parent=self, chart=RELOADER, namespace=NAMESPACE, create_namespace=False,
            values={"reloader": {
                "reloadStrategy": "annotations",
                "watchGlobally": True,
                # The chart sets the pod's context (non-root, seccomp); the container's completes restricted.
                "deployment": {"containerSecurityContext": {
                    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": True}},
            }},
            depends_on=[namespace, *self.waits_for])
        self.ready = [release]
        self.register_outputs({})
