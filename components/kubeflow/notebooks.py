"""Notebooks: Jupyter notebooks, volumes and TensorBoards from the pinned release, with our spawner form
(overlays/notebooks/spawner_ui_config.yaml): CPU and CUDA images; a GPU notebook asks for `nvidia.com/gpu`,
tolerates the GPU nodes' taint and requires their label, so it starts a GPU group from zero. Notebooks run as
their namespace's default-editor, whose role (teams.py) reaches the team's S3 prefix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.kubeflow.platform import KubeflowPlatform
from components.options import dependencies
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "notebooks"
SPAWNER_CONFIG = OVERLAY / "spawner_ui_config.yaml"


@dataclass
class NotebooksArgs:
    platform: KubeflowPlatform


class Notebooks(pulumi.ComponentResource):
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: NotebooksArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:notebooks:Notebooks", name, None, opts)
        self.ready = [overlay(f"{name}-notebooks", parent=self, path=OVERLAY,
                              depends_on=[*args.platform.ready, *dependencies(opts)])]
        self.register_outputs({})
