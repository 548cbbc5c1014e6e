"""Database: RDS for MySQL 8.4 holding Kubeflow's metadata, and the job that creates its databases.

Kubeflow Pipelines (API server, cache), ML Metadata and Katib keep their state here instead of in
in-cluster MySQL pods: backups, point-in-time restore and (in prod) Multi-AZ come with RDS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import iam, namespaces
from components.addons.external_secrets import ExternalSecrets
from components.addons.secret_store import stored_secret
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import DatabaseConfig
from components.kms import account_id, customer_key
from components.network import Network, nodes_only_security_group
from components.stack import StackContext
from components.versions import MYSQL_CLIENT_IMAGE, MYSQL_ENGINE_VERSION, MYSQL_PARAMETER_GROUP_FAMILY

PORT = 3306
ADMIN_USER = "platform_admin"
# Databases Kubeflow expects (kubeflow/manifests pipeline-install-config and katib-mysql), and the
# users that own them.
PIPELINE_DATABASE = "mlpipeline"
METADATA_DATABASE = "metadb"
CACHE_DATABASE = "cachedb"
KATIB_DATABASE = "katib"
KUBEFLOW_USER = "kfp"
KATIB_USER = "katib"
DATABASE_GRANTS = {KUBEFLOW_USER: (PIPELINE_DATABASE, METADATA_DATABASE, CACHE_DATABASE),
                   KATIB_USER: (KATIB_DATABASE,)}
# MLflow's tracking server, when it runs: its own database and user.
MLFLOW_DATABASE = "mlflow"
MLFLOW_USER = "mlflow"


def database_grants(mlflow: bool) -> dict[str, tuple[str, ...]]:
    """Each user the bootstrap creates, and the databases it owns."""
    return {**DATABASE_GRANTS, **({MLFLOW_USER: (MLFLOW_DATABASE,)} if mlflow else {})}
BOOTSTRAP_NAMESPACE = namespaces.DATA
# Logs RDS exports to CloudWatch, each into /aws/rds/instance/<identifier>/<type>.
EXPORTED_LOGS = ("error", "slowquery")


def log_group_name(identifier: str, log_type: str) -> str:
    return f"/aws/rds/instance/{identifier}/{log_type}"


def parameters(require_tls: bool) -> dict[str, str]:
    """The DB parameter group (family mysql8.4).

    ML Metadata's MySQL client only speaks mysql_native_password (deployKF#219; upstream Kubeflow runs
    MySQL 8.4 with --mysql-native-password=ON). MySQL 8.4 ships that plugin disabled: `mysql_native_password`
    loads it. Unverified: that RDS exposes the server option under this name; check with
    `aws rds describe-engine-default-parameters --db-parameter-group-family mysql8.4` before the first deploy.
    TLS: on when the stack asks for it (data.database.requireTls), which config refuses until every Kubeflow
    client can do TLS (docs/data.md).
    """
    return {
        "mysql_native_password": "ON",
        "require_secure_transport": "ON" if require_tls else "OFF",
    }


# Memory of an RDS instance class by size, in GiB, for the families this platform sizes from (RDS user guide,
# "DB instance classes", hardware specifications): burstable (t), general purpose (m); memory optimised (r) has twice
# the m size's.
_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_GENERAL_GIB = {"large": 8, "xlarge": 16, "2xlarge": 32, "4xlarge": 64, "8xlarge": 128, "12xlarge": 192,
                "16xlarge": 256, "24xlarge": 384}


def default_max_connections(instance_class: str) -> int | None:
    """MySQL's max_connections on RDS by default, {DBInstanceClassMemory/12582880} (RDS user guide, "Maximum number
    of database connections"), taking the class's whole memory for DBInstanceClassMemory (which is a little less):
    an upper bound. None for a family this table does not know."""
    _, family, size = instance_class.split(".")
    memory = {"t": _BURSTABLE_GIB.get(size), "m": _GENERAL_GIB.get(size),
              "r": 2 * _GENERAL_GIB[size] if size in _GENERAL_GIB else None}.get(family[0])
    return None if memory is None else memory * 2**30 // 12582880


CREDENTIALS_VERSION = "mlplatform.io/credentials-version"


def bootstrap_secret_name(credentials_version: int) -> str:
    return f"mysql-bootstrap-v{credentials_version}"


def bootstrap_script(require_tls: bool, grants: dict[str, tuple[str, ...]] = DATABASE_GRANTS) -> str:
    """Idempotent: creates the databases and users if missing and (re)sets the users' passwords."""
    statements = [f"CREATE DATABASE IF NOT EXISTS `{db}`;" for dbs in grants.values() for db in dbs]
    for user, databases in grants.items():
        password = f"${{{user.upper()}_PASSWORD}}"
        statements += [
            f"CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED WITH mysql_native_password BY '{password}';",
            f"ALTER USER '{user}'@'%' IDENTIFIED WITH mysql_native_password BY '{password}';",
            *[f"GRANT ALL PRIVILEGES ON `{db}`.* TO '{user}'@'%';" for db in databases],
        ]
    ssl_mode = "REQUIRED" if require_tls else "PREFERRED"
    sql = "\n".join(statements).replace("`", "\\`")
    return ("set -eu\n"
            f'mysql --host="$DB_HOST" --port="$DB_PORT" --user="$ADMIN_USER" --ssl-mode={ssl_mode} <<SQL\n'
            f"{sql}\nSQL\n")


