"""The checks `make verify` runs against a deployed stack, each proving one thing only a live platform can.

Each check takes a `Target` (what the stack's outputs say it is) and the `Ports` it talks through (the cluster, the
web, S3, Pipelines), and returns `Result`s: pass or fail, what it saw, and what to look at when it fails. The ports
are small interfaces: live.py implements them with the Kubernetes client, kfp and boto3 (the caller's own
credentials); tests/test_verify.py with fakes, so every check's pass and fail are proven offline.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from components import namespaces
from components.versions import VERIFY_AWS_CLI_IMAGE as AWS_CLI_IMAGE
from components.versions import VERIFY_CUDA_IMAGE as CUDA_IMAGE

# What each application runs, the workload whose absence means it is not there (read in the overlays' renders).
APPLICATION_WORKLOADS = {
    "pipelines": ("kubeflow", "ml-pipeline"), "notebooks": ("kubeflow", "jupyter-web-app-deployment"),
    "katib": ("kubeflow", "katib-controller"), "trainer": ("kubeflow-system", "kubeflow-trainer-controller-manager"),
    "kserve": ("kubeflow", "kserve-controller-manager"), "mlflow": ("mlflow", "mlflow"),
}
PLATFORM_WORKLOADS = (("istio-system", "istiod"), ("istio-system", "istio-ingressgateway"), ("auth", "dex"),
                      ("oauth2-proxy", "oauth2-proxy"), ("kubeflow", "dashboard"))
STAGING_ISSUER = re.compile(r"STAGING|Fake LE|\(STAGING\)", re.IGNORECASE)
# How Dex says it dropped a connector it could not open (and carried on without it).
DEX_CONNECTOR_FAILURE = re.compile(r"(?i)failed to (?:create|open|initialize|init) connector")


@dataclass(frozen=True)
class Result:
    check: str
    ok: bool
    detail: str
    hint: str = ""  # what to look at when it fails

    def line(self) -> str:
        text = f"{'PASS' if self.ok else 'FAIL'}  {self.check}: {self.detail}"
        return text if self.ok or not self.hint else f"{text}\n      look at: {self.hint}"


@dataclass(frozen=True)
class Target:
    """The deployed stack, from its outputs."""
    stack: str
    hostname: str
    bucket: str
    teams: Sequence[str]
    applications: Sequence[str]
    production: bool


@dataclass(frozen=True)
class Workload:
    kind: str
    namespace: str
    name: str
    desired: int
    ready: int


@dataclass(frozen=True)
class Certificate:
    names: Sequence[str]          # subject alternative names
    not_after: datetime.datetime  # UTC
    issuer: str


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass(frozen=True)
class PodOutcome:
    phase: str             # Succeeded, Failed, or Pending when it never started
    logs: str
    seconds_to_running: float | None = None


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    state: str                  # SUCCEEDED, FAILED, ...
    execution_ids: Sequence[int]  # each task's ML Metadata execution (0: none recorded)


class Kube(Protocol):
    def workloads(self, namespaces: Sequence[str]) -> list[Workload]: ...
    def config_map(self, namespace: str, name: str) -> dict[str, str] | None: ...
    def logs(self, namespace: str, deployment: str) -> str: ...
    def token(self, namespace: str, service_account: str) -> str: ...
    def run_pod(self, namespace: str, name: str, spec: dict, timeout: float) -> PodOutcome: ...
    def pod_get(self, namespace: str, deployment: str, port: int, path: str) -> Response: ...


class Web(Protocol):
    def resolve(self, host: str) -> list[str]: ...
    def certificate(self, host: str) -> Certificate: ...
    def get(self, url: str, headers: dict[str, str] | None = None, verify: bool = True) -> Response: ...


class Store(Protocol):
    def keys(self, bucket: str, prefix: str) -> list[str]: ...
    def delete(self, bucket: str, keys: Sequence[str]) -> None: ...


class Pipelines(Protocol):
    def run_minimal(self, host: str, token: str, namespace: str, verify: bool, timeout: float) -> RunOutcome: ...
    def delete_run(self, host: str, token: str, run_id: str, verify: bool) -> None: ...


@dataclass
class Ports:
    kube: Kube
    web: Web
    store: Store
    pipelines: Pipelines
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)


# ---- the checks ----------------------------------------------------------------------------------------------

def workloads(target: Target, ports: Ports) -> list[Result]:
    """Every Deployment, StatefulSet and DaemonSet of the platform's namespaces is available, and each application
    the stack turns on runs."""
    found = ports.kube.workloads(sorted(namespaces.PLATFORM))
    short = [w for w in found if w.ready < w.desired]
    present = {(w.namespace, w.name) for w in found}
    expected = [*PLATFORM_WORKLOADS, *(APPLICATION_WORKLOADS[a] for a in target.applications
                                       if a in APPLICATION_WORKLOADS)]
    missing = [f"{ns}/{name}" for ns, name in expected if (ns, name) not in present]
    results = [Result("platform workloads", not short,
                      f"{len(found) - len(short)} of {len(found)} available" + (
                          "; not ready: " + ", ".join(f"{w.kind} {w.namespace}/{w.name} ({w.ready}/{w.desired})"
                                                      for w in short) if short else ""),
                      "kubectl -n <namespace> describe <kind> <name>; kubectl -n <namespace> get events")]
    results.append(Result("applications", not missing,
                          f"{', '.join(target.applications)} running" if not missing
                          else "missing: " + ", ".join(missing),
                          "the overlay's Directory in `pulumi stack` and kubectl -n kubeflow get deploy"))
    return results


def front_door(target: Target, ports: Ports) -> list[Result]:
    """DNS, the certificate (valid for the hostname, not expiring, a trusted issuer in production), HTTP to HTTPS,
    and an anonymous request sent to the login."""
    host, results = target.hostname, []
    addresses = ports.web.resolve(host)
    results.append(Result("front door DNS", bool(addresses), f"{host} -> {', '.join(addresses) or 'nothing'}",
                          "kubectl -n external-dns logs deploy/external-dns; the gateway Service's hostname "
                          "annotation"))
    if not addresses:
        return results
    cert = ports.web.certificate(host)
    problems = []
    if host not in cert.names and f"*.{host.split('.', 1)[1]}" not in cert.names:
        problems.append(f"not for {host} ({', '.join(cert.names)})")
    days = (cert.not_after - ports.now()).total_seconds() / 86400
    if days < 7:
        problems.append(f"expires in {days:.0f} days")
    if target.production and STAGING_ISSUER.search(cert.issuer):
        problems.append(f"issued by a staging CA ({cert.issuer})")
    results.append(Result("certificate", not problems, "; ".join(problems) or f"for {host}, {days:.0f} days left, "
                          f"from {cert.issuer}", "kubectl -n istio-system describe certificate; cert-manager logs"))
    plain = ports.web.get(f"http://{host}/")
    location = plain.headers.get("location", "")
    results.append(Result("HTTP to HTTPS", plain.status in (301, 302, 307, 308) and location.startswith("https://"),
                          f"http://{host}/ answered {plain.status} {location}".strip(),
                          "the gateway's HTTP server (httpsRedirect) in the kubeflow-gateway"))
    anonymous = ports.web.get(f"https://{host}/", verify=target.production)
    location = anonymous.headers.get("location", "")
    to_login = anonymous.status in (302, 303) and ("/oauth2/" in location or "/dex/" in location)
    results.append(Result("login required", to_login, f"an anonymous request got {anonymous.status} {location}".strip(),
                          "the istio-ingressgateway-oauth2-proxy AuthorizationPolicy; oauth2-proxy logs"))
    return results


def machine_access(target: Target, ports: Ports) -> list[Result]:
    """A service-account token of this cluster reaches the Pipelines API through the front door (the m2m path)."""
    if not target.teams:
        return [Result("machine access", False, "the stack has no team to take a token from", "kubeflow.teams")]
    team = target.teams[0]
    token = ports.kube.token(team, "default-editor")
    answer = ports.web.get(f"https://{target.hostname}/pipeline/apis/v2beta1/healthz",
                           headers={"Authorization": f"Bearer {token}"}, verify=target.production)
    return [Result("machine access", answer.status == 200,
                   f"{team}/default-editor's token -> Pipelines API {answer.status}",
                   "RequestAuthentication istio-system/m2m-token-issuer (the cluster's OIDC issuer)")]


def pipeline(target: Target, ports: Ports, timeout: float = 900) -> list[Result]:
    """A minimal pipeline runs to completion in a team namespace, ML Metadata records its executions (which also
    proves RDS took mysql_native_password), and its artifacts land under the team's prefix. Cleaned up after."""
    if "pipelines" not in target.applications or not target.teams:
        return [Result("pipeline run", True, "skipped: the stack runs no Pipelines or has no team")]
    team = target.teams[0]
    token = ports.kube.token(team, "default-editor")
    run = ports.pipelines.run_minimal(target.hostname, token, team, target.production, timeout)
    prefix = f"private-artifacts/{team}/"
    keys = [k for k in ports.store.keys(target.bucket, prefix) if run.run_id in k]
    try:
        results = [
            Result("pipeline run", run.state == "SUCCEEDED", f"run {run.run_id} in {team}: {run.state}",
                   f"the run in the Pipelines UI; kubectl -n {team} get workflows; kubectl -n kubeflow logs "
                   "deploy/ml-pipeline"),
            Result("ML Metadata", bool(run.execution_ids) and all(run.execution_ids),
                   f"{sum(1 for e in run.execution_ids if e)} of {len(run.execution_ids)} tasks recorded",
                   "kubectl -n kubeflow logs deploy/metadata-grpc-deployment (MySQL authentication: docs/data.md)"),
            Result("artifacts in S3", bool(keys), f"{len(keys)} objects of the run under s3://{target.bucket}/{prefix}",
                   f"the team's artifact-repositories ConfigMap and kfp-launcher in {team}"),
        ]
    finally:
        ports.pipelines.delete_run(target.hostname, token, run.run_id, target.production)
        if keys:
            ports.store.delete(target.bucket, keys)
    return results


