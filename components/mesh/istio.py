"""Istio: the mesh from Istio's own Helm charts (base, istiod, cni), configured as the pinned Kubeflow release
configures its own Istio install.

Kubeflow generates its Istio with istioctl (common/istio/profile.yaml + profile-overlay.yaml, then the
patches in istio-install/base and overlays/oauth2-proxy); each value below is that setting translated to the
charts' values (read from the charts at ISTIO_VERSION). The ingress gateway is the front door's
(front_door.py); Kubeflow's own Istio objects (deny-all, Sidecars) are the Kubeflow platform's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import namespaces
from components.cluster.cluster import Cluster, Webhook
from components.component import Component
from components.helm import helm_release
from components.mesh import upstream
from components.versions import ISTIO_BASE, ISTIO_CNI, ISTIO_HUB, ISTIO_VERSION, ISTIOD

NAMESPACE = namespaces.ISTIO
CNI_NAMESPACE = namespaces.KUBE_SYSTEM  # system-node-critical, as Kubeflow and the chart's README place it
RUNTIME_DEFAULT = {"type": "RuntimeDefault"}
# istiod's webhook port is fixed (its container's https-webhook port); the charts have no setting for it.
WEBHOOKS = (Webhook(15017, "istiod sidecar injection and validation webhooks"),)


def _images() -> dict[str, Any]:
    return {"hub": ISTIO_HUB, "tag": ISTIO_VERSION}


def mesh_config() -> dict[str, Any]:
    """Kubeflow's mesh config (ConfigMap istio-system/istio after its patches); the chart merges it over the
    mesh it generates (trust domain, root namespace, discovery address)."""
    return {
        "accessLogFile": "/dev/stdout",
        # One JSON object per request (Istio's default JSON fields), which Container Insights' Fluent Bit parses into
        # `log_processed`: the front door's error-rate alarm counts them (components/observability/alarms.py).
        "accessLogEncoding": "JSON",
        "enablePrometheusMerge": True,
        "trustDomain": upstream.TRUST_DOMAIN,
        "tcpKeepalive": {"time": "10s", "interval": "5s", "probes": 3},
        # The login: the ingress gateway's CUSTOM AuthorizationPolicy asks oauth2-proxy about each request.
        "extensionProviders": [{
            "name": upstream.EXT_AUTHZ_PROVIDER,
            "envoyExtAuthzHttp": {
                "service": f"{upstream.OAUTH2_PROXY_SERVICE}.{upstream.OAUTH2_PROXY_NAMESPACE}.svc.cluster.local",
                "port": upstream.OAUTH2_PROXY_PORT,
                "includeRequestHeadersInCheck": ["authorization", "cookie"],
                "headersToUpstreamOnAllow": ["authorization", "path", "x-auth-request-email",
                                             "x-auth-request-groups", "x-auth-request-user"],
                "headersToDownstreamOnDeny": ["content-type", "set-cookie"],
            },
        }],
    }


def istiod_values(replicas: int = 1) -> dict[str, Any]:
    """Kubeflow's istiod settings. Above one replica the chart adds a PodDisruptionBudget of minAvailable 1
    (istio@1.30.1 istio-discovery/templates/poddisruptionbudget.yaml, pdb.minAvailable in values.yaml), which lets
    a drain evict one pod at a time; at one replica it adds none, so nothing blocks a drain."""
    return {
        "global": {
            **_images(),
            # Sidecars (istio-proxy, istio-validation) pass the restricted Pod Security level Kubeflow's
            # namespaces enforce.
            "proxy": {"seccompProfile": RUNTIME_DEFAULT,
                      "resources": {"requests": {"cpu": "10m", "memory": "40Mi"},
                                    "limits": {"cpu": "2000m", "memory": "1024Mi"}}},
        },
        "pilot": {
            # With the CNI node agent, pods get the unprivileged istio-validation init container instead of
            # istio-init (NET_ADMIN), which the restricted level forbids.
            "cni": {"enabled": True},
            "env": {
                "ENABLE_NATIVE_SIDECARS": "true",          # sidecars as native sidecars (Jobs finish)
                "PILOT_JWT_PUB_KEY_REFRESH_INTERVAL": "1m",  # Dex key rotation reaches the gateway quickly
                "ENABLE_DEBUG_ON_HTTP": "false",             # no unauthenticated debug endpoints
            },
        },
        "seccompProfile": RUNTIME_DEFAULT,
        "resources": {"requests": {"cpu": "500m", "memory": "2048Mi"}},
        "autoscaleMin": replicas,
        "autoscaleMax": max(5, replicas),
        "meshConfig": mesh_config(),
    }


def cni_values() -> dict[str, Any]:
    # Chained onto the VPC CNI's conflist in its default directories (the chart's defaults are EKS's paths);
    # repair re-creates pods that started before the node agent was ready.
    return {
        "global": _images(),
        "cniBinDir": "/opt/cni/bin",
        "cniConfDir": "/etc/cni/net.d",
        "chained": True,
        "excludeNamespaces": [CNI_NAMESPACE],
        "repair": {"enabled": True, "repairPods": True, "deletePods": False, "labelPods": False},
    }


@dataclass
class IstioArgs:
    cluster: Cluster
    istiod_replicas: int = 1


class Istio(Component):
    """`ready`: istiod (its injection webhook answers) and the CNI node agent, which every meshed workload needs.
    Two narrower things to wait for, for callers that need less than a working mesh: `crds` (Istio's kinds exist:
    whatever only creates or watches Istio objects) and `namespace` (istio-system exists)."""
    namespace: k8s.core.v1.Namespace
    crds: pulumi.Resource

    def __init__(self, name: str, args: IstioArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:istio:Istio", name, opts)
        cluster = args.cluster
        waits = [*cluster.ready, *self.waits_for]
        # Created here rather than by a chart: the gateway chart must not find `istio-injection=disabled`
        # on it (Kubeflow's istio-namespace/base sets that label, so that object is not applied), and it
        # enforces the restricted Pod Security level as Kubeflow's does.
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAMESPACE, labels=namespaces.RESTRICTED),
            opts=self.child(depends_on=waits))
        self.crds = helm_release(
            f"{name}-base", parent=self, chart=ISTIO_BASE, release_name="istio-base", namespace=NAMESPACE,
            # CRDs and webhook configurations only: no images, and the defaults are Kubeflow's settings.
            create_namespace=False, values={}, depends_on=[self.namespace])
        cni = helm_release(
            f"{name}-cni", parent=self, chart=ISTIO_CNI, release_name="istio-cni", namespace=CNI_NAMESPACE,
            create_namespace=False, values=cni_values(), depends_on=[self.crds, *waits])
        # The release waits until istiod is ready, so its injection webhook answers before any workload that
        # should get a sidecar is created; workloads also wait for the CNI node agent (their istio-validation
        # init container needs it), while istiod itself, not injected, starts alongside it.
        istiod = helm_release(
            f"{name}-istiod", parent=self, chart=ISTIOD, release_name="istiod", namespace=NAMESPACE,
            create_namespace=False, values=istiod_values(args.istiod_replicas), depends_on=[self.crds, *waits])
        self.ready = [istiod, cni]
        self.register_outputs({})
