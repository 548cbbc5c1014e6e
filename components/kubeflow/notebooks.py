"""Notebooks: Jupyter notebooks, volumes and TensorBoards from the pinned release (overlays/notebooks), with what the
stack decides:

- the spawner form (ConfigMap jupyter-web-app-spawner): the shared form (spawner_form.yaml), its images from the
  stack's in-region mirror when it has one, and one GPU choice per GPU node group;
- a guard (ValidatingAdmissionPolicy mlplatform-notebook-gpus) that refuses, at submit, a notebook no node group can
  run: a GPU count above the largest GPU node's, a vendor the nodes do not have, a GPU group without a GPU;
- culling (ConfigMap notebook-culling): the notebook controller stops a notebook idle for
  kubeflow.cullIdleNotebooksMinutes, so its GPU node can go;
- an honest status while a GPU node comes up (overlays/notebooks/sitecustomize.py).

Notebooks run as their namespace's default-editor, whose role (team.py) reaches the team's S3 prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.cluster.cluster import Webhook
from components.cluster.node_group import NODE_GROUP_LABEL
from components.component import Component
from components.config import NodeGroupConfig
from components.kubeflow.platform import Platform
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "notebooks"
SPAWNER_FORM = Path(__file__).parent / "spawner_form.yaml"
NAMESPACE = "kubeflow"
# The names the overlay's patches point the Jupyter web app and the notebook controller at.
SPAWNER_CONFIGMAP = "jupyter-web-app-spawner"
CULLING_CONFIGMAP = "notebook-culling"
GUARD = "mlplatform-notebook-gpus"
UPSTREAM_REGISTRY = "ghcr.io"
GPU_RESOURCE = "nvidia.com/gpu"
# applications/notebooks-v1/upstream/pvcviewer-controller/default/manager_webhook_patch.yaml: 9443.
WEBHOOKS = (Webhook(9443, "PVC viewer webhooks"),)


def gpu_groups(groups: Sequence[NodeGroupConfig]) -> list[NodeGroupConfig]:
    return [g for g in groups if g.gpu]


def describe(group: NodeGroupConfig) -> str:
    """How the form and the guard name a GPU group, e.g. `gpu-xlarge: 1 x NVIDIA L4, 4 vCPU, 16 GiB (g6.xlarge)`."""
    spec = group.instance
    model = (spec.accelerator or "").removeprefix("nvidia-").upper()
    return f"{group.name}: {spec.gpus} x NVIDIA {model}, {spec.vcpus} vCPU, {spec.memory_gib:g} GiB ({spec.name})"


def mirrored(image: str, registry: str | None) -> str:
    """`image` as pulled through the stack's mirror of ghcr.io, if it has one."""
    if registry and image.startswith(f"{UPSTREAM_REGISTRY}/"):
        return f"{registry}/{image.removeprefix(UPSTREAM_REGISTRY + '/')}"
    return image


def spawner_form(groups: Sequence[NodeGroupConfig], registry: str | None,
                 configurations: Sequence[str] = ()) -> dict[str, Any]:
    """The Jupyter web app's spawner_ui_config.yaml for this stack: `configurations`, the PodDefault labels a new
    notebook opts into unless its user unticks them."""
    form = yaml.safe_load(SPAWNER_FORM.read_text())
    defaults = form["spawnerFormDefaults"]
    defaults["configurations"]["value"] = list(configurations)
    for key in ("image", "imageGroupOne", "imageGroupTwo"):
        defaults[key]["value"] = mirrored(defaults[key]["value"], registry)
        defaults[key]["options"] = [mirrored(i, registry) for i in defaults[key]["options"]]
    defaults["affinityConfig"]["options"] = [
        {"configKey": g.name, "displayName": f"GPU node {describe(g)}",
         "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
             {"matchExpressions": [{"key": NODE_GROUP_LABEL, "operator": "In", "values": [g.name]}]}]}}}}
        for g in gpu_groups(groups)]
    return form


def notebook_images(form: dict[str, Any]) -> list[str]:
    """Every image a spawner form offers, as nodes pull it (what an image cache should hold)."""
    defaults = form["spawnerFormDefaults"]
    return [i for key in ("image", "imageGroupOne", "imageGroupTwo") for i in defaults[key]["options"]]


