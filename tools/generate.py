"""Everything derived from the code that declares it: `make generate` (python -m tools.generate) writes

- the JSON Schema of `Pulumi.<stack>.yaml` (schema/stack-config.schema.json), from the config models;
- the tables of README.md and docs/*.md, between `<!-- generated:<name> -->` and `<!-- /generated:<name> -->`
  (tools/docs.py makes each one from the code: config keys, environments, add-ons, policies, security groups,
  keys, outputs, versions, tests, layout, and the stacks' plan summary);
- the policy pack's copy of the GPU catalogue (the pack is published on its own, so it cannot import it);
- the Kubeflow commit in the overlays' upstream references (kustomize reads it only there; versions.py holds it);
- the plan of every stack (plan/<stack>.md and .json, as `make plan` writes them), whose figures the README
  summarises.

tests/test_generated.py fails when any of them is stale (tests/test_stack_files.py for the plans).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from offline.engine import stacks
from tools import docs

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SCHEMA = ROOT / "schema" / "stack-config.schema.json"
GPU_CATALOGUE = ROOT / "policies" / "mlplatform_policies" / "gpu_instances.json"


# ---- the stack file's JSON Schema ------------------------------------------------------------------------

def _walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _tidy(node: dict[str, Any]) -> None:
    node.pop("title", None)
    if node.pop("secret", False):
        # In the stack file a secret is stored encrypted, `{secure: v1:...}` (`pulumi config set --secret`);
        # a plain string there would be a secret committed in the clear.
        for key in ("type", "minLength", "maxLength", "pattern"):
            node.pop(key, None)
        node.update({"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
                     "additionalProperties": False})
    hint = node.pop("hint", None)
    if hint:  # shown by editors that support it (VS Code YAML) instead of the bare pattern
        node["patternErrorMessage"] = f"not {hint}"


def _nested(path: list[str], leaf: dict[str, Any]) -> dict[str, Any]:
    for part in reversed(path):
        leaf = {"properties": {part: leaf}}
    return leaf


def stack_file_schema() -> dict[str, Any]:
    from components.config import PROJECT, TOP_LEVEL
    from components.config.environments import ENVIRONMENTS, PRODUCTION_REQUIREMENTS

    definitions: dict[str, Any] = {}
    properties: dict[str, Any] = {
        "aws:region": {"type": "string", "pattern": r"^[a-z]{2}(-gov)?-[a-z]+-\d$",
                       "description": "the AWS region the stack deploys into"},
        "pulumi:disable-default-providers": {
            "type": "array", "items": {"type": "string"},
            "description": "packages whose default provider is off, so a resource without an explicit provider "
                           "fails the preview"},
    }
    for key, (kind, _required, description) in TOP_LEVEL.items():
        schema = TypeAdapter(kind).json_schema(by_alias=True, ref_template="#/definitions/{model}")
        definitions.update(schema.pop("$defs", {}))
        if isinstance(kind, type) and kind.__name__ in _models():  # a model: defined once, referenced here
            definitions[kind.__name__] = schema
            schema = {"$ref": f"#/definitions/{kind.__name__}"}
        properties[f"{PROJECT}:{key}"] = {**schema, "description": description}
    properties[f"{PROJECT}:tags"]["propertyNames"] = {"not": {"pattern": "^aws:"}}

    for name, model in _models().items():
        definition = definitions[name]
        for key, words in model.DERIVED_DEFAULTS.items():
            definition["required"] = [r for r in definition.get("required", []) if r != key]
            prop = definition["properties"][key]
            prop["description"] = f"{prop.get('description', '')} (default: {words})"
        defaults = model.ENVIRONMENT_DEFAULTS or {}
        for env_key in next(iter(defaults.values()), {}):
            definition["required"] = [r for r in definition.get("required", []) if r != env_key]
            prop = definition["properties"][env_key]
            prop["description"] = f"{prop.get('description', '')} (default: " + ", ".join(
                f"{env} {json.dumps(table[env_key])}" for env, table in defaults.items()) + ")"
        if not definition.get("required"):
            definition.pop("required", None)

    production = [name for name, env in ENVIRONMENTS.items() if env.production]
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$comment": "Generated by `make generate` from components/config; do not edit.",
        "title": f"{PROJECT} stack file (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "required": ["aws:region",
                             *(f"{PROJECT}:{k}" for k, (_, required, _) in TOP_LEVEL.items() if required)],
                # Unknown keys of this project are mistakes (other namespaces belong to providers).
                "propertyNames": {"if": {"pattern": f"^{PROJECT}:"},
                                  "then": {"enum": [f"{PROJECT}:{k}" for k in TOP_LEVEL]}},
            },
            "secretsprovider": {"type": "string"}, "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"}, "environment": {},
        },
        "required": ["config"],
        "allOf": [{
            # What a production environment must not set otherwise (components/config/environments.py).
            "if": {"properties": {"config": {"properties": {f"{PROJECT}:environment": {"enum": production}},
                                             "required": [f"{PROJECT}:environment"]}}},
            "then": {"allOf": [_nested(["config", f"{PROJECT}:{r.key.split('.')[0]}", *r.key.split(".")[1:]],
                                       r.schema) for r in PRODUCTION_REQUIREMENTS]},
        }],
        "definitions": definitions,
    }
    _walk(schema, _tidy)
    return schema


def _models() -> dict[str, Any]:
    from components.config import base

    found: dict[str, Any] = {}

    def collect(cls: Any) -> None:
        for sub in cls.__subclasses__():
            found[sub.__name__] = sub
            collect(sub)

    collect(base.ConfigModel)
    return found


def gpu_catalogue() -> dict[str, Any]:
    from components import instance_types

    gpus = {name: t for name, t in instance_types.CATALOGUE.items() if t.gpus}
    return {"$comment": "Generated by `make generate` from components/instance_types.py; do not edit.",
            "families": list(instance_types.GPU_FAMILIES),
            "instances": {name: {"gpus": t.gpus, "accelerator": t.accelerator} for name, t in sorted(gpus.items())}}


def pinned_overlay(text: str) -> str:
    """An overlay's text with every upstream Kubeflow reference at the commit versions.py pins, and every image it
    replaces at the tag versions.py pins."""
    from components.versions import KUBEFLOW_REF, KUBEFLOW_REPO, OVERLAY_IMAGES

    text = re.sub(rf"({re.escape(KUBEFLOW_REPO)}//[^?\s]*\?ref=)[0-9a-f]{{40}}", rf"\g<1>{KUBEFLOW_REF}", text)
    for image in OVERLAY_IMAGES:
        name, tag = image.rsplit(":", 1)
        text = re.sub(rf"(- name: {re.escape(name)}\n\s+newTag: )\S+", rf'\g<1>"{tag}"', text)
    return text


def overlays() -> list[Path]:
    return sorted((ROOT / "components").glob("*/overlays/*/kustomization.yaml"))


def render(text: str) -> str:
    """`text` with each `<!-- generated:<name> -->` section (tools/docs.py SECTIONS) made again."""
    for name in re.findall(r"<!-- generated:([a-z-]+) -->", text):
        if name not in docs.SECTIONS:
            raise SystemExit(f"no generator for <!-- generated:{name} --> (tools/docs.py SECTIONS)")
        pattern = re.compile(rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- /generated:{name} -->)", re.S)
        text = pattern.sub(_filled(docs.SECTIONS[name]()), text)
    return text


def _filled(body: str) -> Callable[[re.Match[str]], str]:
    def fill(match: re.Match[str]) -> str:
        return match.group(1) + body + "\n" + match.group(2)
    return fill


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def files() -> dict[Path, Callable[[], str]]:
    """Every generated file and how to make it, in order (the policy table imports the pack, which reads the
    catalogue)."""
    made: dict[Path, Callable[[], str]] = {path: partial(_rewritten, path, pinned_overlay) for path in overlays()}
    made[GPU_CATALOGUE] = lambda: json.dumps(gpu_catalogue(), indent=2) + "\n"
    made[SCHEMA] = lambda: json.dumps(stack_file_schema(), indent=2) + "\n"
    made.update({path: partial(_rewritten, path, render) for path in pages()})
    return made


def _rewritten(path: Path, rewrite: Callable[[str], str]) -> str:
    return rewrite(path.read_text())


def write_plans() -> None:
    """plan/<stack>.md and .json for every stack, as `make plan` writes them."""
    from offline import plan

    for stack in stacks():
        plan.write(plan.build(stack))


def main() -> None:
    write_plans()  # first: the README's plan summary reads them
    for path, make in files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())


if __name__ == "__main__":
    main()
