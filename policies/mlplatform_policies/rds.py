"""RDS: encrypted, private, backed up, monitored, admin password managed and rotated by RDS; in production
also Multi-AZ, deletion-protected, final snapshot.

Sources: AWSGuard rds-instance-* rules; RDS user guide (backups, deletion protection, "Password management
with Amazon RDS and AWS Secrets Manager"); AWS FSBP RDS.3 (encrypted), RDS.2 (not public), RDS.5 (Multi-AZ),
RDS.6 (enhanced monitoring), RDS.7/RDS.8 (deletion protection), RDS.11 (backups), SecretsManager.1 (rotation).
"""

from __future__ import annotations

from ._base import (
    ADVISORY,
    PRODUCTION_SCHEMA,
    get,
    is_production,
    known,
    number,
    resource_policy,
)

INSTANCE = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_TYPES = (INSTANCE, CLUSTER)


def _is_replica(props) -> bool:
    # Read replicas take their credentials, backups and encryption from the source.
    return get(props, "replicateSourceDb") is not None or get(props, "replicationSourceIdentifier") is not None


@resource_policy("rds-storage-encrypted", "Database storage must be encrypted at rest.",
                                          "FSBP RDS.3", RDS_TYPES)
def storage_encrypted(props, args, config):
    value = get(props, "storageEncrypted")
    if known(value) and value is not True:
        yield "storage is not encrypted", "set storageEncrypted true (and kmsKeyId to a customer key)"


@resource_policy("rds-not-public", "Databases must not be reachable from the internet.",
                                   "FSBP RDS.2",
                 [INSTANCE, CLUSTER_INSTANCE])
def not_public(props, args, config):
    if get(props, "publiclyAccessible") is True:
        yield "publiclyAccessible is true", "set publiclyAccessible false; reach it from inside the VPC"


@resource_policy("rds-backups-kept",
                 "Automated backups must be kept long enough to recover from a bad change.",
                 "FSBP RDS.11",
                 RDS_TYPES, config={
                     "minimumRetentionDays": {"type": "integer", "default": 7},
                     "productionRetentionDays": {"type": "integer", "default": 14},
                     **PRODUCTION_SCHEMA})
def backups_kept(props, args, config):
    if _is_replica(props):
        return
    minimum = config["productionRetentionDays"] if is_production(args, config) \
        else config["minimumRetentionDays"]
    days = get(props, "backupRetentionPeriod", default=0)
    if known(days) and days < minimum:
        yield f"backups are kept {number(days)} days, fewer than {minimum}", \
            f"set backupRetentionPeriod to at least {minimum}"


@resource_policy("rds-production-protected",
                 "A production database must survive an accidental delete: deletion protection on and a final "
                 "snapshot taken.",
                 "FSBP RDS.7, RDS.8", RDS_TYPES, config=PRODUCTION_SCHEMA)
def production_protected(props, args, config):
    if not is_production(args, config):
        return
    protection = get(props, "deletionProtection")
    if known(protection) and protection is not True:
        yield "deletion protection is off in production", "set deletionProtection true"
    if get(props, "skipFinalSnapshot") is True:
        yield "no final snapshot would be taken on delete", \
            "set skipFinalSnapshot false and a finalSnapshotIdentifier"


@resource_policy("rds-production-multi-az",
                 "A production database must run Multi-AZ so an AZ failure does not take it down.",
                 "FSBP RDS.5",
                 [INSTANCE], config=PRODUCTION_SCHEMA)
def production_multi_az(props, args, config):
    multi_az = get(props, "multiAz")
    if is_production(args, config) and known(multi_az) and multi_az is not True:
        yield "Multi-AZ is off in production", "set multiAz true"


@resource_policy("rds-master-password-managed",
                 "The admin password is generated, stored and rotated by RDS in Secrets Manager, encrypted with a "
                 "customer key: it never passes through the deployment.",
                 'RDS user guide, "Password management with Secrets Manager"; FSBP SecretsManager.1', RDS_TYPES)
def master_password_managed(props, args, config):
    if _is_replica(props):
        return
    # Instances take `password`, Aurora clusters `masterPassword` (and write-only forms of both).
    if any(get(props, key) is not None for key in ("password", "passwordWo", "masterPassword", "masterPasswordWo")):
        yield "the admin password is set by the deployment", \
            "remove password and set manageMasterUserPassword true, so RDS generates and rotates it"
    managed = get(props, "manageMasterUserPassword")
    if known(managed) and managed is not True:
        yield "RDS does not manage the admin password", "set manageMasterUserPassword true"
    elif managed is True and get(props, "masterUserSecretKmsKeyId") is None:
        yield "the admin secret is encrypted with the AWS-managed key", \
            "set masterUserSecretKmsKeyId to a customer-managed key"


def _monitoring_gaps(props):
    interval = get(props, "monitoringInterval", default=0)
    if known(interval) and interval <= 0:
        yield "enhanced monitoring is off", "set monitoringInterval (e.g. 60) and a monitoringRoleArn"
    elif known(interval) and get(props, "monitoringRoleArn") is None:
        yield "enhanced monitoring has no role to publish with", \
            "set monitoringRoleArn to a role trusted by monitoring.rds.amazonaws.com"


@resource_policy("rds-enhanced-monitoring",
                 "Databases should publish OS metrics (enhanced monitoring). Advisory outside production: the "
                 "CloudWatch Logs it writes cost money a throwaway database may not be worth.",
                 "FSBP RDS.6",
                 [INSTANCE, CLUSTER_INSTANCE], level=ADVISORY, config=PRODUCTION_SCHEMA)
def enhanced_monitoring(props, args, config):
    if not is_production(args, config):
        yield from _monitoring_gaps(props)


@resource_policy("rds-production-enhanced-monitoring",
                 "Production databases must publish OS metrics (enhanced monitoring) for incident response.",
                 "FSBP RDS.6", [INSTANCE, CLUSTER_INSTANCE], config=PRODUCTION_SCHEMA)
def production_enhanced_monitoring(props, args, config):
    if is_production(args, config):
        yield from _monitoring_gaps(props)


POLICIES = [storage_encrypted, not_public, backups_kept, production_protected, production_multi_az,
            master_password_managed, enhanced_monitoring, production_enhanced_monitoring]
