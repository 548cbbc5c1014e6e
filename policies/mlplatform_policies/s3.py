"""S3: nothing public, everything encrypted, TLS only. Sources: AWSGuard s3 rules, CIS AWS 2.1.x."""

from __future__ import annotations

from ._base import ADVISORY, as_list, depends_through, parse_document, resource_policy, stack_policy

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION_TYPES = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
VERSIONING_TYPES = ("aws:s3/bucketVersioning:BucketVersioning",
                    "aws:s3/bucketVersioningV2:BucketVersioningV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
ACL_TYPES = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@resource_policy("s3-public-access-block-complete",
                 "A bucket's public access block must turn on all four settings, or some public "
                 "path (ACLs or policies) stays open.", [PUBLIC_ACCESS_BLOCK])
def public_access_block_complete(props, args, config):
    off = [flag for flag in BLOCK_FLAGS if props.get(flag) is not True]
    if off:
        yield f"{', '.join(off)} not true", "set all four of " + ", ".join(BLOCK_FLAGS) + " to true"


@resource_policy("s3-no-public-acl",
                 "Bucket ACLs must not grant access to everyone or to any AWS account holder.",
                 BUCKET_TYPES + ACL_TYPES)
def no_public_acl(props, args, config):
    if props.get("acl") in PUBLIC_CANNED_ACLS:
        yield f"canned ACL '{props['acl']}' makes objects public", "drop the ACL and keep ACLs disabled " \
              "with ownership controls BucketOwnerEnforced"
    grants = as_list((props.get("accessControlPolicy") or {}).get("grants")) + as_list(props.get("grants"))
    for grant in grants:
        grantee = grant.get("grantee") or {}
        uri = grantee.get("uri") or grant.get("uri")
        if uri in PUBLIC_GRANTEES:
            yield f"a grant goes to {uri.rsplit('/', 1)[-1]}", "remove the grant; share through IAM instead"


def _buckets(args):
    return [r for r in args.resources if r.resource_type in BUCKET_TYPES]


def _companions(args, types, bucket):
    return [r for r in args.resources if r.resource_type in types and depends_through(r, "bucket", bucket)]


@stack_policy("s3-bucket-has-public-access-block",
              "Every bucket needs its own complete public access block, so a later ACL or policy "
              "change cannot make it public.")
def bucket_has_public_access_block(args, config):
    for bucket in _buckets(args):
        if not _companions(args, [PUBLIC_ACCESS_BLOCK], bucket):
            yield (f"S3 bucket '{bucket.name}' has no BucketPublicAccessBlock. Fix: add one with "
                   "bucket=<this bucket> and all four settings true.", bucket.urn)


@stack_policy("s3-bucket-encrypted",
              "Every bucket needs a server-side encryption configuration (SSE-KMS for data the "
              "platform writes).")
def bucket_encrypted(args, config):
    for bucket in _buckets(args):
        configs = _companions(args, ENCRYPTION_TYPES, bucket)
        algorithms = [((rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
                      for c in configs for rule in as_list(c.props.get("rules"))]
        if not any(a in ("aws:kms", "aws:kms:dsse", "AES256") for a in algorithms):
            yield (f"S3 bucket '{bucket.name}' has no default encryption. Fix: add a "
                   "BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms.", bucket.urn)


def _denies_insecure_transport(document) -> bool:
    for statement in as_list((document or {}).get("Statement")):
        condition = statement.get("Condition") or {}
        secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


@stack_policy("s3-bucket-tls-only",
              "Every bucket's policy must deny requests not sent over TLS (aws:SecureTransport).")
def bucket_tls_only(args, config):
    for bucket in _buckets(args):
        policies = _companions(args, [BUCKET_POLICY], bucket)
        documents = [parse_document(p.props.get("policy")) for p in policies]
        if any(d is None for d in documents):
            continue  # still unknown at preview; checked again on update
        if not any(_denies_insecure_transport(d) for d in documents):
            yield (f"S3 bucket '{bucket.name}' accepts plain-HTTP requests. Fix: add a bucket policy "
                   "statement that denies s3:* when aws:SecureTransport is false.", bucket.urn)


@stack_policy("s3-bucket-versioned",
              "Buckets holding artifacts should keep versions so an overwrite or delete can be undone.",
              level=ADVISORY)
def bucket_versioned(args, config):
    for bucket in _buckets(args):
        statuses = [(c.props.get("versioningConfiguration") or {}).get("status")
                    for c in _companions(args, VERSIONING_TYPES, bucket)]
        if "Enabled" not in statuses:
            yield (f"S3 bucket '{bucket.name}' is not versioned. Fix: add a BucketVersioning with "
                   "status Enabled.", bucket.urn)


POLICIES = [public_access_block_complete, no_public_acl, bucket_has_public_access_block,
            bucket_encrypted, bucket_tls_only, bucket_versioned]
