"""ArtifactStore: the S3 bucket Kubeflow Pipelines keeps its artifacts in.

Private, SSE-KMS with a bucket key, versioned, TLS only, ACLs disabled; noncurrent versions and failed
multipart uploads expire. In prod, server access logs go to a separate log bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.component import Component
from components.config import ArtifactStoreConfig
from components.kms import account_id as caller_account_id
from components.kms import customer_key
from components.stack import StackContext

ABORT_INCOMPLETE_UPLOADS_DAYS = 7
ACCESS_LOG_RETENTION_DAYS = 365


def bucket_name(prefix: str, purpose: str, account_id: str, region: str) -> str:
    """Globally unique and stable: two stacks (or accounts, or regions) never collide."""
    return f"{prefix}-{purpose}-{account_id}-{region}"


def _abort_incomplete_uploads() -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    # Parts of uploads that never completed are billed like objects but never seen; every bucket drops them.
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-multipart-uploads", status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=ABORT_INCOMPLETE_UPLOADS_DAYS))


@dataclass
class ArtifactStoreArgs:
    stack: StackContext  # the name prefix names the bucket; production protects it and logs access to it
    config: ArtifactStoreConfig
    packages: bool = False  # the key also encrypts the package index (CodeArtifact)


class ArtifactStore(Component):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:artifact_store:ArtifactStore", name, opts)
        stack = args.stack
        child = self.child()
        # Keys and buckets are also kept in AWS if the stack is ever destroyed on purpose: snapshots and
        # backups stay readable, artifacts stay recoverable.
        retained = self.child(protect=stack.production, retain_on_delete=stack.production)
        account_id = caller_account_id(self)

        # S3 encrypts objects with the key for whoever may write them (their IAM policies and the bucket
        # policy decide who), CodeArtifact the package index for whoever creates its domain (with grants, which it
        # keeps); nothing reaches the key except through them.
        key = customer_key(
            f"{name}-key", parent=self, protect=stack.production,
            description="Kubeflow pipeline artifacts in S3" + (" and the package index" if args.packages else ""),
            alias=f"alias/{stack.name_prefix}-artifacts",
            usage=account_id.apply(lambda account: [
                iam.key_use_via_service("S3EncryptsArtifacts", account, stack.regional("s3"), grants=False),
                *([iam.key_use_via_service("CodeArtifactEncryptsPackages", account, stack.regional("codeartifact"))]
                  if args.packages else [])]))

        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=account_id.apply(lambda account: bucket_name(stack.name_prefix, "artifacts", account, stack.region)),
            # dev may be torn down with its objects; prod never deletes a bucket that still holds data.
            force_destroy=not stack.production,
            opts=retained,
        )
        self._lock_down(f"{name}-bucket", bucket, sse=aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3
            .BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=key.arn),
            # A bucket key cuts KMS requests (and cost) by orders of magnitude for many small artifacts.
            bucket_key_enabled=True,
        ))
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions", status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.config.noncurrent_version_days)),
                _abort_incomplete_uploads(),
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket", bucket=bucket.id,
            policy=iam.to_json(bucket.arn.apply(lambda arn: iam.bucket_policy(iam.deny_insecure_transport(arn)))),
            opts=child)

        if stack.production:
            self._access_logs(name, stack, bucket, account_id)

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.key_arn = key.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})

    def _lock_down(self, name: str, bucket: aws.s3.Bucket,
                   sse: aws.s3.BucketServerSideEncryptionConfigurationRuleArgs) -> None:
        """What every bucket of ours gets: no public access, no ACLs, default encryption, versioning."""
        child = self.child()
        aws.s3.BucketPublicAccessBlock(
            name, bucket=bucket.id, block_public_acls=True, block_public_policy=True, ignore_public_acls=True,
            restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(
            name, bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(name, bucket=bucket.id, rules=[sse], opts=child)
        aws.s3.BucketVersioning(
            name, bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child)

    def _access_logs(self, name: str, stack: StackContext, source: aws.s3.Bucket,
                     account_id: pulumi.Output[str]) -> None:
        child = self.child()
        logs = aws.s3.Bucket(
            f"{name}-access-logs",
            bucket=account_id.apply(
                lambda account: bucket_name(stack.name_prefix, "access-logs", account, stack.region)),
            opts=self.child(protect=True, retain_on_delete=True),
        )
        # S3 server access logging can only write to buckets encrypted with SSE-S3 (S3 user guide).
        self._lock_down(f"{name}-access-logs", logs, sse=aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3
            .BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256")))
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-logs", bucket=logs.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-logs", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=ACCESS_LOG_RETENTION_DAYS),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=30)),
                   _abort_incomplete_uploads()],
            opts=child)
        policy = aws.s3.BucketPolicy(
            f"{name}-access-logs", bucket=logs.id,
            policy=iam.to_json(pulumi.Output.all(logs.arn, source.arn, account_id).apply(lambda a: iam.bucket_policy(
                iam.deny_insecure_transport(a[0]), iam.access_log_delivery(a[0], a[1], a[2])))),
            opts=child)
        aws.s3.BucketLogging(
            f"{name}-bucket", bucket=source.id, target_bucket=logs.id, target_prefix="artifacts/",
            opts=self.child(depends_on=[policy]))
