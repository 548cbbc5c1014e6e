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

# EKS managed add-ons installed with the cluster (components/cluster.py). Each one's version is AWS's
# default for the cluster's Kubernetes minor (aws eks describe-addon-versions) unless the stack pins it
# in cluster.addonVersions.
CORE_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns")
