"""An add-on controller: a pinned Helm chart that runs as one service account, which gets its own AWS role through
Pod Identity. The load balancer controller, external-dns, cert-manager, cluster-autoscaler and external-secrets are
each one of these plus their own values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import iam
from components.cluster.cluster import Cluster
from components.component import Component
from components.helm import helm_release
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.versions import Chart


def controller_chart(owner: Component, name: str, *, cluster: Cluster, chart: Chart, namespace: str,
                     service_account: str, policy: pulumi.Input[iam.Document], values: pulumi.Input[dict[str, Any]],
                     depends_on: Sequence[pulumi.Resource] = ()
                     ) -> tuple[ServiceAccountRole, k8s.helm.v3.Release]:
    """The role (named `name`) and the release (`name`-chart), both children of `owner`. `values` must name
    `service_account` where the chart takes it. The release installs once the nodes run, the role has its
    permissions and association (credentials are injected at pod start), and whatever `owner` was made to wait for."""
    role = ServiceAccountRole(
        name, ServiceAccountRoleArgs(cluster_name=cluster.name, namespace=namespace, service_account=service_account,
                                     boundary=cluster.role_boundary_arn,
                                     policy=policy),
        opts=owner.child())
    release = helm_release(f"{name}-chart", parent=owner, chart=chart, namespace=namespace, values=values,
                           depends_on=[*cluster.ready, *role.ready, *owner.waits_for, *depends_on])
    return role, release
