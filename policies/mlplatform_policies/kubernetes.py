"""Kubernetes: Pod Security, pinned images and charts, load balancers someone chose, no AWS keys, cluster-admin for
no one, mTLS not weakened, a quota for every team.

Sources: the Kubernetes Pod Security Standards (pod_security.py); CIS Amazon EKS Benchmark 4.1.1 (cluster-admin),
4.2 (Pod Security), 5.4.5 (load balancers); EKS best practices ("Security: Pod Security", "Image security",
"Multi-tenancy: quotas"); Istio's security best practices (mTLS); Helm's "Chart provenance" docs.

What the pack sees. In a real preview every object a `kustomize.v2.Directory` (or `yaml.v2.ConfigGroup`, or
`helm.v4.Chart`) renders arrives as a resource of its own whose URN names the Directory as its parent: Kubeflow's
upstream Deployments as much as the program's own Job. Both are judged by the same rules, at the same level:
admission would refuse a pod that breaks its namespace's Pod Security level anyway, and a new Kubeflow pin that
brings a privileged pod or a cluster-admin binding should stop at review, not at deploy. The few upstream objects
this platform accepts although they break a rule are listed in UPSTREAM_EXCEPTIONS with the reason; an exception
holds only for that object rendered by an overlay, never for the program's own. A `helm.v3.Release` is one opaque
resource: its inputs (chart, version, repository, values) are judged, the objects the chart renders are not.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from . import pod_security
from ._base import (
    ADVISORY,
    UNKNOWN,
    document,
    get,
    is_sequence,
    items,
    keys,
    known,
    resource_policy,
    stack_policy,
    stack_violation,
)

POD_SECURITY_LABEL = "pod-security.kubernetes.io/enforce"
RENDERING_COMPONENTS = frozenset({"kubernetes:kustomize/v2:Directory", "kubernetes:yaml/v2:ConfigGroup",
                                  "kubernetes:yaml/v2:ConfigFile", "kubernetes:helm.sh/v4:Chart"})
HELM_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart")
# Where each workload kind keeps its pod spec.
POD_SPECS = {
    ("", "Pod"): ("spec",),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}
ISTIO_ROOT_NAMESPACE = "istio-system"
MTLS_STRENGTH = {"DISABLE": 0, "PERMISSIVE": 1, "STRICT": 2}
ISTIO_DEFAULT_MTLS = "PERMISSIVE"  # what the mesh does with no mesh-wide PeerAuthentication
TEAM_LABEL = "mlplatform.io/team"
PROFILE_OWNER_ANNOTATION = "owner"  # a namespace Kubeflow's profile controller adopts as a team's


class UpstreamException(NamedTuple):
    kind: tuple[str, str]
    namespace: str | None
    name: str
    subjects: tuple[str, ...]  # for a binding: exactly these subjects, "Kind namespace/name"
    why: str


# Upstream objects accepted although they break a rule, each for the reason given; matched only on objects an
# overlay renders (Directory children).
UPSTREAM_EXCEPTIONS = (
    UpstreamException(("rbac.authorization.k8s.io", "ClusterRoleBinding"), None, "profiles-cluster-rolebinding",
                      ("ServiceAccount kubeflow/profiles-controller-service-account",),
                      "Kubeflow's profile controller (applications/dashboard/upstream/profile-controller/base/"
                      "cluster-role-binding.yaml) runs as cluster-admin: it creates each team's namespace, "
                      "RoleBindings to kubeflow-admin/edit/view and Istio policies; no narrower role is published or "
                      "tested upstream"),
)


# ---- reading Kubernetes objects ----------------------------------------------------------------------------

def kind_of(resource_type: str) -> tuple[str, str] | None:
    """kubernetes:apps/v1:Deployment -> ("apps", "Deployment"); the core group is ""."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return None
    group = parts[1].rsplit("/", 1)[0]
    return ("" if group == "core" else group), parts[2]


