"""One EKS managed add-on, with its version resolved once and then kept."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.service_account_role import ServiceAccountRole


def eks_addon(resource_name: str, *, parent: pulumi.Resource, cluster_name: pulumi.Input[str], addon: str,
              kubernetes_version: str, pinned_version: str | None = None,
              role: ServiceAccountRole | None = None, configuration: dict[str, Any] | None = None,
              depends_on: Sequence[pulumi.Resource] = ()) -> aws.eks.Addon:
    """Without a pin, the add-on takes AWS's default version for the Kubernetes minor when it is
    created, and later runs leave it there (no silent upgrades when AWS moves its default). With a pin
    (config cluster.addonVersions), the pin is applied, which is how an add-on is upgraded.

    `role` (created with association_by_addon=True) becomes the add-on's own Pod Identity association,
    and the add-on waits until the role has its permissions. `configuration` is the add-on's configuration values
    (its own JSON schema: aws eks describe-addon-configuration), sent whole on every update."""
    version = pinned_version or aws.eks.get_addon_version_output(
        addon_name=addon, kubernetes_version=kubernetes_version, most_recent=False,
        opts=pulumi.InvokeOutputOptions(parent=parent),
    ).version
    return aws.eks.Addon(
        resource_name,
        cluster_name=cluster_name,
        addon_name=addon,
        addon_version=version,
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        pod_identity_associations=[role.addon_association()] if role else None,
        configuration_values=json.dumps(configuration, sort_keys=True) if configuration else None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, *(role.ready if role else [])],
                                    ignore_changes=[] if pinned_version else ["addonVersion"]),
    )
