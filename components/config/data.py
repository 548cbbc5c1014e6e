"""data: RDS MySQL (database), the artifact bucket (artifactStore), the login sessions' cache (sessionCache) and the
private package index (packageIndex)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictInt, field_validator

from components.config import environments
from components.config.base import ConfigModel, repeated, text
from components.config.cluster import RoleArn
from components.config.network import RetentionDays


class DatabaseConfig(ConfigModel):
    ENVIRONMENT_DEFAULTS = environments.DATABASE_DEFAULTS
    DERIVED_DEFAULTS = {"maxAllocatedStorageGiB": "5 x allocatedStorageGiB"}

    instance_class: str = text(r"^db\.[a-z0-9]+\.[a-z0-9]+$", "an RDS instance class such as db.m7g.large",
                               "RDS instance class")
    allocated_storage_gib: StrictInt = Field(alias="allocatedStorageGiB", ge=20, le=65536,
                                             description="storage at creation (GiB)")
    max_allocated_storage_gib: StrictInt = Field(alias="maxAllocatedStorageGiB", ge=20, le=65536,
                                                 description="storage autoscaling ceiling (GiB)")
    backup_retention_days: StrictInt = Field(ge=1, le=35, description="days of automated backups (point-in-time "
                                                                       "restore window); prod at least 14")
    multi_az: StrictBool = Field(description="a standby in a second AZ; prod: true")
    require_tls: StrictBool = Field(False, json_schema_extra={"const": False}, description=(
        "require TLS from every client: refused until every Kubeflow client can do TLS (docs/data.md); traffic stays "
        "inside the VPC, from the nodes only"))
    log_retention_days: RetentionDays = Field(
        description="retention of the error and slow-query logs RDS exports")
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = Field(
        description="enhanced monitoring: OS metrics every this many seconds")
    credentials_version: StrictInt = Field(1, ge=1, description=(
        "raise by one to rotate the Kubeflow users' passwords: new ones in Secrets Manager, set on the users by the "
        "bootstrap Job, the Kubernetes Secrets re-synced at once and their readers restarted (docs/data.md)"))

    @field_validator("require_tls")
    @classmethod
    def _every_client_can_do_tls(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "cannot be true yet: Katib v0.19.0 cannot reach MySQL over TLS (katib-db-manager builds a fixed "
                "connection string with no TLS setting, pkg/db/v1beta1/mysql/mysql.go) and ML Metadata takes TLS only "
                "from a config file Kubeflow's manifests do not use; with it on they could not connect. Leave it "
                "false: the database admits only the cluster's nodes, inside the VPC")
        return value

    @classmethod
    def derived_defaults(cls, data: dict[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
        if "maxAllocatedStorageGiB" not in data and isinstance(data.get("allocatedStorageGiB"), int):
            data["maxAllocatedStorageGiB"] = data["allocatedStorageGiB"] * 5
        return data

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            yield "maxAllocatedStorageGiB", f"must be at least allocatedStorageGiB ({self.allocated_storage_gib}) so " \
                                            f"storage can grow, got {self.max_allocated_storage_gib}"


class SessionCacheConfig(ConfigModel):
    ENVIRONMENT_DEFAULTS = environments.SESSION_CACHE_DEFAULTS

    node_type: str = text(r"^cache\.[a-z0-9]+\.[a-z0-9]+$", "an ElastiCache node type such as cache.t4g.small",
                          "ElastiCache node type")
    nodes: StrictInt = Field(ge=1, le=6, description="nodes: a primary and replicas in other AZs; prod 2 or more")
    credentials_version: StrictInt = Field(1, ge=1, description=(
        "raise by one to rotate the cache's AUTH token: a new one in Secrets Manager and on the cache (the previous "
        "stays valid until the next rotation), re-synced at once and oauth2-proxy restarted (docs/data.md)"))


class ArtifactStoreConfig(ConfigModel):
    ENVIRONMENT_DEFAULTS = environments.ARTIFACT_STORE_DEFAULTS

    noncurrent_version_days: StrictInt = Field(ge=1, le=3650, description="how long overwritten artifact versions "
                                                                          "are kept")


class PackageIndexConfig(ConfigModel):
    enabled: StrictBool = Field(True, description="a private Python package index on AWS CodeArtifact that also "
                                                  "serves public PyPI; teams install from it with their own role")
    publisher_role_arns: tuple[RoleArn, ...] = Field(
        (), json_schema_extra={"uniqueItems": True},
        description="roles that may publish packages (a CI's role, for instance); each also needs "
                    "sts:GetServiceBearerToken in its own policy (docs/data.md, the package index)")

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        for arn in repeated(list(self.publisher_role_arns)):
            yield "publisherRoleArns", f"{arn} is listed twice"
        if self.publisher_role_arns and not self.enabled:
            yield "publisherRoleArns", "publishers are set but the package index is off (enabled: false)"


class DataConfig(ConfigModel):
    # Empty maps by default, validated (validate_default) so each takes its environment's defaults.
    database: DatabaseConfig = Field(default_factory=dict, description="RDS for MySQL")  # type: ignore[assignment]
    artifact_store: ArtifactStoreConfig = Field(default_factory=dict,  # type: ignore[assignment]
                                                description="the S3 bucket Kubeflow keeps its artifacts in")
    session_cache: SessionCacheConfig = Field(default_factory=dict,  # type: ignore[assignment]
                                              description="ElastiCache (Valkey), where the login keeps its sessions")
    package_index: PackageIndexConfig = Field(default_factory=dict,  # type: ignore[assignment]
                                              description="the private Python package index (AWS CodeArtifact)")

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        for key, field in type(self).model_fields.items():
            for sub, message in getattr(self, key).rules(context):
                yield f"{field.alias}.{sub}" if sub else str(field.alias), message
