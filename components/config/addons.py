"""addons: which optional cluster add-ons run, and the DNS zone and ACME account they need."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

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
    """The load balancer controller, EBS storage, cluster-autoscaler, external-secrets (the data tier's
    credentials go through it) and the NVIDIA device plugin (when there is a GPU group) always run."""

    dns: DnsConfig | None = Field(None, description="the Route 53 public zone; required while externalDns or "
                                                    "certManager is on")
    acme_email: str | None = text(EMAIL_PATTERN, "an email address", "Let's Encrypt account email; required while "
                                  "certManager is on (expiry notices go there)", default=None)
    external_dns: StrictBool = Field(True, description="publish DNS records in the zone")
    cert_manager: StrictBool = Field(True, description="certificates from Let's Encrypt (DNS-01 in the zone)")
    efs: StrictBool = Field(True, description="EFS file system and its StorageClass (ReadWriteMany volumes)")

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        for key, what in (("externalDns", "DNS records"), ("certManager", "DNS-01 certificates")):
            if getattr(self, "external_dns" if key == "externalDns" else "cert_manager") and self.dns is None:
                yield "dns", f"is required while addons.{key} is on ({what} go into that zone); set domain and " \
                             f"hostedZoneId, or set addons.{key}: false"
        if self.cert_manager and not self.acme_email:
            yield "acmeEmail", "is required while addons.certManager is on: Let's Encrypt sends expiry notices there"
