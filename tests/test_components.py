"""The shape every component shares (components/component.py): file, class, type token and config key agree; tiers
import only downwards; every namespace the platform uses is declared once, in components/namespaces.py."""

import importlib
import re

import yaml

from components import namespaces
from components.component import Component
from components.config import DataConfig, KubeflowConfig
from components.config.kubeflow import ApplicationsConfig
from offline.engine import ROOT

COMPONENTS = ROOT / "components"
# The tiers in the order a deploy goes through them; shared building blocks (the files at the top of components/
# and config/) come first. A module may import from its own tier and the ones before it, never after.
TIERS = ["shared", "network", "cluster", "addons", "data", "mesh", "kubeflow", "observability"]


def _tier(module: str) -> str:
    """components.<tier>.<module> is in <tier>; components.<module> and components.config.* are shared."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in TIERS else "shared"


def _modules():
    for path in sorted(COMPONENTS.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield ".".join(parts), path


def test_file_class_and_type_token_agree(prod, dev):
    """mlplatform:<module>:<Class>, the class in <module>.py, named like its file: guess one, find the others."""
    tokens = {r.type for result in (prod, dev) for r in result.resources if r.component}
    classes = {}
    for module, path in _modules():
        for name, value in vars(importlib.import_module(module)).items():
            if isinstance(value, type) and issubclass(value, Component) and value is not Component \
                    and value.__module__ == module:
                classes[name] = path.stem
    for token in tokens:
        package, stem, name = token.split(":")
        assert package == "mlplatform"
        assert classes.get(name) == stem, f"{token}: class {name} is not in a file {stem}.py"
        assert name.lower() == stem.replace("_", ""), f"{token}: the class is not named like its file"
    assert len(tokens) == len(classes)  # every component class is used by a stack, each token once


def test_config_keys_name_the_components_they_configure():
    data_modules = {path.stem for path in (COMPONENTS / "data").glob("*.py") if path.stem != "__init__"}
    assert set(DataConfig.model_fields) == data_modules
    application_modules = {name: (COMPONENTS / "kubeflow" / f"{name}.py").exists()
                           for name in ApplicationsConfig.model_fields}
    assert all(application_modules.values()), application_modules
    assert "teams" in KubeflowConfig.model_fields and (COMPONENTS / "kubeflow" / "team.py").exists()


def test_tiers_import_only_downwards():
    # Read with a pattern, not ast.parse: CPython 3.11's parser is not safe beside the threads the Pulumi runtime
    # leaves running in this process ("AST constructor recursion depth mismatch", python/cpython#106905).
    for module, path in _modules():
        tier = TIERS.index(_tier(module))
        for imported_module in re.findall(r"^\s*(?:from|import) (components(?:\.\w+)*)", path.read_text(), re.M):
            imported = TIERS.index(_tier(imported_module))
            assert imported <= tier, f"{module} ({TIERS[tier]}) imports {imported_module} ({TIERS[imported]})"


def test_every_namespace_the_program_uses_is_declared(prod, dev):
    """Namespaces it creates, installs charts into or writes objects into, and those its overlays' patches name; a
    team may not take any of them (config refuses it)."""
    used = set()
    teams = {t.name.removeprefix("team-") for result in (prod, dev) for t in result.of_type("mlplatform:team:Team")}
    for result in (prod, dev):
        for resource in result.resources:
            if resource.type == "kubernetes:core/v1:Namespace":
                used.add(resource.inputs["metadata"]["name"])
            elif resource.type == "kubernetes:helm.sh/v3:Release":
                used.add(resource.inputs["namespace"])
            elif resource.type.startswith("kubernetes:") and "metadata" in resource.inputs:
                used.add(resource.inputs["metadata"].get("namespace"))
    for overlay in COMPONENTS.rglob("overlays/*/*.yaml"):
        used |= set(re.findall(r"namespace: \^?\(?([a-z0-9|-]+)\)?\$?", overlay.read_text()))
        used |= {d.get("metadata", {}).get("namespace") for d in yaml.safe_load_all(overlay.read_text())
                 if isinstance(d, dict) and isinstance(d.get("metadata"), dict)}
    used = {n for group in used - {None} for n in group.split("|")} - teams
    assert used - namespaces.RESERVED == set()
    assert {namespaces.KUBEFLOW, namespaces.ISTIO, namespaces.DATA, namespaces.CERT_MANAGER} <= used


def test_every_declared_webhook_reaches_the_clusters_security_groups():
    """A component that declares WEBHOOKS but is left out of its tier's list would run a webhook the control plane
    cannot reach (every pod or object it admits would then fail)."""
    from components import addons, kubeflow, mesh

    declared = {w for module, _ in _modules() for w in getattr(importlib.import_module(module), "WEBHOOKS", ())}
    assert declared == set(addons.WEBHOOKS) | set(mesh.WEBHOOKS) | set(kubeflow.WEBHOOKS)
    assert len(declared) >= 10
