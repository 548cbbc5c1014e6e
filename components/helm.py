"""A Helm release pinned to a chart from components/versions.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.versions import Chart


def helm_release(resource_name: str, *, parent: pulumi.Resource, chart: Chart, namespace: str,
                 values: pulumi.Input[dict[str, Any]], depends_on: Sequence[pulumi.Resource] = (),
                 release_name: str | None = None, create_namespace: bool = True) -> k8s.helm.v3.Release:
    """`release_name` defaults to the chart's name; `create_namespace=False` when the namespace is a resource
    of its own (with labels the release must not lose)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name or chart.name,
        chart=chart.name,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        namespace=namespace,
        create_namespace=create_namespace,
        values=values,
        # A failed install or upgrade rolls back instead of leaving a half-applied release.
        atomic=True,
        cleanup_on_fail=True,
        timeout=900,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
