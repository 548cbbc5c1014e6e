"""Every version this platform pins, in one place.

Python packages are pinned in requirements.txt; everything the program itself deploys is pinned here.
"""

# Kubernetes minors a stack may run, with the date EKS standard support ends for each (EKS release
# calendar, endoflife.date/amazon-eks). The set is bounded by two things:
# - 1.34 leaves standard support on 2026-12-02; with upgrade_policy STANDARD EKS would then upgrade it.
# - 1.36 is not supported by Istio 1.29, which Kubeflow 26.03 pins (Istio 1.29: Kubernetes 1.31-1.35,
#   istio.io "supported releases"). Add it together with an Istio bump.
KUBERNETES_STANDARD_SUPPORT_ENDS = {
    "1.35": "2027-03-27",
}
DEFAULT_KUBERNETES_VERSION = "1.35"

# EKS managed add-ons. Each one's version is AWS's default for the cluster's Kubernetes minor at the time
# the add-on is created (aws eks describe-addon-versions) and then kept: later runs do not drift. Pin one in
# cluster.addonVersions to upgrade it (e.g. after a Kubernetes upgrade).
EKS_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver",
              "aws-efs-csi-driver")


class Chart:
    """A Helm chart pinned to one version (chart repository index)."""

    def __init__(self, name: str, repo: str, version: str, app_version: str):
        self.name, self.repo, self.version, self.app_version = name, repo, version, app_version


# Helm charts, checked against each project's release tags on 2026-11-22.
AWS_LOAD_BALANCER_CONTROLLER = Chart(
    "aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0", "v3.5.0")
EXTERNAL_DNS = Chart(
    "external-dns", "https://kubernetes-sigs.github.io/external-dns/", "1.21.1", "0.21.0")
CERT_MANAGER = Chart("cert-manager", "https://charts.jetstack.io", "v1.21.1", "v1.21.1")
CLUSTER_AUTOSCALER = Chart(
    "cluster-autoscaler", "https://kubernetes.github.io/autoscaler", "9.59.0", "1.35.0")
# cluster-autoscaler's minor must match the cluster's Kubernetes minor; the chart's default image lags.
CLUSTER_AUTOSCALER_IMAGE_TAGS = {"1.35": "v1.35.2"}
EXTERNAL_SECRETS = Chart("external-secrets", "https://charts.external-secrets.io", "2.9.0", "v2.9.0")
NVIDIA_DEVICE_PLUGIN = Chart(
    "nvidia-device-plugin", "https://nvidia.github.io/k8s-device-plugin", "0.20.0", "0.20.0")

# Data services.
MYSQL_ENGINE_VERSION = "8.4"          # RDS picks the newest 8.4 minor and keeps it patched
MYSQL_PARAMETER_GROUP_FAMILY = "mysql8.4"
# A mysql client for the one-off job that creates Kubeflow's databases and users (ECR Public mirror of
# the Docker official image: no Docker Hub rate limits from the NAT gateways).
MYSQL_CLIENT_IMAGE = "public.ecr.aws/docker/library/mysql:8.4"
VALKEY_ENGINE_VERSION = "8.1"
VALKEY_PARAMETER_GROUP_FAMILY = "valkey8"
