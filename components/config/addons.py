"""addons: which optional cluster add-ons run, and the DNS zone and ACME account they need."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt

from components.config.base import ConfigModel, text

DOMAIN_PATTERN = r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
ZONE_ID_PATTERN = r"^Z[A-Z0-9]{4,32}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class DnsConfig(ConfigModel):
    domain: str = text(DOMAIN_PATTERN, "a DNS domain such as ml.example.com",
                       "the Route 53 public zone's domain that external-dns and cert-manager use")
    hosted_zone_id: str = text(ZONE_ID_PATTERN, "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ "
                               "(aws route53 list-hosted-zones)", "that zone's ID")


# What each FSx for Lustre deployment type offers per TiB (MB/s): the file system's throughput is this times its size
# (FSx for Lustre user guide, "Deployment options"). Both persistent types encrypt with a key of the stack's.
FSX_THROUGHPUT = {"PERSISTENT_1": (50, 100, 200), "PERSISTENT_2": (125, 250, 500, 1000)}
FSX_MINIMUM_GIB = 1200


class FsxConfig(ConfigModel):
    enabled: StrictBool = Field(False, description=(
        "the FSx for Lustre CSI driver and a StorageClass `fsx`: each claim makes a file system of at least 1.2 TiB "
        "(about $174 a month at PERSISTENT_2 and 125 MB/s/TiB; make plan prices it)"))
    deployment_type: Literal["PERSISTENT_1", "PERSISTENT_2"] = Field(
        "PERSISTENT_2", description="FSx for Lustre deployment type (both keep data on replicated storage and take the "
                                    "stack's volume key)")
    throughput_per_tib: StrictInt = Field(
        125, alias="throughputPerTiB", description="MB/s per TiB of storage: 125, 250, 500 or 1000 (PERSISTENT_2); "
                                                   "50, 100 or 200 (PERSISTENT_1)")
    s3_import_path: str | None = text(
        r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$", "an S3 URL such as s3://my-datasets/imagenet",
        "an S3 prefix each file system imports (lazily: files load on first read) and keeps in step with its "
        "changes; PERSISTENT_1 only (the driver links S3 that way)", default=None)

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        offered = FSX_THROUGHPUT[self.deployment_type]
        if self.throughput_per_tib not in offered:
            yield "throughputPerTiB", f"{self.deployment_type} offers {', '.join(map(str, offered))} MB/s per TiB, " \
                                      f"got {self.throughput_per_tib}"
        if self.s3_import_path and self.deployment_type != "PERSISTENT_1":
            yield "s3ImportPath", "the CSI driver links S3 through the import path, which FSx offers on PERSISTENT_1 " \
                                  "(PERSISTENT_2 uses data repository associations, which the driver does not make)"

    @property
    def bucket(self) -> str | None:
        return self.s3_import_path.removeprefix("s3://").split("/", 1)[0] if self.s3_import_path else None


class AddonsConfig(ConfigModel):
    """The load balancer controller, EBS storage, external-dns and cert-manager (the front door's DNS record and
    certificate), cluster-autoscaler, external-secrets (the data tier's credentials go through it) and the
    NVIDIA device plugin (when there is a GPU group) always run."""

    dns: DnsConfig = Field(description="the Route 53 public zone external-dns and cert-manager work in; Kubeflow's "
                                       "hostname is inside it")
    acme_email: str = text(EMAIL_PATTERN, "an email address", "Let's Encrypt account email (expiry notices go there)")
    efs: StrictBool = Field(True, description="EFS file system and its StorageClass (ReadWriteMany volumes)")
    fsx: FsxConfig = Field(default_factory=dict,  # type: ignore[assignment]
                           description="FSx for Lustre for training data (off unless asked)")

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        for key, message in self.fsx.rules(context):
            yield f"fsx.{key}", message
