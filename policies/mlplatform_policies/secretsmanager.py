"""Secrets Manager: secrets encrypted with a customer-managed key.

Source: checkov CKV_AWS_149 ("Secrets Manager secret is encrypted using KMS CMK"); AWS Secrets Manager user
guide, "Secret encryption and decryption" (with the AWS-managed key, any principal of the account allowed
GetSecretValue can decrypt; a customer key's policy narrows that).
"""

from __future__ import annotations

from ._base import get, resource_policy


@resource_policy("secretsmanager-customer-key",
                 "Secrets must be encrypted with a customer-managed KMS key, whose policy says who may decrypt.",
                 "checkov CKV_AWS_149", ["aws:secretsmanager/secret:Secret"])
def customer_key(props, args, config):
    key = get(props, "kmsKeyId")
    if key is None or (isinstance(key, str) and key.endswith("alias/aws/secretsmanager")):
        yield "the secret uses the AWS-managed key", "set kmsKeyId to a customer-managed key"


POLICIES = [customer_key]
