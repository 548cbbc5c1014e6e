"""Auth: Kubeflow's login. Dex (the identity provider Kubeflow's apps trust) and oauth2-proxy (which the
ingress gateway asks about every request without a token), from the pinned release with our overlay
(overlays/auth), plus what only this program knows:

- the first admin, a Dex static user whose password is generated here (Dex gets only its bcrypt hash);
- the Dex client secret oauth2-proxy authenticates with, and oauth2-proxy's cookie secret, generated;
- an optional company OpenID Connect provider as a second way to sign in;
- sessions in the stack's Valkey cache (rediss:// URL and AUTH token from Secrets Manager, via external-secrets);
- the machine-to-machine token issuer: this cluster's OIDC issuer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from components import namespaces
from components.addons.external_secrets import ExternalSecrets
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import MeshConfig
from components.data.session_cache import SessionCache
from components.mesh import upstream
from components.mesh.istio import Istio
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "auth"
CLIENT_ID = "kubeflow-oidc-authservice"   # upstream's client ID (not a secret); Dex and oauth2-proxy share it
ADMIN_USERNAME = "admin"
# Names the upstream Dex Deployment reads (kept: our overlay deletes upstream's objects of these names).
DEX_CONFIG = "dex"                 # ConfigMap, key config.yaml
DEX_PASSWORDS = "dex-passwords"    # Secret: the admin's bcrypt hash
DEX_CLIENT = "dex-oidc-client"     # Secret: the oauth2-proxy client, and the company provider's client
# Names our overlay points oauth2-proxy at.
OAUTH2_PROXY_CREDENTIALS = "oauth2-proxy-credentials"
OAUTH2_PROXY_REDIS = "oauth2-proxy-redis"


def dex_config(admin_email: str, hostname: str, company_idp_name: str | None) -> dict[str, Any]:
    """Dex's config.yaml. Secrets are not in it: Dex reads them from its environment (`*Env` keys, `$VAR`)."""
    config: dict[str, Any] = {
        # In-cluster issuer, as upstream: oauth2-proxy and the gateway's RequestAuthentication trust it.
        "issuer": upstream.DEX_ISSUER,
        "storage": {"type": "kubernetes", "config": {"inCluster": True}},
        "web": {"http": f"0.0.0.0:{upstream.DEX_PORT}"},
        "logger": {"level": "info", "format": "json"},
        "oauth2": {"skipApprovalScreen": True},
        "enablePasswordDB": True,
        "staticPasswords": [{
            "email": admin_email, "username": ADMIN_USERNAME, "hashFromEnv": "DEX_USER_PASSWORD",
            # Stable across runs: Dex keys refresh tokens by it.
            "userID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{admin_email}")),
        }],
        "staticClients": [{"idEnv": "OIDC_CLIENT_ID", "secretEnv": "OIDC_CLIENT_SECRET", "name": "Kubeflow",
                           "redirectURIs": ["/oauth2/callback"]}],
    }
    if company_idp_name:
        config["connectors"] = [{
            "type": "oidc", "id": "company", "name": company_idp_name,
            "config": {
                "issuer": "$COMPANY_IDP_ISSUER",
                "clientID": "$COMPANY_IDP_CLIENT_ID",
                "clientSecret": "$COMPANY_IDP_CLIENT_SECRET",
                "redirectURI": f"https://{hostname}/dex/callback",
                "scopes": ["openid", "profile", "email"],
                # Kubeflow names a user by email (kubeflow-userid); profiles' owners are emails.
                "userNameKey": "email",
            },
        }]
    return config


@dataclass
class AuthArgs:
    cluster: Cluster
    istio: Istio
    config: MeshConfig        # hostname resolved by config validation
    secrets: ExternalSecrets
    sessions: SessionCache    # its Secrets Manager secret holds the cache's URL and token


