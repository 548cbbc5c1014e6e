"""network: the VPC and its subnets."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, field_validator

from components.config import environments
from components.config.base import ConfigModel, repeated, text

MAX_AZS = 6
# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API reference).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
RetentionDays = Literal[LOG_RETENTION_DAYS]  # type: ignore[valid-type]
AZ_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-g]$"
# Private IPv4 ranges (RFC 1918), /16 to /19.
VPC_CIDR_PATTERN = (r"^(10\.\d{1,3}|172\.(1[6-9]|2\d|3[01])|192\.168)\.\d{1,3}\.\d{1,3}/(1[6-9])$")


class NetworkConfig(ConfigModel):
    ENVIRONMENT_DEFAULTS = environments.NETWORK_DEFAULTS

    vpc_cidr: str = text(VPC_CIDR_PATTERN, "a private (RFC 1918) IPv4 network from /16 to /19 such as 10.0.0.0/16",
                         "the VPC's private IPv4 range, /16 to /19 (private subnets get 1/8 of it each for pod IPs)")
    availability_zones: tuple[Annotated[str, Field(pattern=AZ_PATTERN, json_schema_extra={
        "hint": "an AZ name such as us-east-1a"})], ...] = Field(
        min_length=2, max_length=MAX_AZS, json_schema_extra={"uniqueItems": True},
        description="AZ names in aws:region, at least 2 (prod 3), at most 6; each AZ's subnets follow from its "
                    "letter, so adding or removing an AZ never renumbers another")
    nat_gateways: Literal["single", "perAz"] = Field(
        description="one NAT gateway shared by all AZs, or one per AZ so losing an AZ does not cut egress")
    flow_logs: StrictBool = Field(description="VPC flow logs to an encrypted CloudWatch log group")
    flow_log_retention_days: RetentionDays = Field(
        90, description="how long flow logs are kept (a value CloudWatch accepts)")

    @field_validator("vpc_cidr")
    @classmethod
    def _network_address(cls, value: str) -> str:
        try:
            ipaddress.IPv4Network(value, strict=True)
        except ValueError as err:
            raise ValueError(f"{value!r} is not a valid IPv4 network ({err}); e.g. 10.0.0.0/16") from None
        return value

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        region = context["region"]
        if repeated(self.availability_zones):
            yield "availabilityZones", "lists an AZ twice; each AZ once"
        for az in self.availability_zones:
            if region and not az.startswith(region):
                yield "availabilityZones", f"{az!r} is not an AZ of region {region!r}; use names like {region}a"
