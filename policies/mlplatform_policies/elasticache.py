"""ElastiCache: encrypted at rest and in transit, authenticated; failover in production.

Sources: ElastiCache user guide (in-transit encryption, AUTH); AWS Foundational Security Best
Practices ElastiCache.4/.5/.6.
"""

from __future__ import annotations

from ._base import PRODUCTION_SCHEMA, is_production, resource_policy

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


@resource_policy("elasticache-encrypted", "Cache data must be encrypted at rest and in transit.",
                 [REPLICATION_GROUP])
def encrypted(props, args, config):
    if props.get("atRestEncryptionEnabled") is not True:
        yield "encryption at rest is off", "set atRestEncryptionEnabled true"
    if props.get("transitEncryptionEnabled") is not True:
        yield "encryption in transit is off", "set transitEncryptionEnabled true"


@resource_policy("elasticache-auth", "Clients must authenticate (an AUTH token or RBAC user groups).",
                 [REPLICATION_GROUP])
def authenticated(props, args, config):
    if not props.get("authToken") and not props.get("userGroupIds"):
        yield "no AUTH token or user group", "set authToken from a generated secret"


@resource_policy("elasticache-production-failover",
                 "A production cache needs a replica in another AZ with automatic failover.",
                 [REPLICATION_GROUP], config=PRODUCTION_SCHEMA)
def production_failover(props, args, config):
    if not is_production(args.urn, config):
        return
    if props.get("automaticFailoverEnabled") is not True or props.get("multiAzEnabled") is not True:
        yield "automatic failover or Multi-AZ is off in production", \
            "set automaticFailoverEnabled and multiAzEnabled true with numCacheClusters >= 2"


POLICIES = [encrypted, authenticated, production_failover]
