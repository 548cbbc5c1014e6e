"""Kubeflow from its pinned release: the platform layer (namespaces, roles, the gateway and Istio policies, the
dashboard and profiles) and the applications, each applied from an overlay beside the component that applies it,
and one profile per team; `install()` installs what the stack's config turns on."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.addons import Addons
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import KubeflowConfig
from components.data import Data
from components.kubeflow import katib, kserve, notebooks, pipelines, platform, trainer
from components.kubeflow.katib import Katib, KatibArgs
from components.kubeflow.kserve import KServe, KServeArgs
from components.kubeflow.mlflow import Mlflow, MlflowArgs
from components.kubeflow.notebooks import Notebooks, NotebooksArgs
from components.kubeflow.pipelines import Pipelines, PipelinesArgs
from components.kubeflow.platform import Platform, PlatformArgs
from components.kubeflow.team import MLFLOW_LABEL, PIP_LABEL, Team, TeamArgs
from components.kubeflow.trainer import Trainer, TrainerArgs
from components.mesh import Mesh
from components.stack import StackContext

# What the control plane calls on the nodes for Kubeflow, whichever applications a stack runs.
WEBHOOKS = (*platform.WEBHOOKS, *pipelines.WEBHOOKS, *katib.WEBHOOKS, *notebooks.WEBHOOKS, *trainer.WEBHOOKS,
            *kserve.WEBHOOKS)


@dataclass(frozen=True)
class Kubeflow:
    platform: Platform
    applications: dict[str, Component]  # by their config key (kubeflow.applications)
    teams: dict[str, Team]              # by team name

    @property
    def notebook_images(self) -> pulumi.Output[list[str]] | None:
        """The images the notebook form offers, as nodes pull them (None without the notebooks application)."""
        notebooks = self.applications.get("notebooks")
        return notebooks.images if isinstance(notebooks, Notebooks) else None


def install(stack: StackContext, config: KubeflowConfig, cluster: Cluster, addons: Addons, data: Data,
             mesh: Mesh) -> Kubeflow:
    opts = stack.on_cluster()
    # Kubeflow's manifests carry cert-manager Certificates and Issuers (the dashboard's, Katib's, the KFP cache's,
    # the notebooks' PVC viewer's, KServe's), which cert-manager's webhook admits: the platform, and with it every
    # application, waits for cert-manager; on destroy they go before it.
    platform = Platform("kubeflow", PlatformArgs(mesh.istio, mesh.auth),
                        opts=stack.on_cluster(depends_on=addons.certificates.ready))
    on = config.applications
    applications: dict[str, Component] = {}
    # What a notebook opts into by default, among the PodDefaults every team gets (team.py).
    configurations = [*([PIP_LABEL] if data.packages else []), *([MLFLOW_LABEL] if on.mlflow else [])]
    if on.pipelines:
        applications["pipelines"] = Pipelines("pipelines", PipelinesArgs(
            stack, cluster, platform, data.database, data.artifacts, addons.secrets), opts=opts)
    if on.notebooks:
        applications["notebooks"] = Notebooks("notebooks", NotebooksArgs(
            platform, [g.config for g in cluster.node_groups.values()], cluster.image_mirror,
            config.cull_idle_notebooks_minutes, configurations), opts=opts)
    if on.katib:
        applications["katib"] = Katib("katib", KatibArgs(platform, data.database, addons.secrets), opts=opts)
    if on.trainer:
        applications["trainer"] = Trainer("trainer", TrainerArgs(platform), opts=opts)
    if on.mlflow:
        applications["mlflow"] = Mlflow("mlflow", MlflowArgs(
            stack, cluster, platform, data.database, data.artifacts, addons.secrets, mesh.front_door.hostname,
            [team.name for team in config.teams]), opts=opts)
    if on.kserve:
        # Named before the component took its application's name; the name is the resources' identity.
        applications["kserve"] = KServe("serving", KServeArgs(platform, mesh.istio), opts=opts)
    # A team's namespace is where users' notebooks claim volumes, their InferenceServices make load balancers and
    # the applications' custom resources carry finalizers: it waits for the storage drivers, the load balancer
    # controller and every application, so `pulumi destroy` deletes it (and what is in it) while they still run.
    in_use_by_teams = [*addons.storage.ready, *addons.load_balancers.ready,
                       *(r for application in applications.values() for r in application.ready)]
    mlflow = applications.get("mlflow")
    teams = {team.name: Team(f"team-{team.name}", TeamArgs(
                 stack, team, cluster, platform, data.artifacts, pipelines=on.pipelines, packages=data.packages,
                 mlflow_tracking_uri=mlflow.tracking_uri if isinstance(mlflow, Mlflow) else None),
                             opts=stack.on_cluster(depends_on=in_use_by_teams))
             for team in config.teams}
    return Kubeflow(platform, applications, teams)
