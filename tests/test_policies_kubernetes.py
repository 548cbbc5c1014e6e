"""The pack's Kubernetes policies, run the way the engine runs them (offline/analyzer.py): each fires on a bad object
in every form it covers (the program's own objects, objects an overlay renders as children of its Directory, Helm
releases) and stays quiet on a good one; and Kubeflow's rendered objects, fed to the pack as a preview feeds them,
pass, while a bad object planted among them is caught."""

import base64
import copy

import pytest
from mlplatform_policies import kubernetes, pod_security

from offline import renders
from offline.analyzer import analyze, configure, resource
from offline.engine import Registered
from tests.policy_cases import LEVEL, assert_stack_case, findings_of

NAMESPACE = "kubernetes:core/v1:Namespace"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
DIRECTORY = resource("kubernetes:kustomize/v2:Directory", "kubeflow-apps", {"directory": "overlays/apps"})



def rendered(obj: dict) -> Registered:
    """`obj` as a Directory's child, the way a preview hands it to the pack."""
    return renders.child(DIRECTORY, obj)


def own(type_: str, obj: dict) -> Registered:
    """`obj` as the program's own resource."""
    return resource(type_, obj["metadata"]["name"], obj)


def namespace(name: str, level: str | None) -> dict:
    labels = {kubernetes.POD_SECURITY_LABEL: level} if level else {}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


