"""The mesh and Kubeflow's platform layer: Istio from its charts, the front door, the login, the overlays."""

import json
import re
from pathlib import Path

import pytest
import yaml

from components import versions
from components.config import PROJECT, ConfigError
from components.mesh import upstream
from components.mesh.auth import CLIENT_ID
from components.mesh.front_door import TLS_SECRET
from offline.engine import ROOT, secret_value
from tests.conftest import COMPANY_IDP
from tests.fixtures import CLUSTER_OIDC_ISSUER, evaluate, stack_config

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
CUSTOM = "kubernetes:{}:{}"
OVERLAYS = sorted(p.parent for p in (ROOT / "components").rglob("kustomization.yaml"))
# What Kubeflow's manifests ship as credentials (rendered at the pin); none may reach a cluster.
UPSTREAM_DEFAULTS = ["pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok", "7d16fee92f8d11b8940b081b3f8b8acb",
                     "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72", "user@example.com"]


def _istio(result):
    """The Istio releases by chart."""
    return {r.inputs["chart"]: r for r in result.of_type(RELEASE) if r.inputs["repositoryOpts"]["repo"] ==
            versions.ISTIO_REPO and r.inputs["name"] != "cluster-local-gateway"}  # KServe's; tests/test_kubeflow.py


def _hostname(stack):
    return f"kubeflow.{stack_config(stack)[f'{PROJECT}:addons']['dns']['domain']}"


def _gateway_identity(release):
    """What the gateway chart names and labels, emulating its helpers (templates/_helpers.tpl at 1.30.1):
    gateway.name, gateway.selectorLabels, gateway.serviceAccountName; the namespace is the release's."""
    values = release.inputs["values"]
    name = values.get("name") or release.inputs["name"]
    labels = values.get("labels") or {}
    selector = {"app": labels.get("app", name), "istio": labels.get("istio", name.removeprefix("istio-"))}
    account = values["serviceAccount"].get("name") or name if values["serviceAccount"].get("create") else "default"
    return release.inputs["namespace"], name, selector, account


# ---- Istio --------------------------------------------------------------------------------------------

def test_one_istio_version_across_charts_and_images(each_stack):
    charts = _istio(each_stack)
    assert set(charts) == {"base", "istiod", "cni", "gateway"}
    for chart, release in charts.items():
        assert release.inputs["version"] == versions.ISTIO_VERSION, chart
        images = release.inputs["values"].get("global", {})
        if chart in ("istiod", "cni"):  # base has no images; the gateway's is injected by istiod ("image: auto")
            assert (images["hub"], images["tag"]) == (versions.ISTIO_HUB, versions.ISTIO_VERSION), chart
    assert versions.ISTIO_VERSION == "1.30.1"  # the version Kubeflow 26.03.1 installs


