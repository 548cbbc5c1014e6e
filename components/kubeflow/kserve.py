"""KServe: model serving as the pinned release ships it, in its default Knative mode: Knative Serving with net-istio
and the cluster-local gateway (overlays/knative; the gateway's workload is a second release of Istio's gateway
chart), then KServe's controllers and the models web app (overlays/kserve). A model pulls from S3 as the service
account its InferenceService names (default-editor reaches the team's prefix)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from components.cluster.cluster import Webhook
from components.component import Component
from components.helm import helm_release
from components.kubeflow.platform import Platform
from components.mesh.istio import RUNTIME_DEFAULT, Istio
from components.mesh.upstream import GATEWAY_NAMESPACE
from components.overlay import overlay
from components.versions import ISTIO_GATEWAY

OVERLAYS = Path(__file__).parent / "overlays"
# Knative's local gateway Service (knative-local-gateway) and the cluster-local-gateway Gateway select these
# labels (common/istio/cluster-local-gateway/base, common/knative/.../gateways at the pin).
LOCAL_GATEWAY = "cluster-local-gateway"
LOCAL_GATEWAY_LABELS = {"app": LOCAL_GATEWAY, "istio": LOCAL_GATEWAY}
# common/knative/knative-serving/base/upstream (serving-core.yaml, net-istio.yaml): WEBHOOK_PORT 8443; KServe
# v0.18.0 config/manager/manager.yaml: webhook-server 9443.
WEBHOOKS = (Webhook(8443, "Knative Serving webhooks"), Webhook(9443, "KServe webhooks"))


def local_gateway_values() -> dict[str, Any]:
    """Kubeflow's cluster-local gateway (istio profile-overlay.yaml): in-cluster only, SNI-DNAT router mode."""
    return {
        "name": LOCAL_GATEWAY,
        "labels": dict(LOCAL_GATEWAY_LABELS),
        "serviceAccount": {"create": True, "name": f"{LOCAL_GATEWAY}-service-account"},
        "service": {"type": "ClusterIP",
                    "ports": [{"name": "status-port", "port": 15020, "protocol": "TCP", "targetPort": 15020},
                              {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080}]},
        "env": {"ISTIO_META_ROUTER_MODE": "sni-dnat"},
        "securityContext": {"seccompProfile": RUNTIME_DEFAULT,
                            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
        "autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 5},
    }


@dataclass
class KServeArgs:
    platform: Platform
    istio: Istio


class KServe(Component):
    def __init__(self, name: str, args: KServeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:kserve:KServe", name, opts, renamed_from="mlplatform:serving:Serving")
        waits = [*args.platform.ready, *self.waits_for]
        gateway = helm_release(
            f"{name}-local-gateway", parent=self, chart=ISTIO_GATEWAY, release_name=LOCAL_GATEWAY,
            namespace=GATEWAY_NAMESPACE, create_namespace=False, values=local_gateway_values(),
            depends_on=[args.istio.namespace, *args.istio.ready, *waits])
        knative = overlay(f"{name}-knative", parent=self, path=OVERLAYS / "knative", depends_on=[gateway, *waits])
        self.ready = [overlay(f"{name}-kserve", parent=self, path=OVERLAYS / "kserve", depends_on=[knative])]
        self.register_outputs({})
