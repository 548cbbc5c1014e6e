"""S3: nothing public, everything encrypted, TLS only, versions kept, failed uploads cleaned up.

Sources: AWSGuard s3 rules; CIS AWS Foundations 2.1.x; AWS Foundational Security Best Practices (FSBP)
S3.1/S3.8 (public access blocks), S3.5 (TLS only), S3.13 (lifecycle configuration), S3.14 (versioning).

A bucket's settings can be inline on the bucket (deprecated in pulumi-aws v7 but accepted) or in companion
resources that point at the bucket, by its output or by its literal name; every form counts.
"""

from __future__ import annotations

from ._base import (
    ADVISORY,
    UNKNOWN,
    companions,
    document,
    get,
    items,
    known,
    of_type,
    resource_policy,
    stack_policy,
    stack_violation,
)

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCKS = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                        "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock")
ENCRYPTION_TYPES = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LIFECYCLE_TYPES = ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                   "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("aws:kms", "aws:kms:dsse", "AES256")


@resource_policy("s3-public-access-block-complete",
                 "A public access block (bucket or account) must turn on all four settings, or some public path "
                 "(ACLs or policies) stays open.",
                 "FSBP S3.1, S3.8", PUBLIC_ACCESS_BLOCKS)
def public_access_block_complete(props, args, config):
    off = [flag for flag in BLOCK_FLAGS if get(props, flag) is not True and known(get(props, flag))]
    if off:
        yield f"{', '.join(off)} not true", "set all four of " + ", ".join(BLOCK_FLAGS) + " to true"


@resource_policy("s3-no-public-acl",
                 "Bucket ACLs must not grant access to everyone or to any AWS account holder.",
                 "CIS AWS 2.1",
                 BUCKET_TYPES + ACL_TYPES)
def no_public_acl(props, args, config):
    acl = get(props, "acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"canned ACL '{acl}' makes objects public", "drop the ACL and keep ACLs disabled " \
              "with ownership controls BucketOwnerEnforced"
    grants = items(get(props, "accessControlPolicy", "grants")) + items(get(props, "grants"))
    for grant in grants:
        uri = get(grant, "grantee", "uri", default=get(grant, "uri"))
        if uri in PUBLIC_GRANTEES:
            yield f"a grant goes to {uri.rsplit('/', 1)[-1]}", "remove the grant; share through IAM instead"


def _buckets(args):
    return of_type(args, BUCKET_TYPES)


def _settings_of(args, types, bucket):
    return companions(args, types, "bucket", bucket, "bucket")


@stack_policy("s3-bucket-has-public-access-block",
              "Every bucket needs its own complete public access block, so a later ACL or policy change cannot "
              "make it public.",
              "FSBP S3.8")
def bucket_has_public_access_block(args, config):
    for bucket in _buckets(args):
        if not _settings_of(args, PUBLIC_ACCESS_BLOCKS[:1], bucket):
            yield stack_violation(bucket, "has no BucketPublicAccessBlock",
                                  "add one with bucket=<this bucket> and all four settings true")


def _sse_algorithms(args, bucket) -> list:
    found = [get(bucket.props, "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault",
                 "sseAlgorithm")]
    for companion in _settings_of(args, ENCRYPTION_TYPES, bucket):
        found += [get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
                  for rule in items(get(companion.props, "rules"))]
    return found


@stack_policy("s3-bucket-encrypted",
              "Every bucket needs a default encryption configuration (SSE-KMS for data the platform writes).",
              "FSBP S3.4")
def bucket_encrypted(args, config):
    for bucket in _buckets(args):
        algorithms = _sse_algorithms(args, bucket)
        if UNKNOWN not in algorithms and not any(a in SSE_ALGORITHMS for a in algorithms):
            yield stack_violation(bucket, "has no default encryption",
                                  "add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms")


def _denies_insecure_transport(doc) -> bool:
    for statement in items(get(doc, "Statement")):
        secure = get(statement, "Condition", "Bool", "aws:SecureTransport")
        if get(statement, "Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


@stack_policy("s3-bucket-tls-only",
              "Every bucket's policy must deny requests not sent over TLS (aws:SecureTransport).",
              "FSBP S3.5")
def bucket_tls_only(args, config):
    for bucket in _buckets(args):
        documents = [document(get(p.props, "policy")) for p in _settings_of(args, [BUCKET_POLICY], bucket)]
        documents.append(document(get(bucket.props, "policy")))
        if UNKNOWN in documents:
            continue  # still unknown at preview; checked again before the policy is created
        if not any(_denies_insecure_transport(d) for d in documents if d is not None):
            yield stack_violation(bucket, "accepts plain-HTTP requests",
                                  "add a bucket policy statement that denies s3:* when aws:SecureTransport is false")


@stack_policy("s3-bucket-versioned",
              "Buckets should keep versions so an overwrite or delete can be undone.",
              "FSBP S3.14", level=ADVISORY)
def bucket_versioned(args, config):
    for bucket in _buckets(args):
        statuses = [get(c.props, "versioningConfiguration", "status")
                    for c in _settings_of(args, VERSIONING_TYPES, bucket)]
        inline = get(bucket.props, "versioning", "enabled")
        if UNKNOWN in statuses or inline is UNKNOWN:
            continue
        if "Enabled" not in statuses and inline is not True:
            yield stack_violation(bucket, "is not versioned", "add a BucketVersioning with status Enabled")


def _aborts_uploads_everywhere(rule, inline: bool) -> bool | None:
    """Whether a lifecycle rule aborts incomplete multipart uploads for every object (None: unknown)."""
    if inline:
        enabled = get(rule, "enabled")
        days = get(rule, "abortIncompleteMultipartUploadDays")
        scope = get(rule, "prefix", default="")
    else:
        enabled = get(rule, "status") == "Enabled" if known(get(rule, "status")) else UNKNOWN
        days = get(rule, "abortIncompleteMultipartUpload", "daysAfterInitiation")
        scope = get(rule, "filter", "prefix", default=get(rule, "prefix", default=""))
        if get(rule, "filter", "tag") is not None or get(rule, "filter", "and") is not None:
            scope = "a subset"
    if UNKNOWN in (enabled, days, scope):
        return None
    return enabled is True and days is not None and days > 0 and scope == ""


@stack_policy("s3-abort-incomplete-multipart-uploads",
              "Every bucket must abort incomplete multipart uploads: their parts are billed but never seen.",
              "FSBP S3.13 (lifecycle configuration); checkov CKV_AWS_300")
def abort_incomplete_uploads(args, config):
    for bucket in _buckets(args):
        verdicts = [_aborts_uploads_everywhere(rule, inline=True)
                    for rule in items(get(bucket.props, "lifecycleRules"))]
        for lifecycle in _settings_of(args, LIFECYCLE_TYPES, bucket):
            verdicts += [_aborts_uploads_everywhere(rule, inline=False)
                         for rule in items(get(lifecycle.props, "rules"))]
        if None in verdicts:
            continue
        if True not in verdicts:
            yield stack_violation(bucket, "keeps the parts of incomplete multipart uploads forever",
                                  "add a BucketLifecycleConfiguration rule for all objects (filter prefix \"\") with "
                                  "abortIncompleteMultipartUpload.daysAfterInitiation, e.g. 7")


POLICIES = [public_access_block_complete, no_public_acl, bucket_has_public_access_block, bucket_encrypted,
            bucket_tls_only, bucket_versioned, abort_incomplete_uploads]
