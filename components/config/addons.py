"""addons: which optional cluster add-ons run, and the DNS zone and ACME account they need."""

from __future__ import annotations

from pydantic import Field, StrictBool

from components.config.base import ConfigModel, text

DOMAIN_PATTERN = r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
ZONE_ID_PATTERN = r"^Z[A-Z0-9]{4,32}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class DnsConfig(ConfigModel):
    domain: str = text(DOMAIN_PATTERN, "a DNS domain such as ml.example.com",
                       "the Route 53 public zone's domain that external-dns and cert-manager use")
    hosted_zone_id: str = text(ZONE_ID_PATTERN, "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ "
                               "(aws route53 list-hosted-zones)", "that zone's ID")


class AddonsConfig(ConfigModel):
    """The load balancer controller, EBS storage, external-dns and cert-manager (the front door's DNS record and
    certificate), cluster-autoscaler, external-secrets (the data tier's credentials go through it) and the
    NVIDIA device plugin (when there is a GPU group) always run."""

    dns: DnsConfig = Field(description="the Route 53 public zone external-dns and cert-manager work in; Kubeflow's "
                                       "hostname is inside it")
    acme_email: str = text(EMAIL_PATTERN, "an email address", "Let's Encrypt account email (expiry notices go there)")
    efs: StrictBool = Field(True, description="EFS file system and its StorageClass (ReadWriteMany volumes)")
