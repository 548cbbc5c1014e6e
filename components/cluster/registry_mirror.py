"""RegistryMirror: an in-region mirror of ghcr.io (where Kubeflow's notebook images live), an ECR pull-through cache.

The first pull of an image makes ECR fetch it from ghcr.io (with the GitHub credentials in the secret the config
names) into a repository under this stack's prefix; every later pull, on any node, is served from the region, its
layers through the VPC's S3 gateway endpoint rather than the NAT gateway. Nodes pull with their own role (the
kubelet's ECR credential provider): no key anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.component import Component
from components.config.cluster import RegistryMirrorConfig
from components.kms import account_id

UPSTREAM = "ghcr.io"


def repository_prefix(cluster_name: str) -> str:
    """The rule's prefix: one per stack, as a registry has one rule per prefix (ECR allows 2-30 characters)."""
    return f"{cluster_name}/ghcr"


@dataclass
class RegistryMirrorArgs:
    config: RegistryMirrorConfig
    cluster_name: str
    region: str
    node_role_name: pulumi.Input[str]


class RegistryMirror(Component):
    registry: pulumi.Output[str]  # replaces "ghcr.io" in an image reference

    def __init__(self, name: str, args: RegistryMirrorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:registry_mirror:RegistryMirror", name, opts)
        prefix = repository_prefix(args.cluster_name)
        account = account_id(self)
        aws.ecr.PullThroughCacheRule(
            f"{name}-ghcr", ecr_repository_prefix=prefix, upstream_registry_url=UPSTREAM,
            credential_arn=args.config.ghcr_credential_arn, opts=self.child())
        aws.iam.RolePolicy(
            f"{name}-node-import", role=args.node_role_name,
            policy=iam.to_json(account.apply(lambda a: iam.pull_through_cache_import(args.region, a, prefix))),
            opts=self.child())
        self.registry = account.apply(lambda a: f"{a}.dkr.ecr.{args.region}.amazonaws.com/{prefix}")
        self.register_outputs({"registry": self.registry})
