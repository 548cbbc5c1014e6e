"""CloudWatch Logs: log groups expire (cost) instead of growing forever.

Source: AWS FSBP CloudWatch.16 ("log groups should be retained for a specified period").
"""

from __future__ import annotations

from ._base import ADVISORY, resource_policy


@resource_policy("logs-retention-set",
                 "Log groups should set a retention period: the default keeps logs (and bills) forever.",
                 ["aws:cloudwatch/logGroup:LogGroup"], level=ADVISORY)
def retention_set(props, args, config):
    if not props.get("retentionInDays"):
        yield "logs are kept forever", "set retentionInDays"


POLICIES = [retention_set]