def test_istio_installs_in_order(each_stack):
    charts = _istio(each_stack)
    base, istiod, cni, gateway = (charts[c] for c in ("base", "istiod", "cni", "gateway"))
    namespace = each_stack.one("kubernetes:core/v1:Namespace", "istio-namespace")
    assert namespace.urn in base.dependencies
    assert base.urn in istiod.dependencies and base.urn in cni.dependencies
    controller = next(r for r in each_stack.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller")
    # the gateway: injected by a ready istiod, its pods need the CNI agent, and its NLB is the controller's
    assert {istiod.urn, cni.urn, controller.urn, namespace.urn} <= set(gateway.dependencies)


def test_istio_system_lets_the_gateway_be_injected(each_stack):
    labels = each_stack.one("kubernetes:core/v1:Namespace", "istio-namespace").inputs["metadata"]["labels"]
    assert labels.get("istio-injection") != "disabled"  # the gateway chart needs injection (image: auto)
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert _istio(each_stack)["gateway"].inputs["createNamespace"] is False


def test_istiod_is_configured_as_kubeflow_configures_its_istio(each_stack):
    values = _istio(each_stack)["istiod"].inputs["values"]
    assert values["pilot"]["cni"]["enabled"] is True
    assert values["pilot"]["env"] == {"ENABLE_NATIVE_SIDECARS": "true", "PILOT_JWT_PUB_KEY_REFRESH_INTERVAL": "1m",
                                      "ENABLE_DEBUG_ON_HTTP": "false"}
    assert values["global"]["proxy"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert values["seccompProfile"] == {"type": "RuntimeDefault"}
    mesh = values["meshConfig"]
    assert mesh["trustDomain"] == upstream.TRUST_DOMAIN
    cni = _istio(each_stack)["cni"]
    assert cni.inputs["namespace"] == "kube-system" and cni.inputs["values"]["chained"] is True


def test_the_ext_authz_provider_is_the_oauth2_proxy_service_kubeflow_ships(each_stack):
    [provider] = _istio(each_stack)["istiod"].inputs["values"]["meshConfig"]["extensionProviders"]
    service = next(o for o in upstream.RELIED_ON if o.kind == "Service" and o.name == upstream.OAUTH2_PROXY_SERVICE)
    custom = next(o for o in upstream.RELIED_ON if o.provider)
    assert provider["name"] == custom.provider
    assert provider["envoyExtAuthzHttp"]["service"] == f"{service.name}.{service.namespace}.svc.cluster.local"
    assert provider["envoyExtAuthzHttp"]["port"] == service.port


def test_the_gateway_has_exactly_the_identity_kubeflow_selects(each_stack):
    namespace, name, selector, account = _gateway_identity(_istio(each_stack)["gateway"])
    assert (namespace, name) == (upstream.GATEWAY_NAMESPACE, upstream.GATEWAY_NAME)
    principal = f"{upstream.TRUST_DOMAIN}/ns/{namespace}/sa/{account}"
    checked = 0
    for relied in upstream.RELIED_ON:
        if relied.selects:
            assert relied.selects.items() <= selector.items(), (relied.kind, relied.name)
            checked += 1
        if relied.principal:
            assert relied.principal == principal, (relied.kind, relied.name)
            checked += 1
    assert checked >= 9


# ---- the front door --------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant,scheme", [("prod", "internet-facing"), ("prod_variant", "internal")])
def test_the_gateway_is_an_nlb_with_ip_targets_and_its_dns_name(variant, scheme, request):
    result = request.getfixturevalue(variant)
    annotations = _istio(result)["gateway"].inputs["values"]["service"]["annotations"]
    lb = "service.beta.kubernetes.io/aws-load-balancer-"
    assert annotations[f"{lb}type"] == "external" and annotations[f"{lb}nlb-target-type"] == "ip"
    assert annotations[f"{lb}scheme"] == scheme
    assert annotations[f"{lb}healthcheck-path"] == "/healthz/ready"
    hostname = stack_config("prod")[f"{PROJECT}:mesh"].get("hostname") if variant == "prod" else \
        "kubeflow.internal.prod.ml.example.com"
    assert annotations["external-dns.alpha.kubernetes.io/hostname"] == (hostname or _hostname("prod"))


def test_one_hostname_across_dns_certificate_gateway_and_outputs(each_stack):
    hostname = _hostname(each_stack.stack)
    annotations = _istio(each_stack)["gateway"].inputs["values"]["service"]["annotations"]
    assert annotations["external-dns.alpha.kubernetes.io/hostname"] == hostname
    certificate = each_stack.one(CUSTOM.format("cert-manager.io/v1", "Certificate")).inputs
    assert certificate["spec"]["dnsNames"] == [hostname]
    assert certificate["metadata"]["namespace"] == upstream.GATEWAY_NAMESPACE  # where the gateway reads it
    assert certificate["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "letsencrypt"}
    assert each_stack.exports["kubeflow_url"] == f"https://{hostname}/"
    # the Kubeflow gateway serves HTTPS with exactly that Secret, and redirects HTTP
    servers = _overlay_patch("kubeflow/overlays/platform", "kubeflow-gateway-https.yaml")[1]["value"]
    https = next(s for s in servers if s["port"]["number"] == 443)
    assert https["tls"] == {"mode": "SIMPLE", "credentialName": TLS_SECRET} == \
        {"mode": "SIMPLE", "credentialName": certificate["spec"]["secretName"]}
    assert next(s for s in servers if s["port"]["number"] == 80)["tls"] == {"httpsRedirect": True}


def test_the_hostname_must_be_in_the_zone():
    def outside(c):
        c[f"{PROJECT}:mesh"]["hostname"] = "kubeflow.example.org"

    result = evaluate("dev", outside)
    assert isinstance(result.error, ConfigError) and result.resources == []
    assert "mlplatform:mesh.hostname: kubeflow.example.org is outside the zone addons.dns.domain" in str(result.error)


# ---- the login -------------------------------------------------------------------------------------------

def _secret(result, name, namespace):
    """A Kubernetes Secret's data: the provider sends it as a secret as a whole (fails if it was not)."""
    return secret_value(result.kubernetes_object(SECRET, name, namespace).inputs["stringData"])


def test_dex_gets_every_object_its_upstream_deployment_reads(each_stack):
    dex = next(o for o in upstream.RELIED_ON if o.kind == "Deployment" and o.name == "dex")
    for read in dex.reads:
        kind, name = read.split("/")
        assert each_stack.kubernetes_object(f"kubernetes:core/v1:{kind}", name, dex.namespace)
    dex_config = each_stack.kubernetes_object("kubernetes:core/v1:ConfigMap", "dex", "auth")
    config = yaml.safe_load(dex_config.inputs["data"]["config.yaml"])
    assert config["issuer"] == upstream.DEX_ISSUER  # what oauth2-proxy's config and the dex-jwt policy trust
    [admin] = config["staticPasswords"]
    assert admin["email"] == stack_config(each_stack.stack)[f"{PROJECT}:mesh"]["adminEmail"]
    passwords = _secret(each_stack, "dex-passwords", "auth")
    assert set(passwords) == {admin["hashFromEnv"]}
    assert passwords[admin["hashFromEnv"]].startswith("$2a$")  # only a bcrypt hash reaches Dex
    [client] = config["staticClients"]
    client_env = _secret(each_stack, "dex-oidc-client", "auth")
    assert client_env[client["idEnv"]] == CLIENT_ID
    assert "connectors" not in config


def test_oauth2_proxy_and_dex_share_a_generated_client_secret_and_a_cookie_secret(each_stack):
    dex = _secret(each_stack, "dex-oidc-client", "auth")
    proxy = _secret(each_stack, "oauth2-proxy-credentials", "oauth2-proxy")
    assert proxy["client-id"] == dex["OIDC_CLIENT_ID"] == CLIENT_ID
    assert proxy["client-secret"] == dex["OIDC_CLIENT_SECRET"] == "mock-auth-client-secret-xxxxxxxx"
    assert proxy["cookie-secret"] == "mock-auth-cookie-secret-xxxxxxxx"
    cookie = each_stack.one("random:index/randomPassword:RandomPassword", "auth-cookie-secret")
    assert cookie.inputs["length"] == 32  # oauth2-proxy takes 16, 24 or 32 bytes


def test_oauth2_proxy_reads_exactly_the_secrets_the_program_creates():
    env = _overlay_patch("mesh/overlays/auth", "oauth2-proxy-deployment.yaml")["spec"]["template"]["spec"][
        "containers"][0]["env"]
    referenced = {e["valueFrom"]["secretKeyRef"]["name"] for e in env if "valueFrom" in e}
    assert referenced == {"oauth2-proxy-credentials", "oauth2-proxy-redis"}
    values = {e["name"]: e.get("value") for e in env}
    assert values["OAUTH2_PROXY_SESSION_STORE_TYPE"] == "redis"


def test_sessions_go_to_this_stacks_cache_over_tls(each_stack):
    external = each_stack.kubernetes_object(CUSTOM.format("external-secrets.io/v1", "ExternalSecret"),
                                            "oauth2-proxy-redis", "oauth2-proxy").inputs["spec"]
    assert external["target"]["name"] == "oauth2-proxy-redis"
    cache_secret = each_stack.one("aws:secretsmanager/secret:Secret", "session-cache-secret").inputs["name"]
    assert {(d["secretKey"], d["remoteRef"]["key"], d["remoteRef"]["property"]) for d in external["data"]} == {
        ("url", cache_secret, "url"), ("password", cache_secret, "password")}
    stored = secret_value(each_stack.one("aws:secretsmanager/secretVersion:SecretVersion", "session-cache-secret")
                          .inputs["secretString"])
    assert json.loads(stored)["url"].startswith("rediss://master.mlplatform-")  # TLS, this stack's cache


def test_machine_tokens_are_trusted_from_this_clusters_issuer(each_stack):
    policy = each_stack.kubernetes_object(CUSTOM.format("security.istio.io/v1", "RequestAuthentication"),
                                          "m2m-token-issuer", "istio-system").inputs["spec"]
    [rule] = policy["jwtRules"]
    assert rule["issuer"] == CLUSTER_OIDC_ISSUER
    assert policy["selector"]["matchLabels"] == {"app": upstream.GATEWAY_LABELS["app"]}
    assert {(h["header"], h["claim"]) for h in rule["outputClaimToHeaders"]} == {
        ("kubeflow-userid", "sub"), ("kubeflow-groups", "groups")}


def test_a_company_identity_provider_signs_in_through_dex(dev_variant):
    dex_config = dev_variant.kubernetes_object("kubernetes:core/v1:ConfigMap", "dex", "auth")
    config = yaml.safe_load(dex_config.inputs["data"]["config.yaml"])
    [connector] = config["connectors"]
    assert connector["name"] == COMPANY_IDP["name"]
    assert connector["config"]["redirectURI"] == f"https://{_hostname('dev')}/dex/callback"
    env = _secret(dev_variant, "dex-oidc-client", "auth")
    for key in ("issuer", "clientID", "clientSecret"):  # Dex expands $VARs in connector config from its env
        assert connector["config"][key].startswith("$") and connector["config"][key][1:] in env
    assert env["COMPANY_IDP_CLIENT_SECRET"] == COMPANY_IDP["clientSecret"]
    assert not any(COMPANY_IDP["clientSecret"] in s for r in dev_variant.resources for s in r.plain_strings)


def test_the_first_admin_login_is_a_secret_output(each_stack):
    assert "kubeflow_admin" in each_stack.secret_exports
    admin = each_stack.exports["kubeflow_admin"]
    assert admin["email"] == stack_config(each_stack.stack)[f"{PROJECT}:mesh"]["adminEmail"]
    assert admin["password"].startswith("mock-auth-admin-password")


def test_no_upstream_default_credential_reaches_the_cluster(each_stack):
    everything = json.dumps([r.inputs for r in each_stack.resources])
    overlays = "".join(line for d in OVERLAYS for p in d.iterdir() if p.suffix == ".yaml"
                       for line in p.read_text().splitlines() if not line.lstrip().startswith("#"))
    for default in UPSTREAM_DEFAULTS:
        assert default not in everything and default not in overlays


# ---- the overlays ------------------------------------------------------------------------------------------

def _overlay_patch(overlay, name):
    return yaml.safe_load((ROOT / "components" / overlay / name).read_text())


def _remote(entry):
    return entry.startswith(("https://", "github.com"))


@pytest.mark.parametrize("directory", OVERLAYS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_overlay_references_upstream_at_the_one_pin_and_explains_its_patches(directory):
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    remotes = [r for r in kustomization.get("resources", []) if _remote(r)]
    assert remotes
    for ref in remotes:
        assert ref.startswith(f"{versions.KUBEFLOW_REPO}//") and ref.endswith(f"?ref={versions.KUBEFLOW_REF}"), ref
    for patch in kustomization.get("patches", []):
        text = (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
        assert "path" not in patch or text.startswith("#"), f"{patch['path']}: say why"
        # one object per delete patch: several in one file crash kustomize 5.5
        documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        assert sum(d.get("$patch") == "delete" for d in documents) <= 1
    source = (directory / "kustomization.yaml").read_text()
    assert source.count("\n# ") + source.count("\n  # ") >= len(kustomization.get("patches", []))


def test_every_overlay_is_applied_by_the_program(prod, dev):
    applied = {r.inputs["directory"] for r in prod.of_type("kubernetes:kustomize/v2:Directory")}
    assert applied == {str(d.relative_to(ROOT)) for d in OVERLAYS}  # prod runs every application
    skipped = applied - {r.inputs["directory"] for r in dev.of_type("kubernetes:kustomize/v2:Directory")}
    assert skipped == {"components/kubeflow/overlays/knative", "components/kubeflow/overlays/kserve"}  # dev: no KServe
    for each_stack in (prod, dev):
        for directory in each_stack.of_type("kubernetes:kustomize/v2:Directory"):
            k8s = each_stack.one("pulumi:providers:kubernetes")
            assert directory.providers["kubernetes"].startswith(k8s.urn)  # this cluster, never a default provider


def test_upstreams_istio_install_cert_manager_and_credentials_are_not_applied():
    text = "".join((d / "kustomization.yaml").read_text() for d in OVERLAYS)
    for path in ("common/istio/istio-crds", "common/istio/istio-namespace", "common/cert-manager",
                 "common/user-namespace"):
        assert path not in text
    platform = yaml.safe_load((ROOT / "components/kubeflow/overlays/platform/kustomization.yaml").read_text())
    deleted = [p["target"] for p in platform["patches"] if p["path"] == "delete.yaml"]
    kinds = "|".join(t["kind"] for t in deleted)
    for kind in ("Deployment", "DaemonSet", "ConfigMap", "ServiceAccount", "MutatingWebhookConfiguration",
                 "CustomResourceDefinition"):
        assert re.search(rf"\b{kind}\b", kinds), kind  # everything Istio's charts install
    auth = yaml.safe_load((ROOT / "components/mesh/overlays/auth/kustomization.yaml").read_text())
    deleted_auth = {yaml.safe_load((ROOT / "components/mesh/overlays/auth" / p["path"]).read_text())["metadata"][
        "name"] for p in auth["patches"] if "delete" in p["path"]}
    assert {"dex", "dex-passwords", "dex-oidc-client", "oauth2-proxy", "m2m-token-issuer"} <= deleted_auth


def test_the_platform_applies_after_istio(each_stack):
    platform = next(r for r in each_stack.of_type("kubernetes:kustomize/v2:Directory")
                    if r.inputs["directory"].endswith("platform"))
    charts = _istio(each_stack)
    assert {charts["base"].urn, charts["istiod"].urn} <= set(platform.dependencies)
    assert Path(ROOT / platform.inputs["directory"]).is_dir()
