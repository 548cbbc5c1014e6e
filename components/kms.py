"""A customer-managed KMS key with an explicit key policy, and the account it lives in."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import iam


def account_id(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The AWS account this stack deploys into (through the parent's provider)."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id


def customer_key(resource_name: str, *, parent: pulumi.Resource, description: str, alias: pulumi.Input[str],
                 usage: pulumi.Input[list[iam.Document]], protect: bool) -> aws.kms.Key:
    """A rotating key whose policy lets the account administer it and only `usage` use it.

    `usage` is a list of statements from components/iam.py (key_use_*). In prod the key is protected and
    outlives a deliberate teardown (retain_on_delete): final snapshots, backups and retained volumes stay
    readable.
    """
    policy = pulumi.Output.all(account_id(parent), usage).apply(lambda a: iam.key_policy(a[0], *a[1]))
    key = aws.kms.Key(
        resource_name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=iam.to_json(policy),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect),
    )
    aws.kms.Alias(resource_name, name=alias, target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=parent))
    return key