def isolation(target: Target, ports: Ports, timeout: float = 300) -> list[Result]:
    """A pod of a team, as its pipeline runs and notebooks are (default-editor, Pod Identity), lists its own prefix
    and is refused another team's (one that need not exist: the refusal is the policy's, not the data's)."""
    if not target.teams:
        return [Result("team isolation", False, "the stack has no team", "kubeflow.teams")]
    team = target.teams[0]
    other = next((t for t in target.teams if t != team), f"{team}-verify-other")
    script = (f"aws s3api list-objects-v2 --bucket {target.bucket} --prefix private-artifacts/{team}/ --max-items 1 "
              f">/dev/null && echo OWN=ok || echo OWN=refused; "
              f"aws s3api list-objects-v2 --bucket {target.bucket} --prefix private-artifacts/{other}/ --max-items 1 "
              f"2>&1 | grep -q AccessDenied && echo OTHER=denied || echo OTHER=allowed")
    outcome = ports.kube.run_pod(team, "mlplatform-verify-isolation", {
        "serviceAccountName": "default-editor", "restartPolicy": "Never",
        "containers": [{"name": "aws", "image": AWS_CLI_IMAGE, "command": ["sh", "-c", script]}]}, timeout)
    own, denied = "OWN=ok" in outcome.logs, "OTHER=denied" in outcome.logs
    return [Result("team isolation", own and denied,
                   f"{team} lists its prefix: {'yes' if own else 'no'}; {other}'s: "
                   f"{'refused' if denied else 'NOT refused' if 'OTHER=allowed' in outcome.logs else 'unknown'}",
                   f"the Pod Identity association of {team}/default-editor and its role's policy")]