RESTRICTED_CONTAINER = {"name": "app", "image": "example.com/app:1.2.3", "securityContext": {
    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"}}}
BASELINE_CONTAINER = {"name": "app", "image": "example.com/app:1.2.3"}


def pod_spec(*containers, **spec) -> dict:
    return {"containers": list(containers), **spec}


def workload(kind: str, name: str, ns: str, pod: dict) -> dict:
    template = {"metadata": {"labels": {"app": name}}, "spec": pod}
    spec = {"Pod": pod, "CronJob": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}}.get(
        kind, {"template": template})
    api = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def k8s_type(obj: dict) -> str:
    return renders.resource_type(obj)


def in_stack(*objects: dict, rendered_objects: tuple[dict, ...] = ()) -> list[Registered]:
    return [*(own(k8s_type(o), o) for o in objects), DIRECTORY, *(rendered(o) for o in rendered_objects)]


# ---- Pod Security ------------------------------------------------------------------------------------------------

def with_context(container: dict, **context) -> dict:
    return {**container, "securityContext": {**container["securityContext"], **context}}


# (policy, compliant stack, violating stack, words, the resource named)
STACK_CASES = [
    # a program's own Deployment in a restricted namespace, escalating
    ("kubernetes-pod-security",
     in_stack(namespace("apps", "restricted"), workload("Deployment", "web", "apps", pod_spec(RESTRICTED_CONTAINER))),
     in_stack(namespace("apps", "restricted"), workload("Deployment", "web", "apps", pod_spec(
         with_context(RESTRICTED_CONTAINER, allowPrivilegeEscalation=True)))),
     "breaks Pod Security restricted (namespace apps): container app may escalate privileges", "web"),
    # a Job in a namespace the stack does not declare is held to restricted
    ("kubernetes-pod-security", in_stack(workload("Job", "once", "elsewhere", pod_spec(RESTRICTED_CONTAINER))),
     in_stack(workload("Job", "once", "elsewhere", pod_spec(BASELINE_CONTAINER))),
     "container app may run as root", "once"),
    # an upstream (rendered) StatefulSet's init container without seccomp, pod-level settings counted
    ("kubernetes-pod-security",
     in_stack(namespace("apps", "restricted"), rendered_objects=(workload("StatefulSet", "db", "apps", pod_spec(
         {k: v for k, v in RESTRICTED_CONTAINER.items() if k != "securityContext"} | {"securityContext": {
             "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}},
         securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}})),)),
     in_stack(namespace("apps", "restricted"), rendered_objects=(workload("StatefulSet", "db", "apps", pod_spec(
         RESTRICTED_CONTAINER, initContainers=[{**RESTRICTED_CONTAINER, "name": "init", "securityContext": {
             "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}}])),)),
     "container init has no seccomp profile", "kubeflow-apps:apps/db"),
    # baseline everywhere: a host namespace in a namespace that enforces only baseline
    ("kubernetes-pod-security",
     in_stack(namespace("team-a", "baseline"), workload("Pod", "debug", "team-a", pod_spec(BASELINE_CONTAINER))),
     in_stack(namespace("team-a", "baseline"), workload("Pod", "debug", "team-a", pod_spec(
         BASELINE_CONTAINER, hostNetwork=True))),
     "breaks Pod Security baseline (namespace team-a): shares the node's namespaces (hostNetwork)", "debug"),
    # ... and even where a namespace enforces nothing (privileged): no privileged container, no hostPath
    ("kubernetes-pod-security",
     in_stack(namespace("ops", "privileged"), workload("DaemonSet", "agent", "ops", pod_spec(BASELINE_CONTAINER))),
     in_stack(namespace("ops", "privileged"), workload("DaemonSet", "agent", "ops", pod_spec(
         {**BASELINE_CONTAINER, "securityContext": {"privileged": True}},
         volumes=[{"name": "root", "hostPath": {"path": "/"}}]))),
     "container app is privileged; mounts a hostPath volume (root)", "agent"),
    ("kubernetes-pod-security",
     in_stack(namespace("ops", "baseline"), workload("CronJob", "tidy", "ops", pod_spec(BASELINE_CONTAINER))),
     in_stack(namespace("ops", "baseline"), workload("CronJob", "tidy", "ops", pod_spec(
         {**BASELINE_CONTAINER, "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}))),
     "container app adds capabilities NET_ADMIN", "tidy"),
    ("kubernetes-pod-security-restricted",
     in_stack(namespace("team-a", "baseline"), workload("Deployment", "web", "team-a", pod_spec(RESTRICTED_CONTAINER))),
     in_stack(namespace("team-a", "baseline"), workload("Deployment", "web", "team-a", pod_spec(BASELINE_CONTAINER))),
     "would break Pod Security restricted: container app may escalate privileges", "web"),
    # mTLS: turned off anywhere, or a namespace below a STRICT mesh
    ("istio-mtls-not-weakened",
     in_stack(rendered_objects=({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                                 "metadata": {"name": "webhook", "namespace": "knative-serving"},
                                 "spec": {"portLevelMtls": {"8443": {"mode": "PERMISSIVE"}}}},)),
     in_stack(rendered_objects=({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                                 "metadata": {"name": "webhook", "namespace": "knative-serving"},
                                 "spec": {"portLevelMtls": {"8443": {"mode": "DISABLE"}}}},)),
     "port 8443 is DISABLE, below the mesh's PERMISSIVE", "kubeflow-apps:knative-serving/webhook"),
    ("istio-mtls-not-weakened",
     in_stack({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
               "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}},
              {"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
               "metadata": {"name": "apps", "namespace": "apps"}, "spec": {"mtls": {"mode": "UNSET"}}}),
     in_stack({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
               "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}},
              {"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
               "metadata": {"name": "apps", "namespace": "apps"}, "spec": {"mtls": {"mode": "PERMISSIVE"}}}),
     "mtls.mode is PERMISSIVE, below the mesh's STRICT", "apps"),
    # a team's namespace with no quota: no Profile, a Profile without one
    ("kubeflow-team-quota",
     in_stack({**namespace("team-a", "baseline"), "metadata": {"name": "team-a", "annotations": {"owner": "a@x"}}},
              {"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "team-a"},
               "spec": {"resourceQuotaSpec": {"hard": {"requests.cpu": "8", "requests.memory": "32Gi"}}}}),
     in_stack({**namespace("team-a", "baseline"), "metadata": {"name": "team-a", "annotations": {"owner": "a@x"}}}),
     "a team namespace with no quota", "team-a"),
    ("kubeflow-team-quota",
     in_stack({**namespace("team-b", "baseline"), "metadata": {"name": "team-b", "labels": {
         kubernetes.TEAM_LABEL: "team-b"}}}, {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {
             "name": "quota", "namespace": "team-b"}, "spec": {"hard": {"requests.cpu": "1"}}}),
     in_stack({"apiVersion": "kubeflow.org/v1", "kind": "Profile", "metadata": {"name": "team-b"},
               "spec": {"resourceQuotaSpec": {"hard": {"requests.nvidia.com/gpu": "1"}}}}),
     "the profile sets no quota on CPU and memory requests", "team-b"),
]


@pytest.mark.parametrize("policy,good,bad,words,subject", STACK_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(STACK_CASES)])
def test_stack_policy_fires_on_bad_and_passes_good(pack, policy, good, bad, words, subject):
    assert_stack_case(pack, policy, good, bad, words, subject)


# ---- resource policies -------------------------------------------------------------------------------------------

def lb_service(name: str, ns: str, **annotations) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns, "annotations": {
        f"{kubernetes.LB}{k.replace('_', '-')}": v for k, v in annotations.items()}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}}


def chart(**props) -> dict:
    return {"chart": "gateway", "version": "1.28.3", "repositoryOpts": {"repo": "https://charts.example.com"},
            "namespace": "istio-system", "name": "gateway", "values": {}, **props}


def secret(**fields) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "apps"}, **fields}


def binding(kind: str, role: str, *subjects: dict, name: str = "admins") -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": list(subjects)}


SA = {"kind": "ServiceAccount", "name": "ci", "namespace": "ops"}
KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key id
NLB = {"type": "external", "scheme": "internal"}
FRONT_DOOR = lb_service("istio-ingressgateway", "istio-system", type="external", scheme="internet-facing")
PROFILES_BINDING = binding("ClusterRoleBinding", "cluster-admin", {
    "kind": "ServiceAccount", "name": "profiles-controller-service-account", "namespace": "kubeflow"},
    name="profiles-cluster-rolebinding")

# (policy, form, compliant object or props, violating one, words the violation must contain); forms: "own" (the
# program's object), "rendered" (a Directory's child) or a resource type (props given as the engine sees them)
RESOURCE_CASES = [
    ("kubernetes-namespace-pod-security", "own", namespace("apps", "restricted"), namespace("apps", None),
     "the namespace enforces no Pod Security level"),
    ("kubernetes-namespace-pod-security", "rendered", namespace("apps", "baseline"), namespace("apps", "privileged"),
     "the namespace enforces privileged"),
    ("kubernetes-images-pinned", "own", workload("Deployment", "web", "apps", pod_spec(RESTRICTED_CONTAINER)),
     workload("Deployment", "web", "apps", pod_spec({**RESTRICTED_CONTAINER, "image": "nginx"})),
     "container app runs nginx"),
    ("kubernetes-images-pinned", "rendered",
     workload("CronJob", "tidy", "apps", pod_spec({**RESTRICTED_CONTAINER, "image": "r.io/x@sha256:" + "a" * 64})),
     workload("CronJob", "tidy", "apps", pod_spec(RESTRICTED_CONTAINER, initContainers=[
         {**RESTRICTED_CONTAINER, "name": "init", "image": "localhost:5000/tools:latest"}])),
     "container init runs localhost:5000/tools:latest"),
    ("kubernetes-images-pinned", RELEASE, chart(values={"image": {"repository": "r.io/x", "tag": "1.0"}}),
     chart(values={"image": {"repository": "r.io/x", "tag": "latest"}}), "values.image.tag is latest"),
    ("kubernetes-images-pinned", RELEASE, chart(values={"proxy": {"image": "r.io/proxy:1.2"}}),
     chart(values={"proxy": {"image": "r.io/proxy:latest"}}), "values.proxy.image is r.io/proxy:latest"),
    ("helm-chart-pinned", RELEASE, chart(), chart(version="^1.28"), "the chart version is ^1.28"),
    ("helm-chart-pinned", RELEASE, chart(), chart(version=None), "the chart version is not set"),
    ("helm-chart-pinned", RELEASE, chart(), chart(repositoryOpts={"repo": "http://charts.example.com"}),
     "repository http://charts.example.com is not https or OCI"),
    ("helm-chart-pinned", RELEASE, chart(chart="./charts/local", repositoryOpts={}, version=None),
     chart(chart="https://example.com/gateway-1.0.0.tgz", repositoryOpts={}),
     "the chart is fetched from a URL"),
    ("helm-chart-pinned", "kubernetes:helm.sh/v4:Chart",
     {"chart": "oci://registry.example.com/charts/app", "version": "v2.0.1"},
     {"chart": "oci://registry.example.com/charts/app"}, "the chart version is not set"),
    ("helm-chart-pinned", "kubernetes:helm.sh/v3:Chart",
     {"chart": "app", "version": "2.0.1", "fetchOpts": {"repo": "https://charts.example.com"}},
     {"chart": "app", "version": "2.0.1", "fetchOpts": {"repo": "http://charts.example.com"}},
     "is not https or OCI"),
    ("kubernetes-load-balancer-scheme", "own", lb_service("web", "apps", **NLB), lb_service("web", "apps"),
     "apps/web is left to the in-tree cloud provider"),
    ("kubernetes-load-balancer-scheme", "rendered", lb_service("web", "apps", **NLB),
     lb_service("web", "apps", type="external"), "apps/web does not state its load balancer's scheme"),
    ("kubernetes-load-balancer-scheme", "own", FRONT_DOOR,
     lb_service("web", "apps", type="external", scheme="internet-facing"),
     "apps/web gets an internet-facing load balancer nobody chose"),
    ("kubernetes-load-balancer-scheme", "own",
     {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ui", "namespace": "apps",
      "annotations": {kubernetes.ALB_SCHEME: "internal"}}, "spec": {"ingressClassName": "alb"}},
     {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "ui", "namespace": "apps",
      "annotations": {kubernetes.ALB_SCHEME: "internet-facing"}}, "spec": {"ingressClassName": "alb"}},
     "apps/ui gets an internet-facing load balancer nobody chose"),
    ("kubernetes-load-balancer-scheme", RELEASE,
     chart(values={"name": "istio-ingressgateway", "service": {"type": "LoadBalancer", "annotations": {
         f"{kubernetes.LB}type": "external", f"{kubernetes.LB}scheme": "internet-facing"}}}),
     chart(values={"name": "mlflow", "service": {"type": "LoadBalancer", "annotations": {
         f"{kubernetes.LB}type": "external", f"{kubernetes.LB}scheme": "internet-facing"}}}),
     "istio-system/mlflow gets an internet-facing load balancer nobody chose"),
    ("kubernetes-no-aws-keys", "own", secret(stringData={"password": "hunter2"}),
     secret(stringData={"credentials": f"[default]\naws_access_key_id = {KEY_ID}\n"}),
     "stringData.credentials holds an AWS access key id"),
    ("kubernetes-no-aws-keys", "rendered", secret(data={"accesskey": base64.b64encode(b"").decode()}),
     secret(data={"config": base64.b64encode(f"aws_access_key_id = {KEY_ID}".encode()).decode()}),
     "data.config holds an AWS access key id"),
    ("kubernetes-no-aws-keys", "own", secret(stringData={"accesskey": ""}), secret(stringData={"SecretKey": "x"}),
     "stringData.SecretKey holds an AWS credential"),
    ("kubernetes-no-aws-keys", "own",
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}, "data": {"k": "v"}},
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}, "data": {"k": KEY_ID}},
     "data.k holds an AWS access key id"),
    ("kubernetes-no-aws-keys", "rendered", workload("Deployment", "web", "apps", pod_spec(RESTRICTED_CONTAINER)),
     workload("Deployment", "web", "apps", pod_spec({**RESTRICTED_CONTAINER, "env": [
         {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "secret"}}}]})),
     "container app is given AWS_SECRET_ACCESS_KEY"),
    ("kubernetes-no-aws-keys", RELEASE, chart(values={"aws": {"region": "us-east-1"}}),
     chart(values={"aws": {"secretAccessKey": "wJalrXUtnFEMI"}}), "values.aws.secretAccessKey holds an AWS credential"),
    ("kubernetes-no-cluster-admin-binding", "own", binding("ClusterRoleBinding", "view", SA),
     binding("ClusterRoleBinding", "cluster-admin", SA), "binds cluster-admin to ServiceAccount ops/ci"),
    ("kubernetes-no-cluster-admin-binding", "rendered", binding("RoleBinding", "admin", SA),
     binding("RoleBinding", "cluster-admin", {"kind": "Group", "name": "devs"}), "binds cluster-admin to Group devs"),
    # upstream's listed exception holds for that object rendered by an overlay, never as the program's own
    ("kubernetes-no-cluster-admin-binding", "rendered", PROFILES_BINDING, {**PROFILES_BINDING, "subjects": [
        *PROFILES_BINDING["subjects"], SA]}, "binds cluster-admin to ServiceAccount kubeflow/profiles-controller"),
    ("kubernetes-no-cluster-admin-binding", "own", None, PROFILES_BINDING, "binds cluster-admin"),
]


def _subject(form: str, obj: dict) -> Registered:
    if form == "own":
        return own(k8s_type(obj), obj)
    if form == "rendered":
        return rendered(obj)
    return resource(form, "subject", obj)


@pytest.mark.parametrize("policy,form,good,bad,words", RESOURCE_CASES,
                         ids=[f"{c[0]}-{c[1].rsplit(':', 1)[-1]}-{i}" for i, c in enumerate(RESOURCE_CASES)])
def test_resource_policy_fires_on_bad_and_passes_good(pack, policy, form, good, bad, words):
    subject = _subject(form, bad)
    found = findings_of(pack, policy, [subject])
    assert any(words in f.report for f in found), [f.report for f in found]
    assert all("Fix: " in f.report for f in found)
    assert {f.urn for f in found} == {subject.urn} and {f.level for f in found} == {LEVEL[policy]}
    if good is not None:
        assert findings_of(pack, policy, [_subject(form, good)]) == []


def test_internet_facing_services_are_the_settings_to_choose(pack):
    web = own(SERVICE, lb_service("web", "apps", type="external", scheme="internet-facing"))
    configure(pack, {"kubernetes-load-balancer-scheme": {"internetFacing": ["apps/web"]}})
    try:
        assert findings_of(pack, "kubernetes-load-balancer-scheme", [web]) == []
        assert findings_of(pack, "kubernetes-load-balancer-scheme", [own(SERVICE, FRONT_DOOR)])  # no longer listed
    finally:
        configure(pack, {})


def test_every_kubernetes_policy_is_tested():
    tested = {c[0] for c in STACK_CASES} | {c[0] for c in RESOURCE_CASES}
    assert {p.name for p in kubernetes.POLICIES} == tested


def test_what_the_pack_judges_as_upstream_is_what_an_overlay_rendered():
    assert kubernetes.rendered_by(rendered(namespace("a", None)).urn) == "kubernetes:kustomize/v2:Directory"
    assert kubernetes.rendered_by(own(NAMESPACE, namespace("a", None)).urn) is None
    assert kubernetes.kind_of("kubernetes:core/v1:Namespace") == ("", "Namespace")
    assert kubernetes.kind_of("kubernetes:security.istio.io/v1beta1:PeerAuthentication") == (
        "security.istio.io", "PeerAuthentication")


# ---- the program's own objects and Kubeflow's rendered ones, as a preview hands them over ----------------------

def test_the_program_runs_its_pods_at_the_level_their_namespace_enforces(each_stack):
    """Every namespace the program creates enforces a level; its one pod (the database bootstrap) meets restricted."""
    levels = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"][kubernetes.POD_SECURITY_LABEL]
              for r in each_stack.of_type(NAMESPACE)}
    assert set(levels.values()) <= {"restricted", "baseline"}
    job = each_stack.one("kubernetes:batch/v1:Job")
    assert levels[job.inputs["metadata"]["namespace"]] == "restricted"
    assert pod_security.violations(job.inputs["spec"]["template"]["spec"], "restricted") == []