def gpu_guard(groups: Sequence[NodeGroupConfig]) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy's spec: what no node group of this stack can run is refused at submit, with a
    message that says what there is. Its CEL keeps to CEL's core (tests evaluate it)."""
    gpus = gpu_groups(groups)
    largest = max((g.gpus_per_node for g in gpus), default=0)
    available = "; ".join(describe(g) for g in gpus) or "none"
    limits = "has(c.resources) && has(c.resources.limits)"
    validations = [
        {"expression": f"variables.containers.all(c, !({limits}) || c.resources.limits.all(k, k == '{GPU_RESOURCE}' "
                       "|| !(k.endsWith('/gpu') || k == 'habana.ai/gaudi')))",
         "message": f"this cluster's GPUs are NVIDIA ({GPU_RESOURCE}); no node has AMD or Intel Gaudi GPUs",
         "reason": "Invalid"},
        {"expression": f"variables.gpus.all(n, n <= {largest})",
         "message": (f"asks for more NVIDIA GPUs than any node here has: at most {largest} per notebook "
                     f"(GPU node groups: {available})" if gpus else
                     "asks for NVIDIA GPUs, but this stack has no GPU node group"),
         "reason": "Invalid"},
    ]
    for group in gpus:
        chooses = (f"variables.terms.exists(t, has(t.matchExpressions) && t.matchExpressions.exists(e, "
                   f"e.key == '{NODE_GROUP_LABEL}' && e.operator == 'In' && '{group.name}' in e.values))")
        validations.append({
            "expression": f"!({chooses}) || (variables.gpus.exists(n, n > 0) && "
                          f"variables.gpus.all(n, n <= {group.gpus_per_node}))",
            "message": f"runs on GPU node {describe(group)}: ask for 1 to {group.gpus_per_node} GPUs under Number of "
                       "GPUs (a GPU node without its GPU in use is billed for nothing), or choose no GPU node",
            "reason": "Invalid"})
    pod = "object.spec.template.spec"
    required = f"{pod}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [{
            "apiGroups": ["kubeflow.org"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
            "resources": ["notebooks"]}]},
        "variables": [
            {"name": "containers",
             "expression": f"has(object.spec.template) && has({pod}.containers) ? {pod}.containers : []"},
            {"name": "gpus",
             "expression": f"variables.containers.map(c, {limits} && '{GPU_RESOURCE}' in c.resources.limits ? "
                           f"int(string(c.resources.limits['{GPU_RESOURCE}'])) : 0)"},
            {"name": "terms",
             "expression": f"has(object.spec.template) && has({pod}.affinity) && has({pod}.affinity.nodeAffinity) && "
                           f"has({required}) && has({required}.nodeSelectorTerms) ? {required}.nodeSelectorTerms : []"},
        ],
        "validations": validations,
    }


def culling(minutes: int) -> dict[str, str]:
    """The notebook controller's culling settings (upstream ships ENABLE_CULLING=false, CULL_IDLE_TIME=1440)."""
    return {"ENABLE_CULLING": "true" if minutes else "false", "CULL_IDLE_TIME": str(minutes or 1440)}


@dataclass
class NotebooksArgs:
    platform: Platform
    node_groups: Sequence[NodeGroupConfig]
    image_mirror: pulumi.Output[str] | None  # the stack's in-region registry for ghcr.io, if any
    cull_idle_minutes: int
    configurations: Sequence[str] = ()  # PodDefault labels a new notebook opts into (team.py makes the PodDefaults)


class Notebooks(Component):
    images: pulumi.Output[list[str]]  # what the form offers, as nodes pull it

    def __init__(self, name: str, args: NotebooksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:notebooks:Notebooks", name, opts)
        # The ConfigMaps live in the kubeflow namespace the platform makes, and the overlay's Deployments mount them, so
        # they come first; the guard waits with them for the cluster.
        in_namespace = self.child(depends_on=[*args.platform.ready, *self.waits_for])
        registry = args.image_mirror if args.image_mirror is not None else pulumi.Output.from_input(None)
        spawner = registry.apply(lambda r: spawner_form(args.node_groups, r, args.configurations))
        form = k8s.core.v1.ConfigMap(
            f"{name}-spawner", metadata={"name": SPAWNER_CONFIGMAP, "namespace": NAMESPACE},
            data={"spawner_ui_config.yaml": spawner.apply(lambda f: yaml.safe_dump(f, sort_keys=False))},
            opts=in_namespace)
        culled = k8s.core.v1.ConfigMap(
            f"{name}-culling", metadata={"name": CULLING_CONFIGMAP, "namespace": NAMESPACE},
            data=culling(args.cull_idle_minutes), opts=in_namespace)
        guard = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-gpu-guard", metadata={"name": GUARD}, spec=gpu_guard(args.node_groups), opts=in_namespace)
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-gpu-guard", metadata={"name": GUARD}, spec={"policyName": GUARD, "validationActions": ["Deny"]},
            opts=self.child(depends_on=[*args.platform.ready, *self.waits_for, guard]))
        self.ready = [overlay(f"{name}-notebooks", parent=self, path=OVERLAY,
                              depends_on=[*args.platform.ready, *self.waits_for, form, culled])]
        self.images = spawner.apply(notebook_images)
        self.register_outputs({"images": self.images})
