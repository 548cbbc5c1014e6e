"""RDS: encrypted, private, backed up; in production also Multi-AZ, deletion-protected, final snapshot.

Sources: AWSGuard rds-instance-* rules; RDS user guide (backups, deletion protection).
"""

from __future__ import annotations

from ._base import PRODUCTION_SCHEMA, is_production, resource_policy

RDS_TYPES = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")


@resource_policy("rds-storage-encrypted", "Database storage must be encrypted at rest.", RDS_TYPES)
def storage_encrypted(props, args, config):
    if props.get("storageEncrypted") is not True:
        yield "storage is not encrypted", "set storageEncrypted true (and kmsKeyId to a customer key)"


@resource_policy("rds-not-public", "Databases must not be reachable from the internet.",
                 ["aws:rds/instance:Instance"])
def not_public(props, args, config):
    if props.get("publiclyAccessible") is True:
        yield "publiclyAccessible is true", "set publiclyAccessible false; reach it from inside the VPC"


@resource_policy("rds-backups-kept",
                 "Automated backups must be kept long enough to recover from a bad change.",
                 RDS_TYPES, config={
                     "minimumRetentionDays": {"type": "integer", "default": 7},
                     "productionRetentionDays": {"type": "integer", "default": 14},
                     **PRODUCTION_SCHEMA})
def backups_kept(props, args, config):
    minimum = config["productionRetentionDays"] if is_production(args.urn, config) \
        else config["minimumRetentionDays"]
    days = props.get("backupRetentionPeriod") or 0
    if days < minimum:
        yield f"backups are kept {days} days, fewer than {minimum}", \
            f"set backupRetentionPeriod to at least {minimum}"


@resource_policy("rds-production-protected",
                 "A production database must survive an accidental delete: deletion protection on "
                 "and a final snapshot taken.", RDS_TYPES, config=PRODUCTION_SCHEMA)
def production_protected(props, args, config):
    if not is_production(args.urn, config):
        return
    if props.get("deletionProtection") is not True:
        yield "deletion protection is off in production", "set deletionProtection true"
    if props.get("skipFinalSnapshot") is True:
        yield "no final snapshot would be taken on delete", \
            "set skipFinalSnapshot false and a finalSnapshotIdentifier"


@resource_policy("rds-production-multi-az",
                 "A production database must run Multi-AZ so an AZ failure does not take it down.",
                 ["aws:rds/instance:Instance"], config=PRODUCTION_SCHEMA)
def production_multi_az(props, args, config):
    if is_production(args.urn, config) and props.get("multiAz") is not True:
        yield "Multi-AZ is off in production", "set multiAz true"


POLICIES = [storage_encrypted, not_public, backups_kept, production_protected, production_multi_az]
