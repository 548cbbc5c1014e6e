"""SessionCache: ElastiCache (Valkey) for the login sessions of oauth2-proxy.

Valkey is the open-source Redis fork ElastiCache runs at a lower price than Redis OSS; oauth2-proxy's
Redis session store speaks to it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import iam
from components.addons.external_secrets import ExternalSecrets
from components.addons.secret_store import stored_secret
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import SessionCacheConfig
from components.kms import account_id, customer_key
from components.network import Network, nodes_only_security_group
from components.stack import StackContext
from components.versions import VALKEY_ENGINE_VERSION

PORT = 6379


@dataclass
class SessionCacheArgs:
    stack: StackContext  # the name prefix names the cache (it need not wait for the control plane); production
    config: SessionCacheConfig  # protects it and keeps snapshots
    cluster: Cluster
    network: Network
    secrets: ExternalSecrets


class SessionCache(Component):
    address: pulumi.Output[str]
    port: int
    secret_name: pulumi.Output[str]
    node_ids: list[str]  # each node's cache cluster (its metrics' CacheClusterId)
    credentials_version: int  # the AUTH token's (config sessionCache.credentialsVersion)

    def __init__(self, name: str, args: SessionCacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:session_cache:SessionCache", name, opts)
        cfg, cluster, net, stack = args.config, args.cluster, args.network, args.stack
        child = self.child()
        stateful = self.child(protect=stack.production)
        replicated = cfg.nodes > 1

        # ElastiCache encrypts the cache and its snapshots for whoever creates it; the key outlives a
        # deliberate teardown, since the final snapshot is encrypted with it.
        key = customer_key(
            f"{name}-key", parent=self, protect=stack.production, description="Session cache (ElastiCache) at rest",
            alias=f"alias/{stack.name_prefix}-session-cache",
            usage=account_id(self).apply(lambda account: [iam.key_use_via_service(
                "ElastiCacheEncryptsTheCache", account, stack.regional("elasticache"))]))
        security_group = nodes_only_security_group(
            f"{name}-sg", parent=self, vpc_id=net.vpc_id, node_security_group_id=cluster.node_security_group_id,
            port=PORT, description="Session cache: only the EKS nodes, only Valkey")
        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets", subnet_ids=net.database_subnet_ids,
            description="Isolated data subnets (no route to the internet)", opts=child)

        # A new token for each credentialsVersion. ROTATE adds it beside the one in use (both are accepted), so
        # oauth2-proxy keeps working until it restarts with the new one; the next rotation drops the older.
        token = random.RandomPassword(f"{name}-auth-token", length=64, special=False,
                                      keepers={"credentialsVersion": str(cfg.credentials_version)}, opts=child)
        group_id = f"{stack.name_prefix}-sessions"
        group = aws.elasticache.ReplicationGroup(
            f"{name}-valkey",
            replication_group_id=group_id,
            description="oauth2-proxy login sessions",
            engine="valkey",
            engine_version=VALKEY_ENGINE_VERSION,
            node_type=cfg.node_type,
            port=PORT,
            num_cache_clusters=cfg.nodes,
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            subnet_group_name=subnet_group.name,
            security_group_ids=[security_group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=token.result,  # a secret end to end: RandomPassword.result and auth_token are both marked secret
            auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=7 if stack.production else 0,
            snapshot_window="02:00-03:00",
            maintenance_window="sun:05:30-sun:06:30",
            final_snapshot_identifier=f"{group_id}-final" if stack.production else None,
            auto_minor_version_upgrade=True,
            apply_immediately=not stack.production,
            opts=stateful,
        )
        secret, stored = stored_secret(
            f"{name}-secret", parent=self, cluster_name=stack.name_prefix, path="kubeflow/session-cache",
            value=pulumi.Output.all(group.primary_endpoint_address, token.result).apply(
                lambda a: {"host": a[0], "port": str(PORT), "password": a[1],
                           # oauth2-proxy --redis-connection-url; rediss:// because TLS is required.
                           "url": f"rediss://{a[0]}:{PORT}"}),
            description="oauth2-proxy session store (Valkey) endpoint and AUTH token",
            kms_key_id=args.secrets.key_arn, protect=stack.production)

        self.address = group.primary_endpoint_address
        self.port = PORT
        # ElastiCache names a replication group's nodes <group id>-001, -002, ... (MemberClusters).
        self.node_ids = [f"{group_id}-{index:03d}" for index in range(1, cfg.nodes + 1)]
        self.credentials_version = cfg.credentials_version
        # The token is on the cache and in Secrets Manager: readers may sync.
        self.ready = [group, stored]
        self.secret_name = secret.name
        self.register_outputs({"address": self.address})
