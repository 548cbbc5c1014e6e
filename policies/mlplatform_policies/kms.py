"""KMS: customer keys rotate, have an explicit least-privilege key policy, and cannot be deleted on short
notice.

Sources: AWSGuard cmk-backing-key-rotation-enabled; CIS AWS Foundations 3.6 and AWS FSBP KMS.4 (rotation);
AWS KMS developer guide "Key policies" best practices and checkov CKV2_AWS_64 (an explicit key policy);
FSBP KMS.3 (no unintended deletion).
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
    number,
    of_type,
    resource_policy,
    stack_policy,
    stack_violation,
)

KEY = "aws:kms/key:Key"
REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
EXTERNAL_KEY = "aws:kms/externalKey:ExternalKey"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
KEY_TYPES = (KEY, REPLICA_KEY, EXTERNAL_KEY)


@resource_policy("kms-key-rotation", "Symmetric customer-managed keys must rotate yearly.", "CIS AWS 3.6; FSBP KMS.4",
                 [KEY])
def key_rotation(props, args, config):
    spec = get(props, "customerMasterKeySpec", default=get(props, "keySpec", default="SYMMETRIC_DEFAULT"))
    rotation = get(props, "enableKeyRotation")
    if spec == "SYMMETRIC_DEFAULT" and known(rotation) and rotation is not True:
        yield "automatic key rotation is off", "set enableKeyRotation true"


@resource_policy("kms-deletion-window",
                 "A key scheduled for deletion should stay recoverable long enough to notice the mistake.",
                 "FSBP KMS.3", KEY_TYPES, level=ADVISORY, config={"minimumDays": {"type": "integer", "default": 30}})
def deletion_window(props, args, config):
    days = get(props, "deletionWindowInDays", default=30)
    if known(days) and days < config["minimumDays"]:
        yield f"the deletion window is {number(days)} days", f"set deletionWindowInDays to {config['minimumDays']}"


def _policy_problems(doc):
    for statement in items(get(doc, "Statement")):
        if get(statement, "Effect") != "Allow":
            continue
        principal = get(statement, "Principal")
        aws_principals = items(get(principal, "AWS")) if get(principal, "AWS") is not None else [principal]
        if "*" in aws_principals and get(statement, "Condition") is None:
            yield "the key policy lets any principal use the key", \
                "name the roles or services that use it, or condition the statement (kms:CallerAccount, " \
                "kms:ViaService)"
        for action in items(get(statement, "Action")):
            if action in ("*", "kms:*"):
                yield f"the key policy allows \"{action}\"", "list the actions each principal needs " \
                                                             "(components/iam.py KMS_ADMIN_ACTIONS, KMS_USE_ACTIONS)"


@stack_policy("kms-key-policy-explicit",
              "Every KMS key has an explicit key policy that names who may administer and who may use it, with "
              'no "kms:*" and no unconditioned "*" principal: the default policy hands the key to every IAM '
              "principal allowed kms:* in the account.",
              "AWS KMS developer guide, key policy best practices; checkov CKV2_AWS_64")
def key_policy_explicit(args, config):
    for key in of_type(args, KEY_TYPES):
        documents = [document(get(key.props, "policy"))]
        documents += [document(get(p.props, "policy")) for p in companions(args, [KEY_POLICY], "keyId", key)]
        if UNKNOWN in documents:
            continue  # still unknown at preview; checked again before the key is created
        present = [d for d in documents if d is not None]
        if not present:
            yield stack_violation(key, "uses the default key policy",
                                  "set policy (or add an aws.kms.KeyPolicy) naming its administrators and users")
        for doc in present:
            for problem, fix in _policy_problems(doc):
                yield stack_violation(key, problem, fix)


POLICIES = [key_rotation, deletion_window, key_policy_explicit]
