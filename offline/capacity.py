"""What a stack's always-on CPU nodes can schedule, against what the platform asks of them.

Always on: the untainted node groups at their minimum size (GPU groups are tainted and start at zero).
Allocatable per node follows the AL2023 EKS AMI's kubelet reservations; the add-ons' requests are their
pinned charts' and EKS add-ons' defaults (none of our values sets resources).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.instance_types import CATALOGUE
from offline.engine import Registered


@dataclass(frozen=True)
class Resources:
    cpu_m: int
    memory_mi: int

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory_mi + other.memory_mi)

    def times(self, count: int) -> Resources:
        return Resources(self.cpu_m * count, self.memory_mi * count)

    def holds(self, other: Resources) -> bool:
        return self.cpu_m >= other.cpu_m and self.memory_mi >= other.memory_mi

    def __str__(self) -> str:
        return f"{self.cpu_m / 1000:g} vCPU, {self.memory_mi / 1024:.1f} GiB"


# kubeflow/manifests README, prerequisites: 16 GB of RAM and 8 CPU cores for the whole install.
KUBEFLOW_RECOMMENDED = Resources(cpu_m=8000, memory_mi=16 * 1024)

# What each part of Kubeflow takes, per the pinned release's README ("Kubeflow Components Versions" table at
# kubeflow/community-distribution@0d1a003: the larger of measured usage and configured requests). The
# platform's parts always run; each application only when the stack turns it on (config kubeflow.applications).
KUBEFLOW_PLATFORM = {
    "Istio 1.30.1": Resources(750, 2364), "Dex 2.45.1": Resources(3, 27), "OAuth2-Proxy 7.15.2": Resources(3, 27),
    "Dashboard v2.0.0": Resources(10, 302),
}
KUBEFLOW_APPLICATIONS = {
    "pipelines": {"KFP 2.16.1": Resources(970, 3552)},
    "notebooks": {"Notebooks v1.11.0": Resources(43, 806)},
    "katib": {"Katib v0.19.0": Resources(13, 476)},
    "trainer": {"Trainer v2.2.0": Resources(8, 143)},
    # MLflow is not in the release: its server's own requests (components/kubeflow/mlflow.py) and its sidecar's.
    "mlflow": {"MLflow 3.16.1 (requests)": Resources(200, 768), "its Istio sidecar (requests)": Resources(100, 128)},
    "kserve": {"KServe v0.18.0": Resources(600, 1200), "KServe Models Web App v0.18.0": Resources(6, 259),
               "Knative 1.22.0": Resources(1450, 1038)},
}


def kubeflow_needs(applications: set[str]) -> Resources:
    """What the platform layer and these applications take."""
    total = Resources(0, 0)
    for part in [KUBEFLOW_PLATFORM, *(KUBEFLOW_APPLICATIONS[a] for a in sorted(applications))]:
        for resources in part.values():
            total += resources
    return total

# Requests of the add-ons at their pinned versions, read from each chart's values.yaml and the EKS add-ons'
# upstream manifests: every Helm chart here (load balancer controller, external-dns, cert-manager,
# cluster-autoscaler, external-secrets, NVIDIA device plugin) requests nothing; coredns 2 x 100m/70Mi
# (EKS 1.35 default manifest, as eksctl carries it); EBS CSI controller 2 x 60m/240Mi
# (aws-ebs-csi-driver@v1.53.0 deploy/kubernetes/base/controller.yaml). Per node: aws-node 50m
# (amazon-vpc-cni-k8s@v1.20.4 config/master/aws-k8s-cni.yaml), ebs-csi-node 30m/120Mi, kube-proxy 100m
# (the commonly quoted figure; its manifest is not public). metrics-server 2 x 100m/200Mi (the EKS add-on runs
# two replicas; kubernetes-sigs/metrics-server@5ed5d3a charts/metrics-server/values.yaml:176-179). Container
# Insights (aws-observability/helm-charts@71a298f charts/amazon-cloudwatch-observability/values.yaml): its operator
# 100m/64Mi (:630-633); per node the agent 250m/128Mi (:751-754) and Fluent Bit 50m/25Mi (:43-49), counted whatever
# the mode; the DCGM exporter runs on GPU nodes only.
ADDON_DEPLOYMENTS = Resources(cpu_m=320 + 200 + 100, memory_mi=620 + 400 + 64)
ADDON_PER_NODE = Resources(cpu_m=180 + 300, memory_mi=120 + 153)

# Pods per node with the VPC CNI and no prefix delegation: ENIs x (IPv4 addresses per ENI - 1) + 2
# (amazon-eks-ami nodeadm eni_max_pods.go); 110 is nodeadm's fallback when it does not know the type.
_MAX_PODS = {"xlarge": 58, "2xlarge": 58, "4xlarge": 234}


def allocatable(instance_type: str) -> Resources:
    """What kubelet offers pods on an AL2023 node (awslabs/amazon-eks-ami@v20260724,
    nodeadm/internal/kubelet/config.go): kube-reserved CPU 6% of the first core, 1% of the second, 0.5% of
    cores 3-4, 0.25% above; kube-reserved memory 11Mi x maxPods + 255Mi; hard eviction at 100Mi free."""
    shape = CATALOGUE[instance_type]
    total_m = shape.vcpus * 1000
    reserved_m = 0
    for start, end, per_10000 in ((0, 1000, 600), (1000, 2000, 100), (2000, 4000, 50), (4000, total_m, 25)):
        reserved_m += max(0, min(total_m, end) - start) * per_10000 // 10000
    max_pods = _MAX_PODS.get(shape.size, 110)
    memory_mi = int(shape.memory_gib * 1024) - (11 * max_pods + 255) - 100
    return Resources(total_m - reserved_m, memory_mi)


def always_on(resources: list[Registered], drained: int = 0) -> tuple[Resources, int]:
    """Allocatable of the untainted node groups at their minimum, and how many nodes that is; `drained`: with that
    many of the largest nodes gone (an upgrade or an interruption draining one)."""
    nodes_allocatable: list[Resources] = []
    for group in (r for r in resources if r.type == "aws:eks/nodeGroup:NodeGroup"):
        if group.inputs.get("taints"):
            continue
        # cluster-autoscaler's assumption, enforced by config: every type of a group has one shape.
        nodes_allocatable += [allocatable(group.inputs["instanceTypes"][0])] * group.inputs["scalingConfig"]["minSize"]
    kept = sorted(nodes_allocatable, key=lambda r: (r.cpu_m, r.memory_mi))[:max(0, len(nodes_allocatable) - drained)]
    total = Resources(0, 0)
    for node in kept:
        total += node
    return total, len(kept)


def applications_in(resources: list[Registered]) -> set[str]:
    """The Kubeflow applications a stack installs: those whose overlay it applies, and MLflow where its server runs."""
    applied = {str(r.inputs.get("directory", "")).rsplit("/", 1)[-1] for r in resources
               if r.type == "kubernetes:kustomize/v2:Directory"}
    applied |= {"mlflow" for r in resources if r.type == "kubernetes:apps/v1:Deployment" and r.name == "mlflow-server"}
    return {app for app in KUBEFLOW_APPLICATIONS if app in applied}


def addon_requests(nodes: int) -> Resources:
    return ADDON_DEPLOYMENTS + ADDON_PER_NODE.times(nodes)


@dataclass(frozen=True)
class Capacity:
    """A stack's always-on capacity against what it runs, as the plan reports it."""
    nodes: int                   # untainted nodes at their groups' minimum
    available: Resources         # what they offer pods
    addons: Resources            # the add-ons' requests on them
    applications: frozenset[str]  # the Kubeflow applications the stack installs
    kubeflow: Resources          # what the platform layer and those applications take
    drained: Resources           # what is left with one node drained
    drained_addons: Resources    # the add-ons' requests on the nodes left

    @property
    def holds_recommended(self) -> bool:
        """Whether the nodes hold upstream's recommended size for the whole install, plus the add-ons."""
        return self.available.holds(KUBEFLOW_RECOMMENDED + self.addons)

    @property
    def holds_with_one_drained(self) -> bool:
        """Whether one node fewer still holds what this stack runs, plus the add-ons."""
        return self.drained.holds(self.kubeflow + self.drained_addons)


def of_stack(resources: list[Registered]) -> Capacity:
    available, nodes = always_on(resources)
    drained, left = always_on(resources, drained=1)
    applications = frozenset(applications_in(resources))
    return Capacity(nodes=nodes, available=available, addons=addon_requests(nodes), applications=applications,
                    kubeflow=kubeflow_needs(set(applications)), drained=drained,
                    drained_addons=addon_requests(left))
