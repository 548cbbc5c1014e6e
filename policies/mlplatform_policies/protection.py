"""Data protection across the stack: in production, stateful resources are `protect`ed.

`protect` makes Pulumi refuse to delete or replace the resource until it is explicitly unprotected,
so neither `pulumi destroy` nor a replacing change can lose data by accident.
"""

from __future__ import annotations

from ._base import PRODUCTION_SCHEMA, is_production, stack_policy, stack_violation

STATEFUL_TYPES = (
    "aws:rds/instance:Instance", "aws:rds/cluster:Cluster",
    "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:efs/fileSystem:FileSystem",
    "aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/cluster:Cluster",
    "aws:elasticache/serverlessCache:ServerlessCache",
    "aws:dynamodb/table:Table",
    # The cluster holds every Kubernetes object (profiles, notebooks, pipelines' records of runs).
    "aws:eks/cluster:Cluster",
)


@stack_policy("production-stateful-protected",
              "In production every database, bucket, file system, cache, cluster and KMS key must be protected "
              "from deletion and replacement.",
              'Pulumi docs, "protect" resource option (this project\'s rule)', config=PRODUCTION_SCHEMA)
def stateful_protected(args, config):
    for resource in args.resources:
        if resource.resource_type in STATEFUL_TYPES and is_production(resource, config) \
                and not resource.opts.protect:
            yield stack_violation(resource, "is not protected in production",
                                  "create it with ResourceOptions(protect=True)")


POLICIES = [stateful_protected]
