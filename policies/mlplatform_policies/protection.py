"""Data protection across the stack: in production, stateful resources are `protect`ed.

`protect` makes Pulumi refuse to delete or replace the resource until it is explicitly unprotected,
so neither `pulumi destroy` nor a replacing change can lose data by accident.
"""

from __future__ import annotations

from ._base import PRODUCTION_SCHEMA, is_production, stack_policy

STATEFUL_TYPES = (
    "aws:rds/instance:Instance", "aws:rds/cluster:Cluster",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:efs/fileSystem:FileSystem",
    "aws:kms/key:Key",
    "aws:elasticache/replicationGroup:ReplicationGroup",
)


@stack_policy("production-stateful-protected",
              "In production every database, bucket, file system, cache and KMS key must be protected "
              "from deletion and replacement.", config=PRODUCTION_SCHEMA)
def stateful_protected(args, config):
    for resource in args.resources:
        if resource.resource_type in STATEFUL_TYPES and is_production(resource.urn, config) \
                and not resource.opts.protect:
            yield (f"{resource.resource_type} '{resource.name}' is not protected in production. Fix: "
                   "create it with ResourceOptions(protect=True).", resource.urn)


POLICIES = [stateful_protected]