class Auth(Component):
    """`ready`: the login (Dex and oauth2-proxy), through which the dashboard is reached."""
    admin_email: str
    admin_password: pulumi.Output[str]   # a secret

    def __init__(self, name: str, args: AuthArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:auth:Auth", name, opts)
        cfg, idp = args.config, args.config.company_idp
        assert cfg.hostname, "config validation resolves the hostname"
        waits = [*args.cluster.ready, *self.waits_for]
        child = self.child()

        created = {ns: k8s.core.v1.Namespace(
            f"{name}-{ns}", metadata=k8s.meta.v1.ObjectMetaArgs(name=ns, labels=namespaces.RESTRICTED),
            opts=self.child(depends_on=waits))
            for ns in (upstream.DEX_NAMESPACE, upstream.OAUTH2_PROXY_NAMESPACE)}
        dex_ns = self.child(depends_on=[created[upstream.DEX_NAMESPACE]])
        proxy_ns = self.child(depends_on=[created[upstream.OAUTH2_PROXY_NAMESPACE]])

        admin_password = random.RandomPassword(f"{name}-admin-password", length=24, special=False, opts=child)
        client_secret = random.RandomPassword(f"{name}-client-secret", length=48, special=False, opts=child)
        # oauth2-proxy takes a 16, 24 or 32 byte cookie secret.
        cookie_secret = random.RandomPassword(f"{name}-cookie-secret", length=32, special=False, opts=child)

        objects = [
            k8s.core.v1.ConfigMap(
                f"{name}-dex-config", metadata=_meta(DEX_CONFIG, upstream.DEX_NAMESPACE),
                data={"config.yaml": yaml.safe_dump(dex_config(cfg.admin_email, cfg.hostname,
                                                               idp.name if idp else None), sort_keys=False)},
                opts=dex_ns),
            k8s.core.v1.Secret(
                f"{name}-dex-passwords", metadata=_meta(DEX_PASSWORDS, upstream.DEX_NAMESPACE),
                string_data={"DEX_USER_PASSWORD": admin_password.bcrypt_hash}, opts=dex_ns),
            k8s.core.v1.Secret(
                f"{name}-dex-client", metadata=_meta(DEX_CLIENT, upstream.DEX_NAMESPACE),
                string_data={"OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": client_secret.result,
                             **({"COMPANY_IDP_ISSUER": idp.issuer, "COMPANY_IDP_CLIENT_ID": idp.client_id,
                                 "COMPANY_IDP_CLIENT_SECRET": pulumi.Output.secret(idp.client_secret)} if idp else {})},
                opts=dex_ns),
            k8s.core.v1.Secret(
                f"{name}-oauth2-proxy-credentials", metadata=_meta(OAUTH2_PROXY_CREDENTIALS,
                                                                   upstream.OAUTH2_PROXY_NAMESPACE),
                string_data={"client-id": CLIENT_ID, "client-secret": client_secret.result,
                             "cookie-secret": cookie_secret.result}, opts=proxy_ns),
            args.secrets.sync(
                f"{name}-oauth2-proxy-redis", parent=self, name=OAUTH2_PROXY_REDIS,
                namespace=upstream.OAUTH2_PROXY_NAMESPACE, remote_key=args.sessions.secret_name,
                keys={"url": "url", "password": "password"}, rotation=args.sessions.credentials_version,
                depends_on=[created[upstream.OAUTH2_PROXY_NAMESPACE], *args.sessions.ready]),
            # Machine clients (pipelines SDK, CI) present a service-account token of this cluster.
            k8s.apiextensions.CustomResource(
                f"{name}-m2m-token-issuer",
                api_version="security.istio.io/v1", kind="RequestAuthentication",
                metadata=_meta("m2m-token-issuer", upstream.GATEWAY_NAMESPACE),
                spec={
                    "selector": {"matchLabels": {"app": upstream.GATEWAY_LABELS["app"]}},
                    "jwtRules": [{
                        "issuer": args.cluster.oidc_issuer,
                        "forwardOriginalToken": True,
                        "outputClaimToHeaders": [{"header": "kubeflow-userid", "claim": "sub"},
                                                 {"header": "kubeflow-groups", "claim": "groups"}],
                        "fromHeaders": [{"name": "Authorization", "prefix": "Bearer "}],
                    }],
                },
                opts=self.child(depends_on=[args.istio.crds, args.istio.namespace])),
        ]
        # Dex and oauth2-proxy wait for everything they read, and for istiod (their routes and policies are
        # Istio objects). The provider renders the overlay, fetching upstream at the pin.
        login = overlay(f"{name}-login", parent=self, path=OVERLAY, depends_on=[*objects, *args.istio.ready])

        self.admin_email = cfg.admin_email
        self.admin_password = pulumi.Output.secret(admin_password.result)
        self.ready = [login]
        self.register_outputs({"admin_email": self.admin_email})


def _meta(name: str, namespace: str) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace)
