"""The mlplatform policies, grouped by service; __main__.py of the pack assembles ALL_POLICIES."""

from . import ec2, eks, elasticache, iam, kms, kubernetes, logs, protection, rds, s3, secretsmanager

ALL_POLICIES = [
    *s3.POLICIES, *rds.POLICIES, *elasticache.POLICIES, *eks.POLICIES, *ec2.POLICIES,
    *kms.POLICIES, *iam.POLICIES, *logs.POLICIES, *secretsmanager.POLICIES, *protection.POLICIES,
    *kubernetes.POLICIES,
]