def kinds(*wanted: tuple[str, str]) -> Callable[[str], bool]:
    """A test of resource types: these kinds, in any API version."""
    return lambda resource_type: kind_of(resource_type) in wanted


def rendered_by(urn: str) -> str | None:
    """The type of the component that rendered this object (its parent, as the URN's type chain says), if an
    overlay or chart rendered it; None for the program's own objects."""
    chain = urn.split("::")[2].split("$") if urn.count("::") >= 3 else []
    return chain[-2] if len(chain) >= 2 and chain[-2] in RENDERING_COMPONENTS else None


def accepted_upstream(resource_type: str, urn: str, props: Any) -> UpstreamException | None:
    if rendered_by(urn) is None:
        return None
    kind = kind_of(resource_type)
    namespace, name = get(props, "metadata", "namespace"), get(props, "metadata", "name")
    subjects = tuple(_subjects(props))
    return next((e for e in UPSTREAM_EXCEPTIONS
                 if (e.kind, e.namespace, e.name, e.subjects) == (kind, namespace, name, subjects)), None)


def _subjects(props: Any) -> Iterator[str]:
    for s in items(get(props, "subjects")):
        namespace = get(s, "namespace")
        yield f"{get(s, 'kind')} {namespace + '/' if isinstance(namespace, str) else ''}{get(s, 'name')}"


def namespace_of(props: Any) -> Any:
    return get(props, "metadata", "namespace", default="default")


def pod_of(resource_type: str, props: Any) -> tuple[Any, Any] | None:
    """(pod spec, pod annotations) of a workload; None for other kinds."""
    path = POD_SPECS.get(kind_of(resource_type) or ("", ""))
    if path is None:
        return None
    return get(props, *path), get(props, *path[:-1], "metadata", "annotations")


def helm_values(props: Any) -> Any:
    values = get(props, "values")
    return document(values) if isinstance(values, str) else values


def walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) in nested maps and lists."""
    yield path, value
    if value is UNKNOWN or value is None or isinstance(value, str):
        return
    if is_sequence(value):
        for index, item in enumerate(items(value)):
            yield from walk(item, (*path, str(index)))
    elif keys(value):
        for key in keys(value):
            yield from walk(get(value, key, default=None), (*path, key))


# ---- Pod Security --------------------------------------------------------------------------------------------

def _enforced_levels(resources) -> dict[str, str]:
    """The level each namespace the stack declares enforces (its own label; privileged when it has none)."""
    levels = {}
    for r in resources:
        if kind_of(r.resource_type) == ("", "Namespace"):
            name, level = get(r.props, "metadata", "name"), get(r.props, "metadata", "labels", POD_SECURITY_LABEL)
            if isinstance(name, str):
                levels[name] = level if level in pod_security.LEVELS else "privileged"
    return levels


def _required_level(namespace: Any, levels: dict[str, str]) -> str:
    """What a pod in `namespace` must meet: the namespace's level, at least baseline (no privileged pod, host
    namespace or hostPath anywhere), and restricted where the stack does not declare the namespace."""
    declared = levels.get(namespace, "restricted") if isinstance(namespace, str) else "restricted"
    return declared if pod_security.at_least(declared, "baseline") else "baseline"


def _workloads(resources) -> Iterator[tuple[Any, Any, Any]]:
    for r in resources:
        pod = pod_of(r.resource_type, r.props)
        if pod is not None and pod[0] is not None and accepted_upstream(r.resource_type, r.urn, r.props) is None:
            yield r, *pod


@stack_policy("kubernetes-pod-security",
              "Every pod the stack runs, the program's own and those of Kubeflow's rendered manifests, meets the Pod "
              "Security level its namespace enforces (restricted where the stack does not declare the namespace), "
              "and none anywhere is privileged or uses the node's namespaces or paths.",
              "Kubernetes Pod Security Standards; CIS EKS 4.2")
def pod_security_met(args, config):
    levels = _enforced_levels(args.resources)
    for r, pod, pod_annotations in _workloads(args.resources):
        namespace = namespace_of(r.props)
        level = _required_level(namespace, levels)
        problems = pod_security.violations(pod, level, pod_annotations)
        if problems:
            yield stack_violation(
                r, f"breaks Pod Security {level} (namespace {namespace}): {'; '.join(problems)}",
                "set the pod's and each container's securityContext as the Pod Security Standards ask "
                "(allowPrivilegeEscalation: false, capabilities.drop [ALL], runAsNonRoot: true, "
                "seccompProfile.type RuntimeDefault), or patch the upstream object in its overlay")


@stack_policy("kubernetes-pod-security-restricted",
              "Pods in namespaces that enforce only baseline (the teams') should still meet restricted where they "
              "can: advisory, to show what a stricter namespace would refuse.",
              "Kubernetes Pod Security Standards; EKS best practices, \"Pod Security\"", level=ADVISORY)
def pod_security_restricted(args, config):
    levels = _enforced_levels(args.resources)
    for r, pod, pod_annotations in _workloads(args.resources):
        level = _required_level(namespace_of(r.props), levels)
        if level != "restricted":
            problems = pod_security.violations(pod, "restricted", pod_annotations)
            if problems:
                yield stack_violation(r, f"would break Pod Security restricted: {'; '.join(problems)}",
                                      "set the securityContext the restricted level asks for")


@resource_policy("kubernetes-namespace-pod-security",
                 "Every namespace the stack creates enforces a Pod Security level, baseline or restricted: "
                 "without the label a namespace admits privileged pods.",
                 "Kubernetes Pod Security Admission; CIS EKS 4.2", kinds(("", "Namespace")))
def namespace_pod_security(props, args, config):
    level = get(props, "metadata", "labels", POD_SECURITY_LABEL)
    if known(level) and level not in ("baseline", "restricted"):
        yield f"the namespace enforces {level or 'no Pod Security level'}", \
            f"label it {POD_SECURITY_LABEL}: restricted (baseline only where workloads need it)"


# ---- images and charts ------------------------------------------------------------------------------------

def image_unpinned(image: Any) -> bool:
    """An image with neither a digest nor a tag other than `latest` (so whatever was pushed last runs)."""
    if not isinstance(image, str) or "@sha256:" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.rsplit(":", 1)[1] in ("", "latest")


def _unpinned_images(resource_type: str, props: Any) -> Iterator[str]:
    pod = pod_of(resource_type, props)
    if pod is not None:
        for name, container in pod_security.containers(pod[0]):
            if image_unpinned(get(container, "image")):
                yield f"container {name} runs {get(container, 'image')}"
    elif resource_type in HELM_TYPES:
        for path, value in walk(helm_values(props)):
            leaf = path[-1] if path else ""
            if (leaf == "image" and image_unpinned(value) and ":" in str(value)) or \
                    (leaf == "tag" and value == "latest"):
                yield f"values.{'.'.join(path)} is {value}"


def _is_workload_or_chart(resource_type: str) -> bool:
    return kind_of(resource_type) in POD_SPECS or resource_type in HELM_TYPES


@resource_policy("kubernetes-images-pinned",
                 "Every container image is pinned, by a digest or a tag other than latest, in pods and in chart "
                 "values: a floating tag deploys whatever was pushed last, unreviewed.",
                 "EKS best practices, \"Image security\"", _is_workload_or_chart)
def images_pinned(props, args, config):
    for found in _unpinned_images(args.resource_type, props):
        yield found, "pin the image to a release tag or a digest"


EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


@resource_policy("helm-chart-pinned",
                 "Every Helm chart comes from an https or OCI repository at an exact version: no plain-http "
                 "repository, no version range, no missing version (which takes the newest).",
                 "Helm docs, \"Chart provenance and integrity\"; this project's pinning rule", HELM_TYPES)
def chart_pinned(props, args, config):
    chart = get(props, "chart")
    repo = get(props, "fetchOpts" if args.resource_type == "kubernetes:helm.sh/v3:Chart" else "repositoryOpts",
               "repo")
    version = get(props, "version")
    if not known(chart) or not known(repo) or not known(version):
        return
    local = isinstance(chart, str) and chart.startswith(("./", "../", "/")) and not repo
    if isinstance(chart, str) and chart.startswith(("http://", "https://")):
        yield f"the chart is fetched from a URL ({chart})", "name the chart, its https repository and a version"
    elif isinstance(repo, str) and repo and not repo.startswith(("https://", "oci://")):
        yield f"the chart's repository {repo} is not https or OCI", "use the repository's https or oci:// address"
    if not local and not (isinstance(version, str) and EXACT_VERSION.match(version)):
        yield f"the chart version is {version or 'not set'}", "set the exact chart version (components/versions.py)"


# ---- load balancers ---------------------------------------------------------------------------------------

LB = "service.beta.kubernetes.io/aws-load-balancer-"
ALB_SCHEME = "alb.ingress.kubernetes.io/scheme"
SCHEMES = ("internal", "internet-facing")
INTERNET_FACING_DEFAULT = ["istio-system/istio-ingressgateway"]  # Kubeflow's front door
LB_CONFIG = {"internetFacing": {
    "type": "array", "items": {"type": "string"}, "default": INTERNET_FACING_DEFAULT,
    "description": "namespace/name of the Services (or Ingresses) allowed an internet-facing load balancer"}}


def _load_balancer_problems(where: str, annotations: Any, load_balancer_class: Any, allowed: list[str],
                            alb: bool = False) -> Iterator[tuple[str, str]]:
    if not (known(annotations) and known(load_balancer_class)):
        return
    scheme = get(annotations, ALB_SCHEME if alb else f"{LB}scheme")
    if not alb and get(annotations, f"{LB}type") not in ("external", "nlb-ip") \
            and load_balancer_class != "service.k8s.aws/nlb":
        yield f"{where} is left to the in-tree cloud provider, which makes a Classic Load Balancer open to the " \
              "internet", f"annotate it {LB}type: external (the AWS Load Balancer Controller's NLB)"
    if not known(scheme):
        return
    if scheme not in SCHEMES:
        yield f"{where} does not state its load balancer's scheme", \
            f"annotate it {ALB_SCHEME if alb else LB + 'scheme'}: internal (or internet-facing, if chosen)"
    elif scheme == "internet-facing" and where not in allowed:
        yield f"{where} gets an internet-facing load balancer nobody chose", \
            "make it internal, route it through the front door (mesh.loadBalancerScheme chooses that one), or " \
            "list it in this policy's internetFacing setting"


def _is_exposed(resource_type: str) -> bool:
    return kind_of(resource_type) in (("", "Service"), ("networking.k8s.io", "Ingress")) or \
        resource_type in HELM_TYPES


@resource_policy("kubernetes-load-balancer-scheme",
                 "Every Service of type LoadBalancer (and every ALB Ingress) is handed to the AWS Load Balancer "
                 "Controller and states its scheme; only the front door, whose scheme the stack's "
                 "mesh.loadBalancerScheme chooses, or a Service listed in the policy's settings, is internet-facing.",
                 "CIS EKS 5.4.5; AWS Load Balancer Controller docs, \"Service annotations\"", _is_exposed,
                 config=LB_CONFIG)
def load_balancer_scheme(props, args, config):
    allowed = list(config.get("internetFacing", INTERNET_FACING_DEFAULT))
    kind = kind_of(args.resource_type)
    name, namespace = get(props, "metadata", "name"), namespace_of(props)
    if kind == ("", "Service"):
        if get(props, "spec", "type") == "LoadBalancer":
            yield from _load_balancer_problems(f"{namespace}/{name}", get(props, "metadata", "annotations"),
                                               get(props, "spec", "loadBalancerClass"), allowed)
    elif kind == ("networking.k8s.io", "Ingress"):
        annotations = get(props, "metadata", "annotations")
        if "alb" in (get(props, "spec", "ingressClassName"), get(annotations, "kubernetes.io/ingress.class")):
            yield from _load_balancer_problems(f"{namespace}/{name}", annotations, None, allowed, alb=True)
    else:  # a chart's values: any service block of type LoadBalancer
        values = helm_values(props)
        release_name = get(values, "name") if isinstance(get(values, "name"), str) else get(props, "name")
        for path, block in walk(values):
            if path and get(block, "type") == "LoadBalancer":
                where = f"{get(props, 'namespace', default='default')}/{release_name}"
                yield from _load_balancer_problems(where, get(block, "annotations"),
                                                   get(block, "loadBalancerClass"), allowed)


# ---- AWS keys ------------------------------------------------------------------------------------------------

ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])")
KEY_NAMES = frozenset({"awsaccesskeyid", "awssecretaccesskey", "accesskeyid", "secretaccesskey", "accesskey",
                       "secretkey"})
KEY_ENV = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})


def _key_name(name: str) -> bool:
    return re.sub(r"[^a-z]", "", name.lower()) in KEY_NAMES


def _decoded(value: Any) -> Any:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError, TypeError):
        return value


def _keys_in_data(kind: tuple[str, str] | None, props: Any) -> Iterator[str]:
    fields = ("data", "stringData") if kind == ("", "Secret") else ("data",)
    for field in fields:
        for key in keys(get(props, field)):
            value = get(props, field, key)
            value = _decoded(value) if field == "data" and kind == ("", "Secret") else value
            if _key_name(key) and isinstance(value, str) and value.strip():
                yield f"{field}.{key} holds an AWS credential"
            elif isinstance(value, str) and ACCESS_KEY_ID.search(value):
                yield f"{field}.{key} holds an AWS access key id"


def _aws_keys(resource_type: str, props: Any) -> Iterator[str]:
    kind = kind_of(resource_type)
    if kind in (("", "Secret"), ("", "ConfigMap")):
        yield from _keys_in_data(kind, props)
    elif kind in POD_SPECS:
        pod = pod_of(resource_type, props)
        for name, container in pod_security.containers(pod[0] if pod else None):
            for env in items(get(container, "env")):
                if get(env, "name") in KEY_ENV:
                    yield f"container {name} is given {get(env, 'name')}"
    elif resource_type in HELM_TYPES:
        for path, value in walk(helm_values(props)):
            if isinstance(value, str) and (ACCESS_KEY_ID.search(value) or
                                           (path and _key_name(path[-1]) and value.strip())):
                yield f"values.{'.'.join(path)} holds an AWS credential"


def _may_carry_keys(resource_type: str) -> bool:
    return kind_of(resource_type) in (("", "Secret"), ("", "ConfigMap"), *POD_SPECS) or resource_type in HELM_TYPES


@resource_policy("kubernetes-no-aws-keys",
                 "No Kubernetes Secret, ConfigMap, container environment or chart value carries an AWS access key: "
                 "pods get short-lived credentials from EKS Pod Identity.",
                 "FSBP IAM.6 (no long-lived keys); EKS best practices, \"Identities and credentials\"",
                 _may_carry_keys)
def no_aws_keys(props, args, config):
    for found in _aws_keys(args.resource_type, props):
        yield found, "remove it and give the pod's service account a Pod Identity association with the role it needs"


# ---- RBAC ------------------------------------------------------------------------------------------------------

@resource_policy("kubernetes-no-cluster-admin-binding",
                 "No RoleBinding or ClusterRoleBinding grants cluster-admin: the platform's admins get it through EKS "
                 "access entries (cluster.adminRoleArns); upstream's exceptions are listed, with the reason, in "
                 "policies/mlplatform_policies/kubernetes.py.",
                 "CIS EKS 4.1.1", kinds(("rbac.authorization.k8s.io", "ClusterRoleBinding"),
                                        ("rbac.authorization.k8s.io", "RoleBinding")))
def no_cluster_admin_binding(props, args, config):
    if get(props, "roleRef", "kind") != "ClusterRole" or get(props, "roleRef", "name") != "cluster-admin":
        return
    if accepted_upstream(args.resource_type, args.urn, props):
        return
    yield f"binds cluster-admin to {', '.join(_subjects(props)) or 'its subjects'}", \
        "bind a role with only the verbs and resources it needs; people get admin through EKS access entries"


# ---- Istio ----------------------------------------------------------------------------------------------------

def _modes(props: Any) -> Iterator[tuple[str, Any]]:
    yield "mtls.mode", get(props, "spec", "mtls", "mode")
    levels = get(props, "spec", "portLevelMtls")
    for port in keys(levels):
        yield f"port {port}", get(levels, port, "mode")


@stack_policy("istio-mtls-not-weakened",
              "No Istio PeerAuthentication turns mTLS off, or sets a workload or namespace below the mesh-wide mode "
              "(the root namespace's PeerAuthentication; PERMISSIVE, Istio's default, without one).",
              "Istio docs, \"Security best practices\" (mutual TLS)")
def mtls_not_weakened(args, config):
    authentications = [r for r in args.resources
                       if kind_of(r.resource_type) == ("security.istio.io", "PeerAuthentication")]
    mesh = ISTIO_DEFAULT_MTLS
    for r in authentications:
        if namespace_of(r.props) == ISTIO_ROOT_NAMESPACE and get(r.props, "spec", "selector") is None:
            mode = get(r.props, "spec", "mtls", "mode")
            mesh = mode if mode in MTLS_STRENGTH else mesh
    for r in authentications:
        for where, mode in _modes(r.props):
            if mode in MTLS_STRENGTH and (mode == "DISABLE" or MTLS_STRENGTH[mode] < MTLS_STRENGTH[mesh]):
                yield stack_violation(r, f"{where} is {mode}, below the mesh's {mesh}",
                                      f"remove it, or set {mesh} (UNSET inherits the mesh's mode)")


# ---- teams ------------------------------------------------------------------------------------------------------

QUOTA_KEYS = ("requests.cpu", "requests.memory")


def _team_namespace(props: Any) -> bool:
    return get(props, "metadata", "labels", TEAM_LABEL) is not None or \
        get(props, "metadata", "annotations", PROFILE_OWNER_ANNOTATION) is not None


@stack_policy("kubeflow-team-quota",
              "Every team namespace (a Kubeflow profile) has a quota on CPU and memory requests: its Profile's "
              "resourceQuotaSpec or a ResourceQuota of its own, so one team cannot take the cluster.",
              "EKS best practices, \"Multi-tenancy\" (quotas)")
def team_quota(args, config):
    quota_for: dict[str, Any] = {}
    for r in args.resources:
        kind = kind_of(r.resource_type)
        if kind == ("kubeflow.org", "Profile"):
            hard = get(r.props, "spec", "resourceQuotaSpec", "hard")
            quota_for.setdefault(get(r.props, "metadata", "name"), hard)
            if known(hard) and not all(get(hard, k) is not None for k in QUOTA_KEYS):
                yield stack_violation(r, "the profile sets no quota on CPU and memory requests",
                                      "set spec.resourceQuotaSpec.hard requests.cpu and requests.memory")
        elif kind == ("", "ResourceQuota"):
            quota_for[namespace_of(r.props)] = get(r.props, "spec", "hard")
    for r in args.resources:
        if kind_of(r.resource_type) == ("", "Namespace") and _team_namespace(r.props):
            name = get(r.props, "metadata", "name")
            if known(name) and name not in quota_for:
                yield stack_violation(r, "a team namespace with no quota",
                                      "give it a Profile with resourceQuotaSpec (kubeflow.teams) or a ResourceQuota")


POLICIES = [pod_security_met, pod_security_restricted, namespace_pod_security, images_pinned, chart_pinned,
            load_balancer_scheme, no_aws_keys, no_cluster_admin_binding, mtls_not_weakened, team_quota]
