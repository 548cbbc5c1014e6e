"""What the pinned Kubeflow release's applications expect: the service accounts they run as (Pod Identity
associations must name them), the objects they read that the program creates instead, and the artifact layout.

Read at kubeflow/community-distribution@KUBEFLOW_REF (components/versions.py) by rendering each path with
`kubectl kustomize` (kustomize v5.5.0), and from the components' code at the versions that release pins
(KFP 2.16.1, Katib v0.19.0, Notebooks v1.11.0). tests/test_kubeflow.py checks the program against it.
"""

from __future__ import annotations

from components.mesh.upstream import KUBEFLOW_NAMESPACE, UpstreamObject

# Pipelines (applications/pipeline/upstream/base/pipeline/*-deployment.yaml).
PIPELINE_API_SERVER = (KUBEFLOW_NAMESPACE, "ml-pipeline")     # namespace, service account
PIPELINE_UI = (KUBEFLOW_NAMESPACE, "ml-pipeline-ui")
# Pipeline runs in a profile namespace run as this account (base/installs/multi-user/api-service/params.env
# DEFAULTPIPELINERUNNERSERVICEACCOUNT); so do notebooks (jupyter backend apps/default/routes/post.py).
PROFILE_EDITOR = "default-editor"
# Where Pipelines and Argo keep a namespace's artifacts (upstream's keyFormat and sync.py).
ARTIFACT_PREFIX = "private-artifacts"
PIPELINE_DEFINITIONS_PREFIX = "pipelines"   # the API server stores uploaded pipeline specs here
ARGO_KEY_FORMAT = ("{{workflow.name}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/"
                   "{{workflow.creationTimestamp.d}}/{{pod.name}}")
# Per profile namespace, what KFP's profile controller (sync.py, removed) would write, by name and key.
LAUNCHER_CONFIG = "kfp-launcher"                  # key defaultPipelineRoot (backend/src/v2/config/env.go)
ARTIFACT_REPOSITORIES = "artifact-repositories"   # Argo: annotation below names the key
ARTIFACT_REPOSITORY_KEY = "default-namespaced"
ARGO_DEFAULT_REPOSITORY_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
METADATA_GRPC_CONFIG = "metadata-grpc-configmap"  # envFrom of pipeline pods (argocompiler/common.go)
METADATA_GRPC_SERVICE = ("metadata-grpc-service.kubeflow", "8080")
# Profiles (applications/dashboard/upstream/profile-controller): it adopts an existing namespace whose `owner`
# annotation is the profile's owner, and creates default-editor / default-viewer in it.
PROFILE_API_VERSION = "kubeflow.org/v1"
OWNER_ANNOTATION = "owner"
# The Pod Security level it labels every profile namespace with (profile-controller/overlays/kubeflow-pss/
# namespace-labels-kubeflow-pss.yaml, which the dashboard overlay renders into profiles-namespace-labels-data).
TEAM_POD_SECURITY = {"pod-security.kubernetes.io/enforce": "baseline"}

_PIPELINES = "applications/pipeline/overlays"
RELIED_ON = (
    UpstreamObject("Deployment", KUBEFLOW_NAMESPACE, "ml-pipeline", _PIPELINES,
                   reads=("ConfigMap/kfp-aws-config", "Secret/mysql-secret")),
    UpstreamObject("Deployment", KUBEFLOW_NAMESPACE, "ml-pipeline-ui", _PIPELINES, reads=("ConfigMap/kfp-aws-config",)),
    UpstreamObject("Deployment", KUBEFLOW_NAMESPACE, "metadata-grpc-deployment", _PIPELINES,
                   reads=("ConfigMap/kfp-aws-config", "Secret/mysql-secret")),
    UpstreamObject("Deployment", KUBEFLOW_NAMESPACE, "cache-server", _PIPELINES,
                   reads=("ConfigMap/kfp-aws-config", "Secret/mysql-secret")),
    UpstreamObject("Deployment", KUBEFLOW_NAMESPACE, "katib-db-manager",
                   "applications/katib/upstream/installs/katib-with-kubeflow", reads=("Secret/katib-mysql-secrets",)),
)