needs_renders = pytest.mark.skipif(not renders.available(), reason="no renders: run `make renders`")


def _slim(child: Registered) -> Registered:
    """A CRD without its schemas: no policy reads them, and they are nine tenths of the rendered bytes, which the
    pack's library deserializes once per policy (the full feed's time is a figure of `make bench`)."""
    if not child.type.endswith(":CustomResourceDefinition"):
        return child
    spec = child.inputs["spec"]
    versions = [{k: v for k, v in version.items() if k != "schema"} for version in spec.get("versions", [])]
    obj = {**child.inputs, "spec": {**spec, "versions": versions}}
    return Registered(**{**child.__dict__, "inputs": obj, "wire": obj})


def _planted(children: list[Registered]) -> dict[str, Registered]:
    """One bad object per rule, each a rendered object altered as a bad change upstream (or in an overlay) would."""
    deployment = copy.deepcopy(next(c for c in children if c.type == DEPLOYMENT).inputs)
    deployment["metadata"]["name"] = "planted"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container.update(securityContext={"privileged": True}, image="planted/tool:latest")
    return {
        "kubernetes-pod-security": rendered(deployment),
        "kubernetes-images-pinned": rendered(deployment),
        "kubernetes-no-cluster-admin-binding": rendered({**PROFILES_BINDING, "metadata": {"name": "planted"}}),
        "kubernetes-load-balancer-scheme": rendered(lb_service("planted", "kubeflow", type="external",
                                                               scheme="internet-facing")),
        "kubernetes-no-aws-keys": rendered(secret(stringData={"AWS_ACCESS_KEY_ID": KEY_ID})),
        "kubernetes-namespace-pod-security": rendered(namespace("planted", None)),
    }


