"""KubeflowPlatform: Kubeflow's namespaces, roles, the Gateway every app routes through (HTTPS, HTTP
redirected) and the Istio policies of Kubeflow's own Istio install: mesh-wide deny by default, the gateway's
allow policy, and the Sidecars that limit egress. From the pinned release with our overlay
(overlays/platform)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.mesh.istio import Istio
from components.options import dependencies
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "platform"


@dataclass
class KubeflowPlatformArgs:
    istio: Istio


class KubeflowPlatform(pulumi.ComponentResource):
    ready: list[pulumi.Resource]  # the namespaces and the gateway exist: applications may follow

    def __init__(self, name: str, args: KubeflowPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:platform:KubeflowPlatform", name, None, opts)
        # Istio's CRDs for the Gateway, policies and Sidecars; istiod, so the namespaces' pods get sidecars.
        self.ready = [overlay(f"{name}-platform", parent=self, path=OVERLAY,
                              depends_on=[args.istio.crds, *args.istio.ready, *dependencies(opts)])]
        self.register_outputs({})
