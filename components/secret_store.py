"""A JSON secret in AWS Secrets Manager, named under the cluster's prefix so external-secrets can sync it."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws


def stored_secret(resource_name: str, *, parent: pulumi.Resource, name: pulumi.Input[str],
                  value: pulumi.Input[dict[str, Any]], description: str,
                  protect: bool) -> aws.secretsmanager.Secret:
    secret = aws.secretsmanager.Secret(
        resource_name,
        name=name,
        description=description,
        # prod: a deleted secret can be restored for 30 days; dev: deleted at once so the name is free again.
        recovery_window_in_days=30 if protect else 0,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    aws.secretsmanager.SecretVersion(
        resource_name,
        secret_id=secret.id,
        # The value is a secret end to end: Pulumi state keeps it encrypted and never shows it.
        secret_string=pulumi.Output.secret(pulumi.Output.from_input(value).apply(json.dumps)),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return secret
