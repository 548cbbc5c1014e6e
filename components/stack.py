"""StackContext: what every component needs to know about the stack it belongs to, built once from config."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import PROJECT, StackConfig


@dataclass(frozen=True)
class StackContext:
    stack: str
    environment: str
    region: str
    # The configured cluster name, known before anything exists: it prefixes what AWS wants unique (buckets, secrets,
    # key aliases, database identifiers), so data services need not wait for the control plane to be named.
    name_prefix: str
    # The one notion of production (components/config/environments.py): stateful resources protected from deletion
    # and replacement and kept through a destroy, backups and final snapshots, trusted certificates, DNS records
    # never deleted; and the `production` tag the policy pack reads.
    production: bool
    tags: Mapping[str, str]           # on every AWS resource, through the provider
    aws: pulumi.ProviderResource
    kubernetes: pulumi.ProviderResource | None = None  # once the cluster exists

    @classmethod
    def create(cls, cfg: StackConfig) -> StackContext:
        tags = {**cfg.tags, "project": PROJECT, "environment": cfg.environment,
                "production": "true" if cfg.production else "false", "pulumi-stack": cfg.stack,
                "managed-by": "pulumi"}
        # Every AWS resource goes through this provider, so the common tags reach all of them.
        provider = aws.Provider("aws", region=cfg.region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))
        return cls(stack=cfg.stack, environment=cfg.environment, region=cfg.region, name_prefix=cfg.cluster.name,
                   production=cfg.production, tags=tags, aws=provider)

    def with_kubernetes(self, provider: pulumi.ProviderResource) -> StackContext:
        return dataclasses.replace(self, kubernetes=provider)

    def on_aws(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        """Options for a component that creates AWS resources only."""
        return pulumi.ResourceOptions(providers=[self.aws], depends_on=list(depends_on))

    def on_cluster(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        """Options for a component that creates AWS and Kubernetes resources (its Kubernetes ones on this cluster)."""
        assert self.kubernetes is not None, "the cluster's provider: StackContext.with_kubernetes"
        return pulumi.ResourceOptions(providers=[self.aws, self.kubernetes], depends_on=list(depends_on))

    def regional(self, service: str) -> str:
        """The regional endpoint of an AWS service, e.g. secretsmanager.<region>.amazonaws.com (kms:ViaService)."""
        return f"{service}.{self.region}.amazonaws.com"
