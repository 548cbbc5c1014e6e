"""Platform: what every Kubeflow application and team needs, from the pinned release:

- overlays/platform: Kubeflow's namespaces, roles, the Gateway every app routes through (HTTPS, HTTP redirected)
  and the Istio policies of Kubeflow's own Istio install (mesh-wide deny by default, the gateway's allow policy,
  the Sidecars that limit egress);
- overlays/dashboard: the central dashboard, the profile controller (teams' profiles) and the PodDefaults
  admission webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.cluster.cluster import Webhook
from components.component import Component
from components.mesh.auth import Auth
from components.mesh.istio import Istio
from components.overlay import overlay

OVERLAYS = Path(__file__).parent / "overlays"
# applications/dashboard/upstream/poddefaults-webhooks/base/deployment.yaml: containerPort 4443.
WEBHOOKS = (Webhook(4443, "Kubeflow PodDefaults webhook"),)


@dataclass
class PlatformArgs:
    istio: Istio
    auth: Auth  # the dashboard is reached through the login


class Platform(Component):
    """`ready`: namespaces, gateway, profiles and webhooks exist; applications and teams follow."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:platform:Platform", name, opts,
                         renamed_from="mlplatform:platform:KubeflowPlatform")
        # Istio's CRDs for the Gateway, policies and Sidecars; istiod, so the namespaces' pods get sidecars.
        platform = overlay(f"{name}-platform", parent=self, path=OVERLAYS / "platform",
                           depends_on=[args.istio.crds, *args.istio.ready, *self.waits_for])
        dashboard = overlay(f"{name}-dashboard", parent=self, path=OVERLAYS / "dashboard",
                            depends_on=[platform, *args.auth.ready])
        self.ready = [platform, dashboard]
        self.register_outputs({})
