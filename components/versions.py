"""Every version this platform deploys, in one place; Python packages are pinned in the requirements files.

Each pin carries the marker Renovate reads (a `renovate: datasource=... depName=...` comment on the line above;
the rules are in renovate.json), so a bot proposes upgrades as pull requests; tests/test_versions.py keeps the
markers and the pins together. The Kubeflow commit is written here only: `make generate` writes it into the
overlays' upstream references (the one place kustomize reads it from), and a test fails when they differ.
"""


class KubernetesVersion:
    """A Kubernetes minor a stack may run, with everything that must match it (so none can be forgotten)."""

    def __init__(self, standard_support_ends: str, cluster_autoscaler_image: str):
        self.standard_support_ends = standard_support_ends  # EKS release calendar / endoflife.date
        # cluster-autoscaler's minor must match the cluster's; the chart's default image lags.
        self.cluster_autoscaler_image = cluster_autoscaler_image


# Kubernetes minors a stack may run. Bounded by two things:
# - 1.34 leaves EKS standard support on 2026-12-02; with upgrade_policy STANDARD EKS would then upgrade it.
# - every pinned component must support it (KUBERNETES_SUPPORT below; config validation checks).
KUBERNETES_VERSIONS = {
    # renovate: datasource=docker depName=registry.k8s.io/autoscaling/cluster-autoscaler
    "1.35": KubernetesVersion(standard_support_ends="2027-03-27", cluster_autoscaler_image="v1.35.2"),
    # EKS 1.36: released 2026-06-02, standard support to 2027-08-02 (EKS release calendar, as endoflife.date's
    # products/amazon-eks.md records it). cluster-autoscaler-1.36.1 is kubernetes/autoscaler's newest 1.36 tag
    # (2026-07-22); chart 9.59.0 carries the RBAC its new (off by default) features need.
    # renovate: datasource=docker depName=registry.k8s.io/autoscaling/cluster-autoscaler
    "1.36": KubernetesVersion(standard_support_ends="2027-08-02", cluster_autoscaler_image="v1.36.1"),
}
DEFAULT_KUBERNETES_VERSION = "1.35"


def minor(version: str) -> tuple[int, int]:
    major, _, rest = version.partition(".")
    return int(major), int(rest.split(".")[0])


# The Kubernetes versions each pinned component supports, where its project states a range; config
# validation rejects a cluster version outside any of them, before anything is created.
KUBERNETES_SUPPORT: dict[str, tuple[str, str]] = {
    # cert-manager's support matrix (cert-manager.io/docs/releases, read in cert-manager/website): 1.21 supports
    # 1.33-1.36.
    "cert-manager v1.21": ("1.33", "1.36"),
    # istio.io data/compatibility/supportStatus.yml: 1.30 supports 1.32-1.36 (istioctl MinK8SVersion = 32).
    "Istio 1.30": ("1.32", "1.36"),
    # Kubeflow's CI ran 26.03.1-rc.1 on Kubernetes 1.35.0 and the release branch on 1.36.1 (kind node images in
    # tests/install_KinD_create_KinD_cluster_install_kustomize.sh); the release announcement says "1.35+".
    "Kubeflow 26.03.1": ("1.35", "1.36"),
}
# Not ranges, so not checked: external-secrets states the Kubernetes versions its CI tests each minor on (2.9: 1.36;
# 2.8: 1.35-1.36; docs/introduction/stability-support.md) and supports only its newest minor. The load balancer
# controller (1.22+), external-dns (1.33+) and the NVIDIA device plugin (1.10+) state only a minimum.

# EKS managed add-ons. Each one's version is AWS's default for the cluster's Kubernetes minor at the time
# the add-on is created (aws eks describe-addon-versions) and then kept: later runs do not drift. Pin one in
# cluster.addonVersions to upgrade it (e.g. after a Kubernetes upgrade).
EKS_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver",
              "aws-efs-csi-driver", "aws-fsx-csi-driver", "metrics-server", "amazon-cloudwatch-observability")


class Chart:
    """A Helm chart pinned to one version (chart repository index)."""

    def __init__(self, name: str, repo: str, version: str):
        self.name, self.repo, self.version = name, repo, version


# Helm charts, checked against each project's release tags on 2026-11-22 (Renovate proposes newer ones).
# renovate: datasource=helm depName=aws-load-balancer-controller registryUrl=https://aws.github.io/eks-charts
AWS_LOAD_BALANCER_CONTROLLER = Chart("aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0")
# renovate: datasource=helm depName=external-dns registryUrl=https://kubernetes-sigs.github.io/external-dns/
EXTERNAL_DNS = Chart("external-dns", "https://kubernetes-sigs.github.io/external-dns/", "1.21.1")
# renovate: datasource=helm depName=cert-manager registryUrl=https://charts.jetstack.io
CERT_MANAGER = Chart("cert-manager", "https://charts.jetstack.io", "v1.21.1")
# renovate: datasource=helm depName=cluster-autoscaler registryUrl=https://kubernetes.github.io/autoscaler
CLUSTER_AUTOSCALER = Chart("cluster-autoscaler", "https://kubernetes.github.io/autoscaler", "9.59.0")
# renovate: datasource=helm depName=external-secrets registryUrl=https://charts.external-secrets.io
EXTERNAL_SECRETS = Chart("external-secrets", "https://charts.external-secrets.io", "2.9.0")
# renovate: datasource=helm depName=reloader registryUrl=https://stakater.github.io/stakater-charts
RELOADER = Chart("reloader", "https://stakater.github.io/stakater-charts", "2.2.16")
# renovate: datasource=helm depName=nvidia-device-plugin registryUrl=https://nvidia.github.io/k8s-device-plugin
NVIDIA_DEVICE_PLUGIN = Chart("nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.20.0")