def login(target: Target, ports: Ports) -> list[Result]:
    """Dex loaded every connector its configuration names (one it cannot load it drops, logging a line, and keeps
    running), and oauth2-proxy reaches its session store."""
    config = (ports.kube.config_map("auth", "dex") or {}).get("config.yaml", "")
    connectors = re.findall(r"(?m)^\s*(?:-\s*)?id:\s*(\S+)", _connectors_block(config))
    if re.search(r"(?m)^enablePasswordDB:\s*true", config):
        connectors.insert(0, "local")  # the first admin's password database
    failures = [line for line in ports.kube.logs("auth", "dex").splitlines() if DEX_CONNECTOR_FAILURE.search(line)]
    results = [Result("login connectors", bool(connectors) and not failures,
                      ("connectors " + ", ".join(connectors) if connectors else "no connector in auth/dex") +
                      ("; " + failures[0].strip() if failures else ""),
                      "kubectl -n auth logs deploy/dex; the company IdP's issuer and client (mesh.companyIdp)")]
    ready = ports.kube.pod_get("oauth2-proxy", "oauth2-proxy", 4180, "/ready")
    results.append(Result("session store", ready.status == 200, f"oauth2-proxy /ready: {ready.status} "
                          f"{ready.body.strip()[:80]}".strip(),
                          "kubectl -n oauth2-proxy logs deploy/oauth2-proxy (Redis); the session cache's security "
                          "group"))
    return results


