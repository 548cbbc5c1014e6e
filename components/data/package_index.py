"""PackageIndex: the platform's private Python package index, on AWS CodeArtifact.

A domain named after the cluster, encrypted with the artifacts key, holds two repositories, CodeArtifact's
recommended layout (user guide, "Connect a CodeArtifact repository to a public repository"): `pypi-store`, connected to
public PyPI, and `python`, which has it as its upstream. One index URL (`python`'s) serves the teams' own packages
and public ones, cached in the region. Nobody holds a key: teams read with their namespace's Pod Identity role
(team.py, through a pip keyring that asks CodeArtifact for a token with it), publishers named in config publish with
their own role.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.component import Component
from components.config import PackageIndexConfig
from components.kms import account_id
from components.stack import StackContext

REPOSITORY = "python"
PUBLIC_STORE = "pypi-store"
PUBLIC_PYPI = "public:pypi"


def index_url(domain: str, owner: str, region: str) -> str:
    """pip's index URL of the repository (CodeArtifact user guide, "Configure and use pip with CodeArtifact"); the
    user name is always `aws`, the password a token."""
    return f"https://aws@{domain}-{owner}.d.codeartifact.{region}.amazonaws.com/pypi/{REPOSITORY}/simple/"


@dataclass
class PackageIndexArgs:
    stack: StackContext  # the name prefix names the domain; production keeps it and its packages
    config: PackageIndexConfig
    key_arn: pulumi.Input[str]  # the artifacts key, whose policy lets CodeArtifact use it


class PackageIndex(Component):
    domain: str
    domain_owner: pulumi.Output[str]
    repository: str
    index_url: pulumi.Output[str]

    def __init__(self, name: str, args: PackageIndexArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:package_index:PackageIndex", name, opts)
        stack = args.stack
        owner = account_id(self)
        # What teams publish lives only here: production protects it from deletion and replacement.
        kept = self.child(protect=stack.production, retain_on_delete=stack.production)
        domain = aws.codeartifact.Domain(f"{name}-domain", domain=stack.name_prefix, encryption_key=args.key_arn,
                                         opts=kept)
        store = aws.codeartifact.Repository(
            f"{name}-{PUBLIC_STORE}", domain=domain.domain, repository=PUBLIC_STORE,
            description="Public PyPI, cached in the region", opts=kept,
            external_connections=aws.codeartifact.RepositoryExternalConnectionsArgs(
                external_connection_name=PUBLIC_PYPI))
        repository = aws.codeartifact.Repository(
            f"{name}-{REPOSITORY}", domain=domain.domain, repository=REPOSITORY,
            description="The platform's packages, and public PyPI's through pypi-store", opts=kept,
            upstreams=[aws.codeartifact.RepositoryUpstreamArgs(repository_name=store.repository)])
        publishers = list(args.config.publisher_role_arns)
        if publishers:
            policies = owner.apply(lambda a: iam.package_index_publishers(
                stack.region, a, stack.name_prefix, REPOSITORY, publishers))
            aws.codeartifact.DomainPermissions(
                f"{name}-publishers", domain=domain.domain,
                policy_document=iam.to_json(policies.apply(lambda p: p[0])), opts=self.child())
            aws.codeartifact.RepositoryPermissionsPolicy(
                f"{name}-publishers", domain=domain.domain, repository=repository.repository,
                policy_document=iam.to_json(policies.apply(lambda p: p[1])), opts=self.child())

        self.domain = stack.name_prefix
        self.domain_owner = owner
        self.repository = REPOSITORY
        self.index_url = owner.apply(lambda a: index_url(stack.name_prefix, a, stack.region))
        self.register_outputs({"index_url": self.index_url})
