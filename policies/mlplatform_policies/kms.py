"""KMS: customer keys rotate and cannot be deleted on short notice.

Sources: AWSGuard cmk-backing-key-rotation-enabled; CIS AWS 3.6.
"""

from __future__ import annotations

from ._base import ADVISORY, resource_policy

KEY = "aws:kms/key:Key"


@resource_policy("kms-key-rotation", "Symmetric customer-managed keys must rotate yearly.", [KEY])
def key_rotation(props, args, config):
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and props.get("enableKeyRotation") is not True:
        yield "automatic key rotation is off", "set enableKeyRotation true"


@resource_policy("kms-deletion-window",
                 "A key scheduled for deletion should stay recoverable long enough to notice the mistake.",
                 [KEY], level=ADVISORY, config={"minimumDays": {"type": "integer", "default": 30}})
def deletion_window(props, args, config):
    days = props.get("deletionWindowInDays", 30)
    if days < config["minimumDays"]:
        yield f"the deletion window is {days} days", f"set deletionWindowInDays to {config['minimumDays']}"


POLICIES = [key_rotation, deletion_window]
