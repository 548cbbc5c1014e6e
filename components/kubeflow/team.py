"""Team: one config entry is one team's Kubeflow profile, created in one `pulumi up`:

- its namespace, made here before the profile (with the `owner` annotation the profile controller adopts it by), so
  the objects below never race the controller that would otherwise create it;
- the Profile: owner, and a resource quota including NVIDIA GPUs;
- an AWS role for the namespace's default-editor (what its pipeline runs and notebooks run as), allowed only
  the team's own prefix of the artifact bucket, through EKS Pod Identity;
- Pipelines' per-namespace settings that KFP's removed profile controller wrote with static keys: the launcher's
  pipeline root and Argo's artifact repository on that prefix, credentials from the environment;
- PodDefaults a notebook (the form's configurations) or a pipeline step (its label) opts into: `pip`, which points
  pip at the package index with a keyring that gets a token with the namespace's role (pip_keyring.py), and `mlflow`,
  which points the MLflow client at the tracking server.

Removing a team deletes its namespace and role; its artifacts stay in S3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import iam
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import TeamConfig
from components.data.artifact_store import ArtifactStore
from components.data.package_index import PackageIndex
from components.kubeflow import upstream
from components.kubeflow.platform import Platform
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.stack import StackContext

TEAM_LABEL = "mlplatform.io/team"
PODDEFAULT_API_VERSION = "kubeflow.org/v1alpha1"
# The labels a pod carries to opt into each PodDefault (the notebook form sets them from its "configurations"; a
# pipeline step with kfp.kubernetes.add_pod_label).
PIP_LABEL = "mlplatform.io/pip"
MLFLOW_LABEL = "mlplatform.io/mlflow"
PIP_KEYRING = Path(__file__).with_name("pip_keyring.py")
KEYRING_CONFIGMAP = "pip-keyring"
# On PATH in the notebook images and outside Python's scripts folder, where pip does not look for its keyring.
KEYRING_PATH = "/usr/local/bin/keyring"


def artifact_prefix(team: str) -> str:
    return f"{upstream.ARTIFACT_PREFIX}/{team}"


def pipeline_root(bucket: str, team: str, region: str) -> str:
    # The query string makes the launcher open the bucket with the default credential chain (fromEnv) and
    # carries the region, which that path does not otherwise know (KFP backend/src/v2/config/s3.go).
    return f"s3://{bucket}/{artifact_prefix(team)}/v2/artifacts?region={region}"


def artifact_repository(bucket: str, team: str, stack: StackContext) -> str:
    """Argo's artifact repository for the namespace: S3 with the SDK's credentials (Pod Identity), TLS."""
    return json.dumps({"archiveLogs": True, "s3": {
        "endpoint": stack.regional("s3"), "bucket": bucket, "region": stack.region, "insecure": False,
        "useSDKCreds": True, "keyFormat": f"{artifact_prefix(team)}/{upstream.ARGO_KEY_FORMAT}"}})


@dataclass
class TeamArgs:
    stack: StackContext
    config: TeamConfig
    cluster: Cluster
    platform: Platform
    artifacts: ArtifactStore
    pipelines: bool  # whether Pipelines runs (its per-namespace settings are then written)
    packages: PackageIndex | None = None    # the package index, if the stack has one
    mlflow_tracking_uri: str | None = None  # the MLflow server, if the stack runs one


class Team(Component):
    namespace: str
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TeamArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:team:Team", name, opts, renamed_from="mlplatform:teams:Team")
        team, stack = args.config, args.stack
        region = stack.region
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=team.name,
                                                labels={TEAM_LABEL: team.name, **upstream.TEAM_POD_SECURITY},
                                                annotations={upstream.OWNER_ANNOTATION: team.owner}),
            # The profile controller must be running to adopt it and add its labels (sidecar injection,
            # pipelines) before any pod starts in it. Its Pod Security level is set here, the one the controller
            # would add (it adds only labels that are missing), so the namespace is never without one.
            opts=self.child(depends_on=[*args.platform.ready, *self.waits_for]))
        in_namespace = self.child(depends_on=[namespace])
        k8s.apiextensions.CustomResource(
            f"{name}-profile",
            api_version=upstream.PROFILE_API_VERSION, kind="Profile",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=team.name),
            spec={"owner": {"kind": "User", "name": team.owner},
                  "resourceQuotaSpec": {"hard": {"requests.cpu": team.cpu, "requests.memory": team.memory,
                                                 "requests.nvidia.com/gpu": str(team.gpus)}}},
            opts=in_namespace)
        role = ServiceAccountRole(
            f"{name}-artifacts",
            ServiceAccountRoleArgs(
                cluster_name=args.cluster.name, namespace=team.name, service_account=upstream.PROFILE_EDITOR,
                policy=pulumi.Output.all(args.artifacts.bucket_arn, args.artifacts.key_arn,
                                         args.packages.domain_owner if args.packages else None).apply(
                    lambda a: _policy(a[0], a[1], region, team.name, args.packages, a[2])),
                tags={TEAM_LABEL: team.name}, boundary=args.cluster.role_boundary_arn),
            opts=self.child())
        if args.pipelines:
            bucket = args.artifacts.bucket_name
            k8s.core.v1.ConfigMap(
                f"{name}-launcher", metadata=_meta(upstream.LAUNCHER_CONFIG, team.name),
                data={"defaultPipelineRoot": bucket.apply(lambda b: pipeline_root(b, team.name, region))},
                opts=in_namespace)
            k8s.core.v1.ConfigMap(
                f"{name}-artifact-repositories",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=upstream.ARTIFACT_REPOSITORIES, namespace=team.name,
                    annotations={upstream.ARGO_DEFAULT_REPOSITORY_ANNOTATION: upstream.ARTIFACT_REPOSITORY_KEY}),
                data={upstream.ARTIFACT_REPOSITORY_KEY: bucket.apply(
                    lambda b: artifact_repository(b, team.name, stack))},
                opts=in_namespace)
            host, port = upstream.METADATA_GRPC_SERVICE
            k8s.core.v1.ConfigMap(
                f"{name}-metadata-grpc", metadata=_meta(upstream.METADATA_GRPC_CONFIG, team.name),
                data={"METADATA_GRPC_SERVICE_HOST": host, "METADATA_GRPC_SERVICE_PORT": port}, opts=in_namespace)
        if args.packages:
            self._pip(name, team.name, args.packages, in_namespace)
        if args.mlflow_tracking_uri:
            k8s.apiextensions.CustomResource(
                f"{name}-mlflow", api_version=PODDEFAULT_API_VERSION, kind="PodDefault",
                metadata=_meta("mlflow", team.name),
                spec={"selector": {"matchLabels": {MLFLOW_LABEL: "true"}},
                      "desc": "MLflow: log runs to the platform's tracking server",
                      "env": [{"name": "MLFLOW_TRACKING_URI", "value": args.mlflow_tracking_uri}]},
                opts=in_namespace)
        self.namespace = team.name
        self.role_arn = role.role_arn
        self.register_outputs({"role_arn": self.role_arn})


    def _pip(self, name: str, namespace: str, packages: PackageIndex, opts: pulumi.ResourceOptions) -> None:
        keyring = k8s.core.v1.ConfigMap(
            f"{name}-pip-keyring", metadata=_meta(KEYRING_CONFIGMAP, namespace),
            data={"keyring": PIP_KEYRING.read_text()}, opts=opts)
        k8s.apiextensions.CustomResource(
            f"{name}-pip", api_version=PODDEFAULT_API_VERSION, kind="PodDefault", metadata=_meta("pip", namespace),
            spec=packages.index_url.apply(lambda url: pip_pod_default(url)),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[keyring])))


def pip_pod_default(index_url: str) -> dict[str, Any]:
    """pip installs from the package index; on the index's 401 it runs the keyring, which gets a token with the pod's
    own role (pip_keyring.py). PIP_* variables are pip's own settings (pip user guide, "Environment variables")."""
    return {"selector": {"matchLabels": {PIP_LABEL: "true"}},
            "desc": "pip: install from the platform's package index (public PyPI too)",
            "env": [{"name": "PIP_INDEX_URL", "value": index_url},
                    {"name": "PIP_KEYRING_PROVIDER", "value": "subprocess"}],
            "volumes": [{"name": "pip-keyring", "configMap": {"name": KEYRING_CONFIGMAP, "defaultMode": 0o755}}],
            "volumeMounts": [{"name": "pip-keyring", "mountPath": KEYRING_PATH, "subPath": "keyring",
                              "readOnly": True}]}


def _policy(bucket_arn: str, key_arn: str, region: str, team: str, packages: PackageIndex | None,
            owner: str | None) -> iam.Document:
    """The team's own prefix of the artifact bucket, and reading the package index when the stack has one."""
    document = iam.artifact_access(bucket_arn, key_arn, region, read=[], write=[artifact_prefix(team)])
    if packages is None or owner is None:
        return document
    return {**document, "Statement": [*document["Statement"],
                                      *iam.package_index_read(region, owner, packages.domain, packages.repository)]}


def _meta(name: str, namespace: str) -> k8s.meta.v1.ObjectMetaArgs:
    return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace)
