"""kubeflow: which applications run, and the teams that use them (one Kubeflow profile each)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field, StrictBool, StrictInt

from components.config import environments
from components.config.addons import EMAIL_PATTERN
from components.config.base import ConfigModel, repeated, text

TEAM_NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$"
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$"
# Namespaces the platform itself uses: a team (its namespace) may not take one.
RESERVED_NAMESPACES = frozenset({
    "default", "kube-system", "kube-public", "kube-node-lease", "kubeflow", "kubeflow-system", "istio-system",
    "auth", "oauth2-proxy", "cert-manager", "external-dns", "external-secrets", "knative-serving",
    "mlplatform-data", "amazon-cloudwatch", "reloader"})


class ApplicationsConfig(ConfigModel):
    """The Kubeflow applications from the pinned release. The central dashboard, profiles and the admission
    webhooks (PodDefaults) always run: every application and team needs them."""

    ENVIRONMENT_DEFAULTS = environments.KUBEFLOW_DEFAULTS

    pipelines: StrictBool = Field(description="Kubeflow Pipelines (Argo), on RDS and S3")
    notebooks: StrictBool = Field(description="Jupyter notebooks (CPU and GPU), volumes and TensorBoards")
    katib: StrictBool = Field(description="Katib hyperparameter tuning, on RDS")
    trainer: StrictBool = Field(description="Kubeflow Trainer (TrainJobs, with JobSet)")
    kserve: StrictBool = Field(description="KServe model serving, with Knative Serving as upstream ships it")
    mlflow: StrictBool = Field(description="an MLflow tracking server (its database on RDS, its artifacts in S3) "
                                           "under the Kubeflow hostname, behind the same login")


class TeamConfig(ConfigModel):
    name: str = text(TEAM_NAME_PATTERN, "a name of lowercase letters, digits and '-' (at most 40), such as "
                     "ml-research", "the team's Kubeflow profile and namespace")
    owner: str = text(EMAIL_PATTERN, "an email address", "the profile's owner: the email the owner signs in with")
    cpu: str = text(QUANTITY_PATTERN, "a Kubernetes quantity such as 16 or 500m",
                    "CPU the team's pods may request in total (resource quota)", default="16")
    memory: str = text(QUANTITY_PATTERN, "a Kubernetes quantity such as 64Gi",
                       "memory the team's pods may request in total (resource quota)", default="64Gi")
    gpus: StrictInt = Field(0, ge=0, le=256, description="NVIDIA GPUs the team's pods may request in total")


class KubeflowConfig(ConfigModel):
    ENVIRONMENT_DEFAULTS = environments.NOTEBOOK_DEFAULTS

    applications: ApplicationsConfig = Field(default_factory=dict,  # type: ignore[assignment]
                                             description="which applications run")
    teams: tuple[TeamConfig, ...] = Field((), description="one profile each: its namespace, quota, S3 prefix and "
                                                          "AWS role")
    cull_idle_notebooks_minutes: StrictInt = Field(
        ge=0, le=10080, description="stop a notebook whose kernels have been idle this many minutes (its volume "
                                    "stays; a GPU group then scales back to zero); 0 never stops one")

    def rules(self, context: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        names = [team.name for team in self.teams]
        for name in repeated(names):
            yield f"teams[{name}]", "is listed twice; each team is one profile and namespace"
        for name in sorted(set(names) & RESERVED_NAMESPACES):
            yield f"teams[{name}]", f"the platform uses the namespace {name}; choose another team name"
