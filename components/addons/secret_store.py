"""A JSON secret in AWS Secrets Manager, named under the cluster's prefix so external-secrets can sync it."""

from __future__ import annotations

from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws


def secret_name_prefix(cluster_name: str) -> str:
    """Secrets a cluster may read are named <cluster>/...; its external-secrets role allows nothing else."""
    return f"{cluster_name}/"


class StoredSecret(NamedTuple):
    secret: aws.secretsmanager.Secret
    version: aws.secretsmanager.SecretVersion  # what a reader waits for, to read the current value


def stored_secret(resource_name: str, *, parent: pulumi.Resource, cluster_name: pulumi.Input[str], path: str,
                  value: pulumi.Input[dict[str, Any]], description: str, kms_key_id: pulumi.Input[str],
                  protect: bool) -> StoredSecret:
    """The secret is named <cluster>/<path> and encrypted with the stack's Secrets Manager key."""
    secret = aws.secretsmanager.Secret(
        resource_name,
        name=pulumi.Output.from_input(cluster_name).apply(lambda c: secret_name_prefix(c) + path),
        description=description,
        kms_key_id=kms_key_id,
        # prod: a deleted secret can be restored for 30 days; dev: deleted at once so the name is free again.
        recovery_window_in_days=30 if protect else 0,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    version = aws.secretsmanager.SecretVersion(
        resource_name,
        secret_id=secret.id,
        # A secret end to end (pulumi-aws marks secret_string secret): encrypted in state, never shown.
        secret_string=pulumi.Output.json_dumps(value),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return StoredSecret(secret, version)
