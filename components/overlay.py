"""A kustomize overlay of the project, applied by Pulumi's Kubernetes provider.

The provider renders the directory at deploy time (`kubectl kustomize` semantics, fetching each remote base at
its pinned ref with git) and applies every object, Namespaces and CRDs first; under mocks it is one resource
whose input is the directory. Overlays live beside the component that applies them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

PROJECT_ROOT = Path(__file__).resolve().parent.parent  # where Pulumi runs the program


def overlay(resource_name: str, *, parent: pulumi.Resource, path: Path,
            depends_on: Sequence[pulumi.Resource] = ()) -> k8s.kustomize.v2.Directory:
    return k8s.kustomize.v2.Directory(
        resource_name,
        # Relative to the project, as the engine runs the program from there.
        directory=str(path.resolve().relative_to(PROJECT_ROOT)),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)))