def _connectors_block(config: str) -> str:
    """The `connectors:` list of a Dex configuration (its lines up to the next top-level key)."""
    match = re.search(r"(?ms)^connectors:\n(.*?)(?=^\S|\Z)", config)
    return match.group(1) if match else ""


def gpu(target: Target, ports: Ports, timeout: float = 1200) -> list[Result]:
    """A pod asking for one NVIDIA GPU schedules from zero, sees the GPU, and how long that took (the figure behind
    the plan's time to kernel). It costs a GPU node for about ten minutes."""
    namespace = target.teams[0] if target.teams else "default"
    outcome = ports.kube.run_pod(namespace, "mlplatform-verify-gpu", {
        "restartPolicy": "Never",
        "containers": [{"name": "cuda", "image": CUDA_IMAGE, "command": ["nvidia-smi", "-L"],
                        "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}, timeout)
    seen = "GPU 0:" in outcome.logs
    took = f", running {outcome.seconds_to_running:.0f} s after creation" if outcome.seconds_to_running else ""
    return [Result("GPU from zero", outcome.phase == "Succeeded" and seen,
                   f"{outcome.phase}{took}; {outcome.logs.strip()[:100] or 'no output'}",
                   "kubectl get events -A --field-selector reason=TriggeredScaleUp; cluster-autoscaler logs; the "
                   "nvidia-device-plugin DaemonSet")]


CHECKS: dict[str, Callable[[Target, Ports], list[Result]]] = {
    "workloads": workloads, "front-door": front_door, "machine-access": machine_access, "login": login,
    "isolation": isolation, "pipeline": pipeline,
}


def run(target: Target, ports: Ports, with_gpu: bool = False) -> list[Result]:
    """Every check; one that breaks is a failure of its own, never the end of the run."""
    results: list[Result] = []
    for name, check in [*CHECKS.items(), *([("gpu", gpu)] if with_gpu else [])]:
        try:
            results += check(target, ports)
        except Exception as error:  # noqa: BLE001 - a check that cannot run is a failed check
            results.append(Result(name, False, f"could not run: {type(error).__name__}: {error}",
                                  "the message above; `pulumi stack output` and your AWS/kubeconfig credentials"))
    return results
