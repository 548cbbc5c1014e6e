"""mesh: the front door (hostname, load balancer) and the login (first admin, optional company identity provider)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.config import JsonDict

from components.config import environments
from components.config.addons import DOMAIN_PATTERN, EMAIL_PATTERN
from components.config.base import ConfigModel, text

HTTPS_URL_PATTERN = r"^https://[^\s/$.?#][^\s]*$"
SECRET: JsonDict = {"secret": True}  # set with `pulumi config set --secret --path ...`: encrypted in the stack file


class CompanyIdpConfig(ConfigModel):
    """An OpenID Connect provider (Okta, Entra ID, Google, Keycloak, ...) Dex offers as a login button. Register
    Dex there with the redirect URI https://<mesh.hostname>/dex/callback."""

    name: str = Field(min_length=1, max_length=64, description="the button's label, e.g. Example SSO")
    issuer: str = text(HTTPS_URL_PATTERN, "an https:// URL such as https://login.example.com",
                       "the provider's issuer URL (its /.well-known/openid-configuration lives under it)")
    client_id: str = Field(min_length=1, description="the client ID the provider issued for Dex")
    client_secret: str = Field(min_length=1, json_schema_extra=SECRET, description=(
        "that client's secret: `pulumi config set --secret --path mlplatform:mesh.companyIdp.clientSecret ...`"))


class MeshConfig(ConfigModel):
    ENVIRONMENT_DEFAULTS = environments.MESH_DEFAULTS
    DERIVED_DEFAULTS = {"hostname": "kubeflow.<addons.dns.domain>"}

    hostname: str | None = text(DOMAIN_PATTERN, "a DNS name such as kubeflow.ml.example.com",
                                "Kubeflow's hostname: its DNS record and certificate; inside addons.dns.domain",
                                default=None)
    load_balancer_scheme: Literal["internet-facing", "internal"] = Field(
        "internet-facing", description="the front door's network load balancer: reachable from the internet, or "
                                       "only from the VPC and networks routed to it")
    admin_email: str = text(EMAIL_PATTERN, "an email address", "the first Kubeflow admin's login; its password is "
                            "generated (stack output kubeflow_admin)")
    company_idp: CompanyIdpConfig | None = Field(None, description="optional: sign in with your company's OIDC "
                                                                   "provider as well")
    istiod_replicas: int = Field(ge=1, le=5, description="istiod's minimum replicas (it autoscales to 5); two or "
                                                         "more keep sidecar injection up while a node drains")
