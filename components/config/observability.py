"""observability: metrics, container logs, GPU utilisation and alarms (Container Insights), and who the alarms
reach."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field

from components.config import environments
from components.config.addons import EMAIL_PATTERN
from components.config.base import ConfigModel, repeated
from components.config.network import RetentionDays

Email = Annotated[str, Field(pattern=EMAIL_PATTERN, json_schema_extra={"hint": "an email address"})]


class ObservabilityConfig(ConfigModel):
    """metrics-server, the dashboard and the alarms on AWS's own metrics (database, cache, load balancer) always
    exist. Container Insights (the CloudWatch observability add-on) adds container logs and, `enhanced`, node, pod
    and GPU metrics, with the alarms that read them."""

    ENVIRONMENT_DEFAULTS = environments.OBSERVABILITY_DEFAULTS

    container_insights: Literal["enhanced", "logs", "off"] = Field(
        description="the amazon-cloudwatch-observability add-on: enhanced = node, pod and GPU metrics (billed per "
                    "observation) and every container's logs; logs = the logs only; off = neither")
    log_retention_days: RetentionDays = Field(
        description="how long container logs (application, dataplane, host) and performance events are kept")
    alarm_emails: tuple[Email, ...] = Field(
        (), description="who gets the alarms (each confirms the subscription email SNS sends); empty: subscribe "
                        "your pager or chat to the topic (stack output alarm_topic_arn)")

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        for email in repeated(list(self.alarm_emails)):
            yield "alarmEmails", f"{email} is listed twice"