@pytest.fixture(scope="module")
def rendered_analysis(each_stack, pack):
    """The pack's findings for the stack with every overlay's objects as a preview registers them (children of
    their Directory) and the planted ones among them: analyzed once, as the analysis is the costly part."""
    children = [_slim(c) for c in renders.children(each_stack)]
    planted = _planted(children)
    found = analyze(each_stack.resources + children + list({p.urn: p for p in planted.values()}.values()), pack)
    return children, planted, found


@needs_renders
def test_the_rendered_objects_pass_the_pack_as_directory_children(rendered_analysis):
    """No policy crashes on upstream's objects (a crash raises), and none finds anything in them or in the
    program's own, mandatory or advisory."""
    children, planted, found = rendered_analysis
    workloads = [c for c in children if kubernetes.pod_of(c.type, c.inputs)]
    assert len(workloads) > 20 and all(kubernetes.rendered_by(c.urn) for c in children)
    planted_urns = {p.urn for p in planted.values()}
    unplanted = [f for f in found if f.urn not in planted_urns]
    assert unplanted == [], "\n".join(f"{f.policy} [{f.level}]: {f.report}" for f in unplanted)


@needs_renders
def test_a_bad_object_planted_among_the_rendered_ones_is_caught(rendered_analysis):
    _, planted, found = rendered_analysis
    assert {(f.policy, f.urn) for f in found} >= {(policy, p.urn) for policy, p in planted.items()}
    assert all(f.level == "mandatory" for f in found)