# The mesh: Istio's own Helm charts, at the version the pinned Kubeflow release installs
# (community-distribution scripts/synchronize-istio-manifests.sh: COMMIT=1.30.1). One version for every chart
# and image; the images come from the release registry (charts' sources default to a testing registry).
# renovate: datasource=helm depName=istiod registryUrl=https://istio-release.storage.googleapis.com/charts
ISTIO_VERSION = "1.30.1"
ISTIO_HUB = "registry.istio.io/release"
ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"
ISTIO_BASE = Chart("base", ISTIO_REPO, ISTIO_VERSION)
ISTIOD = Chart("istiod", ISTIO_REPO, ISTIO_VERSION)
ISTIO_CNI = Chart("cni", ISTIO_REPO, ISTIO_VERSION)
ISTIO_GATEWAY = Chart("gateway", ISTIO_REPO, ISTIO_VERSION)

# Kubeflow: the community distribution (kubeflow/community-distribution, renamed from kubeflow/manifests),
# release 26.03.1. Pinned by commit: the head of branch release-26.03.1, four CI-only commits after
# 26.03.1-rc.2. No `26.03.1` tag was in the snapshot read; if one appears, switch only once
# `git rev-parse 26.03.1^{commit}` equals this SHA. Every overlay under components/ references upstream at it.
KUBEFLOW_RELEASE = "26.03.1"
KUBEFLOW_REPO = "https://github.com/kubeflow/community-distribution"
# renovate: datasource=git-refs depName=https://github.com/kubeflow/community-distribution ref=release-26.03.1
KUBEFLOW_REF = "0d1a00306501ebaf2a0edc121656752b3deeba57"
# Images an overlay runs in place of the release's: make generate writes each tag into the overlay's `images:`.
# The Pipelines UI server of KFP 2.17.0 on the release's 2.16.1 backend: 2.16.1's serves any team's artifacts to
# any signed-in user; 2.17.0 checks the user may read the namespace and that the artifact is that namespace's
# (kubeflow/pipelines#12860, #13433, #13683). Drop it once the Kubeflow release ships KFP 2.17 or later.
# renovate: datasource=docker depName=ghcr.io/kubeflow/kfp-frontend
KFP_FRONTEND_IMAGE = "ghcr.io/kubeflow/kfp-frontend:2.17.0"
OVERLAY_IMAGES = (KFP_FRONTEND_IMAGE,)


class Upstream:
    """A git repository the overlays build from, at a ref, with the commit that ref must be: the commit's hash is
    the checksum git verifies for every object fetched (tools/upstream.py fetches each once and checks)."""

    def __init__(self, repo: str, ref: str, commit: str):
        self.repo, self.ref, self.commit = repo, ref, commit


# Every repository a build of the overlays fetches with git: Kubeflow's, and the one Kubeflow's own manifests
# reference at a tag (applications/pipeline/upstream/third-party/argo at the pin). The commits were read with
# `git rev-parse <tag>^{commit}` from the repositories. JobSet comes as a release asset over HTTPS
# (applications/trainer/upstream/third-party/jobset), which git cannot serve: one download per build.
UPSTREAMS = (
    Upstream(KUBEFLOW_REPO, KUBEFLOW_REF, KUBEFLOW_REF),
    Upstream("https://github.com/argoproj/argo-workflows", "v3.7.3", "bded09fe4abd37cb98d7fc81b4c14a6f5034e9ab"),
)
JOBSET_RELEASE_ASSET = "https://github.com/kubernetes-sigs/jobset/releases/download/v0.11.0/manifests.yaml"

# Data services.
MYSQL_ENGINE_VERSION = "8.4"          # RDS picks the newest 8.4 minor and keeps it patched
MYSQL_PARAMETER_GROUP_FAMILY = "mysql8.4"
# A mysql client for the one-off job that creates Kubeflow's databases and users (ECR Public mirror of
# the Docker official image: no Docker Hub rate limits from the NAT gateways).
# renovate: datasource=docker depName=public.ecr.aws/docker/library/mysql
MYSQL_CLIENT_IMAGE = "public.ecr.aws/docker/library/mysql:8.4"
VALKEY_ENGINE_VERSION = "8.1"
# MLflow's tracking server (kubeflow.applications.mlflow): the official image with its extras, which bring boto3 (S3
# through Pod Identity) and PyMySQL (RDS); the plain image has neither (mlflow docker/Dockerfile.full).
# renovate: datasource=docker depName=ghcr.io/mlflow/mlflow
MLFLOW_IMAGE = "ghcr.io/mlflow/mlflow:v3.16.1-full"

# `make verify` (verify/): the AWS CLI its team-isolation pod lists S3 with, and a CUDA base image for its GPU check
# (nvidia-smi comes from the node's driver through the NVIDIA container toolkit).
# renovate: datasource=docker depName=public.ecr.aws/aws-cli/aws-cli
VERIFY_AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.9"
# renovate: datasource=docker depName=nvcr.io/nvidia/cuda
VERIFY_CUDA_IMAGE = "nvcr.io/nvidia/cuda:13.0.0-base-ubuntu24.04"
