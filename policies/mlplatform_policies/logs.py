"""CloudWatch Logs: every log group encrypted with a customer key and expiring.

Sources: AWS FSBP CloudWatch.16 (a retention period); checkov CKV_AWS_158 and the CloudWatch Logs user guide
"Encrypt log data in CloudWatch Logs using AWS KMS" (a customer key: control-plane audit logs and flow logs
carry request details and addresses).
"""

from __future__ import annotations

from ._base import get, known, resource_policy

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@resource_policy("logs-retention-set",
                 "Log groups must set a retention period: the default keeps logs (and bills) forever.",
                 "FSBP CloudWatch.16", [LOG_GROUP])
def retention_set(props, args, config):
    days = get(props, "retentionInDays")
    if known(days) and not days:
        yield "logs are kept forever", "set retentionInDays"


@resource_policy("logs-kms-encrypted",
                 "Log groups must be encrypted with a customer-managed KMS key.",
                 "checkov CKV_AWS_158", [LOG_GROUP])
def kms_encrypted(props, args, config):
    if get(props, "kmsKeyId") is None:
        yield "the log group is encrypted only with CloudWatch's own key", \
            "set kmsKeyId to a customer key whose policy lets logs.<region>.amazonaws.com use it for this group"


POLICIES = [retention_set, kms_encrypted]
