"""Trainer: Kubeflow Trainer (TrainJobs and the cluster's training runtimes) with JobSet, from the pinned release
(overlays/trainer). Training pods in a team's namespace run as its default-editor unless a job says otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.kubeflow.platform import KubeflowPlatform
from components.options import dependencies
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "trainer"


@dataclass
class TrainerArgs:
    platform: KubeflowPlatform


class Trainer(pulumi.ComponentResource):
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: TrainerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:training:Trainer", name, None, opts)
        self.ready = [overlay(f"{name}-trainer", parent=self, path=OVERLAY,
                              depends_on=[*args.platform.ready, *dependencies(opts)])]
        self.register_outputs({})
