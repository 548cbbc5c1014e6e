"""Notebooks: Jupyter notebooks, volumes and TensorBoards from the pinned release, with our spawner form
(overlays/notebooks/spawner_ui_config.yaml): CPU and CUDA images; a GPU notebook asks for `nvidia.com/gpu`,
tolerates the GPU nodes' taint and requires their label, so it starts a GPU group from zero. Notebooks run as
their namespace's default-editor, whose role (team.py) reaches the team's S3 prefix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.cluster.cluster import Webhook
from components.component import Component
from components.kubeflow.platform import Platform
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "notebooks"
SPAWNER_CONFIG = OVERLAY / "spawner_ui_config.yaml"
# applications/notebooks-v1/upstream/pvcviewer-controller/default/manager_webhook_patch.yaml: 9443.
WEBHOOKS = (Webhook(9443, "PVC viewer webhooks"),)


@dataclass
class NotebooksArgs:
    platform: Platform


class Notebooks(Component):
    def __init__(self, name: str, args: NotebooksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:notebooks:Notebooks", name, opts)
        self.ready = [overlay(f"{name}-notebooks", parent=self, path=OVERLAY,
                              depends_on=[*args.platform.ready, *self.waits_for])]
        self.register_outputs({})