@dataclass
class DatabaseArgs:
    # The name prefix names the instance (known before anything exists, so RDS is created while the control plane
    # still comes up); production protects it, keeps it Multi-AZ-capable and applies changes in its window.
    stack: StackContext
    config: DatabaseConfig
    cluster: Cluster
    network: Network
    secrets: ExternalSecrets
    mlflow: bool = False  # MLflow runs: its database and user too


class Database(Component):
    """`ready`: the bootstrap job, after which Kubeflow's databases and users exist."""

    address: pulumi.Output[str]
    port: int
    kubeflow_secret_name: pulumi.Output[str]
    katib_secret_name: pulumi.Output[str]
    mlflow_secret_name: pulumi.Output[str] | None  # when MLflow runs
    identifier: str         # the RDS instance's (its metrics' DBInstanceIdentifier)
    credentials_version: int  # the Kubeflow users' passwords' (config database.credentialsVersion)
    instance_class: str
    allocated_storage_gib: int
    admin_secret_arn: pulumi.Output[str]  # managed and rotated by RDS

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:database:Database", name, opts)
        cfg, cluster, net, stack = args.config, args.cluster, args.network, args.stack
        child = self.child()
        prefix = stack.name_prefix
        identifier = f"{prefix}-mysql"
        log_groups = [log_group_name(identifier, t) for t in EXPORTED_LOGS]

        # RDS encrypts storage, snapshots and Performance Insights for whoever creates the instance;
        # CloudWatch Logs encrypts the exported logs. The key outlives a deliberate teardown: the final
        # snapshot is encrypted with it.
        key = customer_key(
            f"{name}-key", parent=self, protect=stack.production,
            description="Kubeflow metadata database (RDS storage, Performance Insights, exported logs)",
            alias=f"alias/{prefix}-database",
            usage=account_id(self).apply(lambda account: [
                iam.key_use_via_service("RdsEncryptsTheDatabase", account, stack.regional("rds")),
                iam.key_use_by_cloudwatch_logs(stack.region, account, log_groups),
            ]))
        # Created before the instance so RDS exports into encrypted groups with a retention period
        # instead of creating groups that keep logs forever.
        exported = [
            aws.cloudwatch.LogGroup(
                f"{name}-{log_type}-logs", name=log_group_name(identifier, log_type),
                retention_in_days=cfg.log_retention_days, kms_key_id=key.arn, opts=child)
            for log_type in EXPORTED_LOGS
        ]
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring", description="RDS enhanced monitoring publishes OS metrics to CloudWatch",
            assume_role_policy=iam.to_json(iam.service_trust("monitoring.rds.amazonaws.com")), opts=child)
        monitoring_policy = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring", role=monitoring_role.name, policy_arn=iam.RDS_MONITORING_POLICY, opts=child)

        security_group = nodes_only_security_group(
            f"{name}-sg", parent=self, vpc_id=net.vpc_id, node_security_group_id=cluster.node_security_group_id,
            port=PORT, description="RDS MySQL: only the EKS nodes, only MySQL")
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=net.database_subnet_ids,
            description="Isolated database subnets (no route to the internet)", opts=child)
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params", family=MYSQL_PARAMETER_GROUP_FAMILY,
            description="Kubeflow on MySQL 8.4",
            parameters=[aws.rds.ParameterGroupParameterArgs(name=k, value=v, apply_method="pending-reboot")
                        for k, v in parameters(cfg.require_tls).items()],
            opts=child)

        # The admin password is RDS's own: generated, kept in Secrets Manager and rotated every 7 days by RDS,
        # never seen by Pulumi. The Kubeflow users' passwords are generated here, again for each credentialsVersion.
        passwords = {user: random.RandomPassword(f"{name}-{user}-password", length=32, special=False,
                                                 keepers={"credentialsVersion": str(cfg.credentials_version)},
                                                 opts=child)
                     for user in database_grants(args.mlflow)}

        instance = aws.rds.Instance(
            f"{name}-mysql",
            identifier=identifier,
            engine="mysql",
            engine_version=MYSQL_ENGINE_VERSION,
            auto_minor_version_upgrade=True,
            instance_class=cfg.instance_class,
            allocated_storage=cfg.allocated_storage_gib,
            max_allocated_storage=cfg.max_allocated_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            port=PORT,
            username=ADMIN_USER,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.secrets.key_arn,
            multi_az=cfg.multi_az,
            backup_retention_period=cfg.backup_retention_days,
            backup_window="03:00-04:00",
            maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            deletion_protection=stack.production,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{identifier}-final",
            performance_insights_enabled=stack.production,
            performance_insights_kms_key_id=key.arn if stack.production else None,
            performance_insights_retention_period=7 if stack.production else None,
            enabled_cloudwatch_logs_exports=list(EXPORTED_LOGS),
            monitoring_interval=cfg.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            # prod applies changes in the maintenance window, not in the middle of the day.
            apply_immediately=not stack.production,
            opts=self.child(protect=stack.production, depends_on=[*exported, monitoring_policy]),
        )
        admin_secret_arn = instance.master_user_secrets.apply(lambda s: s[0].secret_arn)

        def credentials(user: str) -> pulumi.Output[dict]:
            return pulumi.Output.all(instance.address, passwords[user].result).apply(
                lambda a: {"username": user, "password": a[1], "host": a[0], "port": str(PORT)})

        kubeflow_secret, kubeflow_version = stored_secret(
            f"{name}-kubeflow-secret", parent=self, cluster_name=prefix, path="kubeflow/mysql",
            value=credentials(KUBEFLOW_USER), description="Kubeflow Pipelines and ML Metadata database user",
            kms_key_id=args.secrets.key_arn, protect=stack.production)
        katib_secret, katib_version = stored_secret(
            f"{name}-katib-secret", parent=self, cluster_name=prefix, path="kubeflow/katib-mysql",
            value=credentials(KATIB_USER), description="Katib database user", kms_key_id=args.secrets.key_arn,
            protect=stack.production)
        stored = [kubeflow_version, katib_version]
        credentials_by_user = {ADMIN_USER: admin_secret_arn, KUBEFLOW_USER: kubeflow_secret.name,
                               KATIB_USER: katib_secret.name}
        self.mlflow_secret_name = None
        if args.mlflow:
            mlflow_secret, mlflow_version = stored_secret(
                f"{name}-mlflow-secret", parent=self, cluster_name=prefix, path="mlflow/mysql",
                value=credentials(MLFLOW_USER), description="MLflow tracking server database user",
                kms_key_id=args.secrets.key_arn, protect=stack.production)
            stored.append(mlflow_version)
            credentials_by_user[MLFLOW_USER] = mlflow_secret.name
            self.mlflow_secret_name = mlflow_secret.name
        # The RDS-managed secret is named by RDS (rds!db-...), outside the cluster's prefix: external-secrets
        # may read exactly this one for the bootstrap job.
        admin_read = args.secrets.grant_read(f"{name}-admin-secret-read", parent=self, secret_arn=admin_secret_arn)

        # Once the users have their passwords (the bootstrap Job ran with these versions), their readers may sync.
        self.ready = [self._bootstrap(name, args, instance, credentials_by_user, [admin_read, *stored])]
        self.credentials_version = cfg.credentials_version

        self.address = instance.address
        self.port = PORT
        self.identifier = identifier
        self.instance_class = cfg.instance_class
        self.allocated_storage_gib = cfg.allocated_storage_gib
        self.kubeflow_secret_name = kubeflow_secret.name
        self.katib_secret_name = katib_secret.name
        self.admin_secret_arn = admin_secret_arn
        self.register_outputs({"address": self.address, "admin_secret_arn": self.admin_secret_arn})

    def _bootstrap(self, name: str, args: DatabaseArgs, instance: aws.rds.Instance,
                   secrets: dict[str, pulumi.Input[str]], stored: list[pulumi.Resource]) -> k8s.batch.v1.Job:
        """A Job in the cluster (the database is reachable only from the nodes) that creates the
        databases and users. Its credentials come from Secrets Manager through external-secrets: the admin's
        from the secret RDS manages (so it works across RDS's rotations), the users' from ours.

        Each credentials version has its own Secret (mysql-bootstrap-v<N>), made fresh from Secrets Manager once the
        new passwords are stored there, and so its own Job: raising database.credentialsVersion replaces the Job,
        which sets the new passwords, and only then do the users' readers re-sync (Database.ready)."""
        # Like everything in the cluster, after the nodes and after the deployer's access entry.
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=BOOTSTRAP_NAMESPACE, labels=namespaces.RESTRICTED),
            opts=self.child(depends_on=args.cluster.ready))
        version = args.config.credentials_version
        env_secret = bootstrap_secret_name(version)
        remote = [("ADMIN_USER", ADMIN_USER, "username"), ("MYSQL_PWD", ADMIN_USER, "password"),
                  *[(f"{user.upper()}_PASSWORD", user, "password") for user in database_grants(args.mlflow)]]
        external_secret = k8s.apiextensions.CustomResource(
            f"{name}-bootstrap-credentials",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            # Ready once external-secrets has filled the Secret: the Job must not start before.
            metadata=k8s.meta.v1.ObjectMetaArgs(name=env_secret, namespace=BOOTSTRAP_NAMESPACE,
                                                annotations={"pulumi.com/waitFor": "condition=Ready"}),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": args.secrets.cluster_secret_store},
                "target": {"name": env_secret, "creationPolicy": "Owner"},
                "data": [{"secretKey": env, "remoteRef": {"key": secrets[user], "property": prop}}
                         for env, user, prop in remote],
            },
            opts=self.child(depends_on=[namespace, *args.secrets.ready, *stored]))
        return k8s.batch.v1.Job(
            f"{name}-bootstrap",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=BOOTSTRAP_NAMESPACE, labels={"app": "mysql-bootstrap"},
                                                annotations={CREDENTIALS_VERSION: str(version)}),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=6,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="OnFailure",
                        # Pod Security restricted, which its namespace enforces: the client needs nothing more.
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True, run_as_user=999,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                        containers=[k8s.core.v1.ContainerArgs(
                            name="mysql",
                            image=MYSQL_CLIENT_IMAGE,
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False,
                                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"])),
                            command=["sh", "-c", bootstrap_script(args.config.require_tls,
                                                                  database_grants(args.mlflow))],
                            env=[k8s.core.v1.EnvVarArgs(name="DB_HOST", value=instance.address),
                                 k8s.core.v1.EnvVarArgs(name="DB_PORT", value=str(PORT))],
                            env_from=[k8s.core.v1.EnvFromSourceArgs(
                                secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=env_secret))],
                        )],
                    ),
                ),
            ),
            opts=self.child(depends_on=[instance, external_secret, *args.cluster.ready]),
        )
