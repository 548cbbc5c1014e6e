"""Data services: the state the platform keeps outside the cluster (RDS, S3, ElastiCache, CodeArtifact); `create()`
creates them."""

from __future__ import annotations

from dataclasses import dataclass

from components.addons.external_secrets import ExternalSecrets
from components.cluster.cluster import Cluster
from components.config import DataConfig
from components.data.artifact_store import ArtifactStore, ArtifactStoreArgs
from components.data.database import Database, DatabaseArgs
from components.data.package_index import PackageIndex, PackageIndexArgs
from components.data.session_cache import SessionCache, SessionCacheArgs
from components.network import Network
from components.stack import StackContext


@dataclass(frozen=True)
class Data:
    artifacts: ArtifactStore
    database: Database
    sessions: SessionCache
    packages: PackageIndex | None  # data.packageIndex.enabled


def create(stack: StackContext, config: DataConfig, cluster: Cluster, network: Network,
           secrets: ExternalSecrets, mlflow: bool) -> Data:
    """Credentials go to Secrets Manager under the stack's key (`secrets`), for external-secrets to sync. `mlflow`:
    whether MLflow runs, which has its own database and user."""
    index = config.package_index
    # The artifacts key also encrypts the package index: what the platform's users produce, under one key.
    artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(stack, config.artifact_store, packages=index.enabled),
                              opts=stack.on_aws())
    # The database's bootstrap job runs in the cluster: it is the one data service on the cluster's provider.
    database = Database("database", DatabaseArgs(stack, config.database, cluster, network, secrets, mlflow=mlflow),
                        opts=stack.on_cluster())
    sessions = SessionCache("session-cache", SessionCacheArgs(stack, config.session_cache, cluster, network, secrets),
                            opts=stack.on_aws())
    packages = PackageIndex("package-index", PackageIndexArgs(stack, index, artifacts.key_arn),
                            opts=stack.on_aws()) if index.enabled else None
    return Data(artifacts, database, sessions, packages)
