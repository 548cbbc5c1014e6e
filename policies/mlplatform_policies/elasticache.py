"""ElastiCache: encrypted at rest and in transit, authenticated; failover in production.

Sources: ElastiCache user guide (in-transit encryption, AUTH); AWS FSBP ElastiCache.3 (failover),
ElastiCache.4 (encryption at rest), ElastiCache.5 (in transit), ElastiCache.6 (AUTH).

A cache can be a replication group, a standalone cache cluster (one node: no at-rest encryption, no AUTH
token, no failover) or a serverless cache (always encrypted).
"""

from __future__ import annotations

from ._base import PRODUCTION_SCHEMA, get, is_production, known, resource_policy

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
SERVERLESS = "aws:elasticache/serverlessCache:ServerlessCache"
USE_A_REPLICATION_GROUP = "use an aws.elasticache.ReplicationGroup, which supports it"


@resource_policy("elasticache-encrypted",
                 "Cache data must be encrypted at rest and in transit.",
                 "FSBP ElastiCache.4, ElastiCache.5",
                 [REPLICATION_GROUP, CACHE_CLUSTER])
def encrypted(props, args, config):
    if args.resource_type == CACHE_CLUSTER:
        if get(props, "replicationGroupId") is None:
            yield "a standalone cache cluster cannot encrypt at rest", USE_A_REPLICATION_GROUP
        return
    at_rest, in_transit = get(props, "atRestEncryptionEnabled"), get(props, "transitEncryptionEnabled")
    if known(at_rest) and at_rest is not True:
        yield "encryption at rest is off", "set atRestEncryptionEnabled true"
    if known(in_transit) and in_transit is not True:
        yield "encryption in transit is off", "set transitEncryptionEnabled true"


@resource_policy("elasticache-auth",
                 "Clients must authenticate (an AUTH token or RBAC user groups).",
                 "FSBP ElastiCache.6",
                 [REPLICATION_GROUP, CACHE_CLUSTER, SERVERLESS])
def authenticated(props, args, config):
    if args.resource_type == CACHE_CLUSTER:
        if get(props, "replicationGroupId") is None:
            yield "a standalone cache cluster takes no AUTH token", USE_A_REPLICATION_GROUP
        return
    if args.resource_type == SERVERLESS:
        if get(props, "userGroupId") is None:
            yield "no user group", "set userGroupId to an ElastiCache user group"
        return
    if get(props, "authToken") is None and get(props, "userGroupIds") is None:
        yield "no AUTH token or user group", "set authToken from a generated secret"


@resource_policy("elasticache-production-failover",
                 "A production cache needs a replica in another AZ with automatic failover.",
                 "FSBP ElastiCache.3",
                 [REPLICATION_GROUP, CACHE_CLUSTER], config=PRODUCTION_SCHEMA)
def production_failover(props, args, config):
    if not is_production(args, config):
        return
    if args.resource_type == CACHE_CLUSTER:
        if get(props, "replicationGroupId") is None:
            yield "a single-node cache cannot fail over", USE_A_REPLICATION_GROUP
        return
    failover, multi_az = get(props, "automaticFailoverEnabled"), get(props, "multiAzEnabled")
    if known(failover) and known(multi_az) and (failover is not True or multi_az is not True):
        yield "automatic failover or Multi-AZ is off in production", \
            "set automaticFailoverEnabled and multiAzEnabled true with numCacheClusters >= 2"


POLICIES = [encrypted, authenticated, production_failover]
