"""Trainer: Kubeflow Trainer (TrainJobs and the cluster's training runtimes) with JobSet, from the pinned release
(overlays/trainer). A TrainJob's pods run as the service account it names: default-editor reaches the team's S3
prefix (team.py); the namespace's `default` account reaches nothing in AWS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from components.cluster.cluster import Webhook
from components.component import Component
from components.kubeflow.platform import Platform
from components.overlay import overlay

OVERLAY = Path(__file__).parent / "overlays" / "trainer"
# applications/trainer/upstream/base/manager/manager.yaml: 9443; JobSet v0.11.0's default webhook port, 9443.
WEBHOOKS = (Webhook(9443, "Trainer and JobSet webhooks"),)


@dataclass
class TrainerArgs:
    platform: Platform


class Trainer(Component):
    def __init__(self, name: str, args: TrainerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:trainer:Trainer", name, opts, renamed_from="mlplatform:training:Trainer")
        self.ready = [overlay(f"{name}-trainer", parent=self, path=OVERLAY,
                              depends_on=[*args.platform.ready, *self.waits_for])]
        self.register_outputs({})
