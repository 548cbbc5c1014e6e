"""What the overlays render (.renders/, made by `make renders`), and those objects as a real preview registers them:
each one a resource of its own, child of the kustomize.v2.Directory that built it.

Under mocks a Directory has no children; the Kubernetes provider creates them at deploy time, one resource per
object, with the Directory as parent and `<directory name>:<namespace>/<name>` as name (pulumi-kubernetes
provider/pkg/provider/yaml/v2, see ../shared/design/pulumi-kubernetes.md). The policy pack sees them so.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import yaml

from offline.engine import ROOT, Registered, StackResult

RENDERS = ROOT / ".renders"
DIRECTORY = "kubernetes:kustomize/v2:Directory"


def available() -> bool:
    return RENDERS.is_dir() and any(RENDERS.glob("*.yaml"))


@functools.cache
def load() -> dict[str, list[dict[str, Any]]]:
    """Each overlay's objects, by overlay name."""
    return {p.stem: _objects(p) for p in sorted(RENDERS.glob("*.yaml"))}


def _objects(path: Path) -> list[dict[str, Any]]:
    """The objects of one render, parsed once: a JSON copy beside it reads ten times faster than the YAML."""
    parsed = path.with_suffix(".json")
    if parsed.exists() and parsed.stat().st_mtime >= path.stat().st_mtime:
        return json.loads(parsed.read_text())
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    objects = [d for d in yaml.load_all(path.read_text(), Loader=loader) if d]
    partial = parsed.with_suffix(f".{os.getpid()}.tmp")  # test workers may parse it at the same time
    partial.write_text(json.dumps(objects))
    partial.replace(parsed)
    return objects


def resource_type(obj: dict[str, Any]) -> str:
    group_version = obj["apiVersion"] if "/" in obj["apiVersion"] else f"core/{obj['apiVersion']}"
    return f"kubernetes:{group_version}:{obj['kind']}"


def child(directory: Registered, obj: dict[str, Any]) -> Registered:
    """`obj` as the provider registers it under `directory`."""
    metadata = obj["metadata"]
    name = f"{metadata['namespace']}/{metadata['name']}" if metadata.get("namespace") else metadata["name"]
    name = f"{directory.name}:{name}"
    prefix, _, rest = directory.urn.rpartition("::")
    type_ = resource_type(obj)
    return Registered(
        type=type_, name=name, urn=f"{prefix}${type_}::{name}", inputs=obj, parent=directory.urn, dependencies=[],
        property_dependencies={}, provider=directory.provider, protect=False,
        ignore_changes=[], custom=True, wire=obj)


def children(stack: StackResult, objects: dict[str, list[dict[str, Any]]] | None = None) -> list[Registered]:
    """Every rendered object of the stack's Directories, as children of its Directory."""
    objects = load() if objects is None else objects
    found = []
    for directory in stack.of_type(DIRECTORY):
        overlay = directory.inputs["directory"].rstrip("/").rsplit("/", 1)[1]
        found += [child(directory, obj) for obj in objects.get(overlay, [])]
    return found
