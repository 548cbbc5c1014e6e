"""What the pinned Kubeflow release expects of the mesh: the names, labels, selectors and ports its manifests
hard-code, so that the Helm-installed Istio and the program's own objects match them.

Read at kubeflow/community-distribution@KUBEFLOW_REF (components/versions.py) by rendering each path with
`kubectl kustomize` (kustomize v5.5.0). A mismatch breaks silently: every AuthorizationPolicy naming the gateway's
principal denies, every policy or Gateway selecting its labels selects nothing. tests/test_mesh.py checks the
program against RELIED_ON.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components import namespaces

# The ingress gateway's identity (common/istio/istio-install/base: Deployment/Service/ServiceAccount).
GATEWAY_NAMESPACE = namespaces.ISTIO
GATEWAY_NAME = "istio-ingressgateway"
GATEWAY_LABELS = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
GATEWAY_SERVICE_ACCOUNT = "istio-ingressgateway-service-account"
GATEWAY_PRINCIPAL = f"cluster.local/ns/{GATEWAY_NAMESPACE}/sa/{GATEWAY_SERVICE_ACCOUNT}"
TRUST_DOMAIN = "cluster.local"  # the principals above assume it

# The Gateway every Kubeflow VirtualService binds to.
KUBEFLOW_NAMESPACE = namespaces.KUBEFLOW
KUBEFLOW_GATEWAY = "kubeflow-gateway"

# Login: oauth2-proxy (the mesh's ext-authz provider) and Dex.
OAUTH2_PROXY_NAMESPACE = namespaces.OAUTH2_PROXY
OAUTH2_PROXY_SERVICE = "oauth2-proxy"
OAUTH2_PROXY_PORT = 80
DEX_NAMESPACE = namespaces.DEX
DEX_SERVICE = "dex"
DEX_PORT = 5556
DEX_ISSUER = f"http://{DEX_SERVICE}.{DEX_NAMESPACE}.svc.cluster.local:{DEX_PORT}/dex"
EXT_AUTHZ_PROVIDER = "oauth2-proxy"  # the AuthorizationPolicy's CUSTOM provider name


@dataclass(frozen=True)
class UpstreamObject:
    kind: str
    namespace: str
    name: str
    path: str                       # in kubeflow/community-distribution
    selects: dict[str, str] = field(default_factory=dict)  # workload labels it selects
    principal: str | None = None    # a principal it allows
    provider: str | None = None     # a CUSTOM authorization provider it calls
    port: int | None = None         # a Service port it exposes
    issuer: str | None = None       # a JWT issuer it trusts
    reads: tuple[str, ...] = ()     # "<Kind>/<name>" objects in its namespace it mounts or takes env from


_ISTIO = "common/istio/istio-install/overlays/oauth2-proxy"
_OAUTH2 = "common/oauth2-proxy/overlays/m2m-dex-and-eks"
RELIED_ON = (
    UpstreamObject("Gateway", KUBEFLOW_NAMESPACE, KUBEFLOW_GATEWAY, "common/istio/kubeflow-istio-resources/base",
                   selects={"istio": "ingressgateway"}),
    UpstreamObject("AuthorizationPolicy", GATEWAY_NAMESPACE, "istio-ingressgateway", _ISTIO, selects=GATEWAY_LABELS),
    UpstreamObject("AuthorizationPolicy", GATEWAY_NAMESPACE, "istio-ingressgateway-oauth2-proxy", _OAUTH2,
                   selects={"app": "istio-ingressgateway"}, provider=EXT_AUTHZ_PROVIDER),
    UpstreamObject("AuthorizationPolicy", GATEWAY_NAMESPACE, "istio-ingressgateway-require-jwt", _OAUTH2,
                   selects={"app": "istio-ingressgateway"}),
    UpstreamObject("RequestAuthentication", GATEWAY_NAMESPACE, "dex-jwt", _OAUTH2,
                   selects={"app": "istio-ingressgateway"}, issuer=DEX_ISSUER),
    UpstreamObject("RequestAuthentication", GATEWAY_NAMESPACE, "m2m-token-issuer", _OAUTH2,
                   selects={"app": "istio-ingressgateway"}),
    UpstreamObject("NetworkPolicy", OAUTH2_PROXY_NAMESPACE, "allow-istio-ingressgateway", _OAUTH2,
                   selects={"app": "istio-ingressgateway"}),
    UpstreamObject("NetworkPolicy", DEX_NAMESPACE, "allow-istio-and-oauth2-proxy", "common/dex/overlays/oauth2-proxy",
                   selects={"app": "istio-ingressgateway"}),
    UpstreamObject("Service", OAUTH2_PROXY_NAMESPACE, OAUTH2_PROXY_SERVICE, _OAUTH2, port=OAUTH2_PROXY_PORT),
    UpstreamObject("Service", DEX_NAMESPACE, DEX_SERVICE, "common/dex/overlays/oauth2-proxy", port=DEX_PORT),
    # Dex's Deployment: config.yaml from ConfigMap dex, its environment from two Secrets (common/dex/base).
    UpstreamObject("Deployment", DEX_NAMESPACE, "dex", "common/dex/overlays/oauth2-proxy",
                   reads=("ConfigMap/dex", "Secret/dex-oidc-client", "Secret/dex-passwords")),
    # The gateway's principal, hard-coded by the applications' AuthorizationPolicies (and the profile
    # controller's ISTIO_INGRESS_GATEWAY_PRINCIPAL), e.g.:
    UpstreamObject("AuthorizationPolicy", KUBEFLOW_NAMESPACE, "dashboard",
                   "applications/dashboard/upstream/centraldashboard/components/istio/authorizationpolicy.yaml",
                   principal=GATEWAY_PRINCIPAL),
    UpstreamObject("AuthorizationPolicy", KUBEFLOW_NAMESPACE, "ml-pipeline-ui",
                   "applications/pipeline/upstream/base/installs/multi-user/istio-authorization-config.yaml",
                   principal=GATEWAY_PRINCIPAL),
)
