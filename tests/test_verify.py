"""`make verify`'s checks against fakes of what they talk to: each passes on a healthy stack and fails, with a line
that says what to look at, on the fault it exists to catch; the command exits non-zero when its target is absent or
broken; the teardown check finds what a destroy left behind."""

import dataclasses
import datetime

import pytest

from components.config import PROJECT
from tests.fixtures import stack_config
from verify import __main__ as cli
from verify import checks, teardown
from verify.checks import Certificate, PodOutcome, Response, RunOutcome, Target, Workload

NOW = datetime.datetime(2026, 12, 5, 12, 0, tzinfo=datetime.UTC)
HOST = "kubeflow.dev.ml.example.com"
BUCKET = "mlplatform-dev-artifacts-123456789012-us-east-1"
DEX_CONFIG = "issuer: http://dex.auth.svc.cluster.local:5556/dex\nenablePasswordDB: true\nstaticClients: []\n"


class FakeKube:
    def __init__(self):
        self.workload_list = [Workload("Deployment", ns, name, 1, 1) for ns, name in [
            *checks.PLATFORM_WORKLOADS, *checks.APPLICATION_WORKLOADS.values()]] + [
            Workload("DaemonSet", "kube-system", "aws-node", 3, 3)]
        self.config_maps = {("auth", "dex"): {"config.yaml": DEX_CONFIG}}
        self.log_text = {("auth", "dex"): '{"level":"INFO","msg":"listening on","server":"http"}\n'}
        self.pods = {"mlplatform-verify-isolation": PodOutcome("Succeeded", "OWN=ok\nOTHER=denied\n"),
                     "mlplatform-verify-gpu": PodOutcome("Succeeded", "GPU 0: NVIDIA L4 (UUID: GPU-1)\n", 131.0)}
        self.ready = Response(200, {}, "OK")
        self.ran, self.tokens = [], []

    def workloads(self, namespaces):
        return [w for w in self.workload_list if w.namespace in namespaces]

    def config_map(self, namespace, name):
        return self.config_maps.get((namespace, name))

    def logs(self, namespace, deployment):
        return self.log_text.get((namespace, deployment), "")

    def token(self, namespace, service_account):
        self.tokens.append((namespace, service_account))
        return f"token-of-{namespace}-{service_account}"

    def run_pod(self, namespace, name, spec, timeout):
        self.ran.append((namespace, name, spec))
        return self.pods[name]

    def pod_get(self, namespace, deployment, port, path):
        assert (namespace, deployment, port, path) == ("oauth2-proxy", "oauth2-proxy", 4180, "/ready")
        return self.ready


class FakeWeb:
    def __init__(self):
        self.addresses = ["203.0.113.10"]
        self.cert = Certificate([HOST], NOW + datetime.timedelta(days=80), "CN=R11,O=Let's Encrypt,C=US")
        self.responses = {
            f"http://{HOST}/": Response(301, {"location": f"https://{HOST}/"}),
            f"https://{HOST}/": Response(302, {"location": f"https://{HOST}/oauth2/start?rd=%2F"}),
            f"https://{HOST}/pipeline/apis/v2beta1/healthz": Response(200, {}, '{"apiServerReady":true}'),
        }
        self.requests = []

    def resolve(self, host):
        return self.addresses

    def certificate(self, host):
        return self.cert

    def get(self, url, headers=None, verify=True):
        self.requests.append((url, headers or {}, verify))
        return self.responses[url]


class FakeStore:
    def __init__(self):
        self.objects = ["private-artifacts/ml-research/v2/artifacts/mlplatform-verify/run-1/write/out",
                        "private-artifacts/ml-research/other-run/x"]
        self.deleted = []

    def keys(self, bucket, prefix):
        assert bucket == BUCKET
        return [k for k in self.objects if k.startswith(prefix)]

    def delete(self, bucket, keys):
        self.deleted += keys


class FakePipelines:
    def __init__(self):
        self.outcome = RunOutcome("run-1", "SUCCEEDED", [11, 12])
        self.deleted = []

    def run_minimal(self, host, token, namespace, verify, timeout):
        assert (host, token, namespace) == (HOST, "token-of-ml-research-default-editor", "ml-research")
        return self.outcome

    def delete_run(self, host, token, run_id, verify):
        self.deleted.append(run_id)


def healthy(production=False):
    target = Target("dev", HOST, BUCKET, ["ml-research"], ["katib", "notebooks", "pipelines", "trainer"],
                    production)
    return target, checks.Ports(FakeKube(), FakeWeb(), FakeStore(), FakePipelines(), now=lambda: NOW)


def _by_check(results):
    return {r.check: r for r in results}


def test_a_healthy_stack_passes_every_check_and_leaves_nothing_behind():
    target, ports = healthy()
    results = checks.run(target, ports, with_gpu=True)
    assert [r.check for r in results] == [
        "platform workloads", "applications", "front door DNS", "certificate", "HTTP to HTTPS", "login required",
        "machine access", "login connectors", "session store", "team isolation", "pipeline run", "ML Metadata",
        "artifacts in S3", "GPU from zero"]
    assert all(r.ok for r in results), [r.line() for r in results if not r.ok]
    assert all(r.line().startswith("PASS  ") for r in results)
    # the run and its artifacts are gone again; the other run's are untouched
    assert ports.pipelines.deleted == ["run-1"]
    assert ports.store.deleted == ["private-artifacts/ml-research/v2/artifacts/mlplatform-verify/run-1/write/out"]
    assert "131 s after creation" in _by_check(results)["GPU from zero"].detail
    # the isolation pod runs as the team's pipelines and notebooks do
    [(namespace, _, spec)] = [r for r in ports.kube.ran if r[1] == "mlplatform-verify-isolation"]
    assert namespace == "ml-research" and spec["serviceAccountName"] == "default-editor"
    # machine access presents a token of the cluster to the front door
    assert (f"https://{HOST}/pipeline/apis/v2beta1/healthz", {"Authorization":
            "Bearer token-of-ml-research-default-editor"}, False) in ports.web.requests


def _replace(obj, attribute, **changes):
    setattr(obj, attribute, dataclasses.replace(getattr(obj, attribute), **changes))


def _set(mapping, key, value):
    mapping[key] = value


# Each fault as it would show to the checks: (kube, web, store, pipelines) -> None.
FAULTS = {
    "a deployment not ready": lambda k, w, s, p: _set(k.workload_list, 0,
                                                      dataclasses.replace(k.workload_list[0], ready=0)),
    "an application missing": lambda k, w, s, p: setattr(k, "workload_list", [
        x for x in k.workload_list if x.name != "katib-controller"]),
    "no DNS record": lambda k, w, s, p: setattr(w, "addresses", []),
    "a certificate for another name": lambda k, w, s, p: _replace(w, "cert", names=["other.example.com"]),
    "a certificate about to expire": lambda k, w, s, p: _replace(w, "cert",
                                                                 not_after=NOW + datetime.timedelta(days=2)),
    "prod: a staging certificate": lambda k, w, s, p: _replace(
        w, "cert", issuer="CN=(STAGING) Ersatz Edamame E1,O=(STAGING) Let's Encrypt"),
    "plain HTTP served": lambda k, w, s, p: _set(w.responses, f"http://{HOST}/", Response(200)),
    "no login": lambda k, w, s, p: _set(w.responses, f"https://{HOST}/", Response(200, {}, "<html>dashboard</html>")),
    "machine tokens refused": lambda k, w, s, p: _set(w.responses, f"https://{HOST}/pipeline/apis/v2beta1/healthz",
                                                      Response(302, {"location": f"https://{HOST}/oauth2/start"})),
    "a dropped connector": lambda k, w, s, p: (
        _set(k.config_maps, ("auth", "dex"),
             {"config.yaml": DEX_CONFIG + "connectors:\n- type: oidc\n  id: company\n"}),
        _set(k.log_text, ("auth", "dex"), '{"level":"ERROR","msg":"Failed to open connector","connector_id":'
                                          '"company","err":"failed to get provider: 404 Not Found"}\n')),
    "no Dex configuration": lambda k, w, s, p: k.config_maps.clear(),
    "no session store": lambda k, w, s, p: setattr(k, "ready", Response(500, {}, "error: redis: connection refused")),
    "another team's prefix readable": lambda k, w, s, p: _set(
        k.pods, "mlplatform-verify-isolation", PodOutcome("Succeeded", "OWN=ok\nOTHER=allowed\n")),
    "the team's own prefix refused": lambda k, w, s, p: _set(
        k.pods, "mlplatform-verify-isolation", PodOutcome("Succeeded", "OWN=refused\nOTHER=denied\n")),
    "a failed run": lambda k, w, s, p: setattr(p, "outcome", RunOutcome("run-1", "FAILED", [11, 12])),
    "no ML Metadata": lambda k, w, s, p: setattr(p, "outcome", RunOutcome("run-1", "SUCCEEDED", [11, 0])),
    "no artifacts": lambda k, w, s, p: setattr(s, "objects", ["private-artifacts/ml-research/other-run/x"]),
    "no GPU node": lambda k, w, s, p: _set(k.pods, "mlplatform-verify-gpu", PodOutcome("Pending", "")),
}


def _break(fault):
    target, ports = healthy(production=fault.startswith("prod:"))
    FAULTS[fault](ports.kube, ports.web, ports.store, ports.pipelines)
    return target, ports


@pytest.mark.parametrize("fault,check,words", [
    ("a deployment not ready", "platform workloads", "not ready: Deployment istio-system/istiod (0/1)"),
    ("an application missing", "applications", "missing: kubeflow/katib-controller"),
    ("no DNS record", "front door DNS", f"{HOST} -> nothing"),
    ("a certificate for another name", "certificate", f"not for {HOST}"),
    ("a certificate about to expire", "certificate", "expires in 2 days"),
    ("prod: a staging certificate", "certificate", "issued by a staging CA"),
    ("plain HTTP served", "HTTP to HTTPS", "answered 200"),
    ("no login", "login required", "an anonymous request got 200"),
    ("machine tokens refused", "machine access", "Pipelines API 302"),
    ("a dropped connector", "login connectors", "Failed to open connector"),
    ("no Dex configuration", "login connectors", "no connector in auth/dex"),
    ("no session store", "session store", "oauth2-proxy /ready: 500"),
    ("another team's prefix readable", "team isolation", "NOT refused"),
    ("the team's own prefix refused", "team isolation", "lists its prefix: no"),
    ("a failed run", "pipeline run", "run run-1 in ml-research: FAILED"),
    ("no ML Metadata", "ML Metadata", "1 of 2 tasks recorded"),
    ("no artifacts", "artifacts in S3", "0 objects of the run"),
    ("no GPU node", "GPU from zero", "Pending"),
])
def test_each_check_fails_on_its_fault_and_says_where_to_look(fault, check, words):
    target, ports = _break(fault)
    results = _by_check(checks.run(target, ports, with_gpu=True))
    assert not results[check].ok and words in results[check].detail, results[check]
    assert results[check].hint and "look at: " in results[check].line()
    assert results[check].line().startswith(f"FAIL  {check}: ")
    # the other checks still ran and passed: one fault, one failure (a missing record stops the front door's others)
    assert [name for name, r in results.items() if not r.ok] == [check]


def test_a_staging_certificate_is_fine_outside_production():
    target, ports = _break("prod: a staging certificate")
    assert _by_check(checks.front_door(dataclasses.replace(target, production=False), ports))["certificate"].ok


def test_a_run_that_fails_is_still_cleaned_up():
    target, ports = _break("a failed run")
    checks.pipeline(target, ports)
    assert ports.pipelines.deleted == ["run-1"]


def test_a_check_that_cannot_run_is_a_failure_not_a_crash():
    target, ports = healthy()

    def broken(*args):
        raise ConnectionError("the API server refused the connection")
    ports.kube.workloads = broken
    results = _by_check(checks.run(target, ports))
    assert results["workloads"].detail == "could not run: ConnectionError: the API server refused the connection"
    assert not results["workloads"].ok and results["machine access"].ok


# ---- the command ----------------------------------------------------------------------------------------------

def _outputs(result):
    return dict(result.exports)


def test_the_command_reads_the_outputs_the_program_exports(dev):
    target = cli.target_of("dev", _outputs(dev))
    config = stack_config("dev")
    assert target.hostname == f"kubeflow.{config[f'{PROJECT}:addons']['dns']['domain']}"
    assert target.bucket == "mlplatform-dev-artifacts-123456789012-us-east-1"
    assert list(target.teams) == [t["name"] for t in config[f"{PROJECT}:kubeflow"]["teams"]]
    assert set(target.applications) == {"katib", "notebooks", "pipelines", "trainer"}
    assert target.production is False


def test_the_command_exits_0_when_everything_passes_and_1_when_a_check_fails(capsys):
    outputs = {"kubeflow_url": f"https://{HOST}/", "artifact_bucket": BUCKET, "kubeconfig": "{}",
               "teams": ["ml-research"], "applications": ["katib", "notebooks", "pipelines", "trainer"],
               "production": False}
    assert cli.main(["dev"], outputs_of=lambda s: outputs, ports_of=lambda o: healthy()[1]) == 0
    assert f"13 of 13 checks passed on {HOST}" in capsys.readouterr().out
    assert cli.main(["dev"], outputs_of=lambda s: outputs, ports_of=lambda o: _break("no login")[1]) == 1
    out = capsys.readouterr().out
    assert "FAIL  login required: an anonymous request got 200" in out and "12 of 13 checks passed" in out


@pytest.mark.parametrize("outputs_of,words", [
    (lambda stack: (_ for _ in ()).throw(LookupError("error: no stack named 'dev' found")),
     "FAIL  stack dev: error: no stack named 'dev' found"),
    (lambda stack: {"kubeflow_url": "https://x/"}, "FAIL  stack dev: stack dev has no output artifact_bucket, "
                                                   "kubeconfig, teams, applications, production"),
])
def test_the_command_exits_2_with_one_line_when_the_stack_is_not_there(capsys, outputs_of, words):
    assert cli.main(["dev"], outputs_of=outputs_of, ports_of=lambda o: healthy()[1]) == 2
    assert words in capsys.readouterr().out


# ---- what a destroy leaves ------------------------------------------------------------------------------------

class FakeTagging:
    """The Resource Groups Tagging API's GetResources: pages of ARNs matching every filter of a query."""

    def __init__(self, tagged):
        self.tagged, self.calls = tagged, 0

    def get_resources(self, TagFilters, PaginationToken="", ResourcesPerPage=100):
        self.calls += 1
        matching = [arn for arn, tags in self.tagged.items()
                    if all(tags.get(f["Key"]) in f["Values"] for f in TagFilters)]
        start = int(PaginationToken or 0)
        page = matching[start:start + 1]  # one per page, to walk the pages
        rest = {"PaginationToken": str(start + 1)} if start + 1 < len(matching) else {}
        return {"ResourceTagMappingList": [{"ResourceARN": arn} for arn in page], **rest}


def test_the_teardown_check_finds_what_is_left_by_its_tags():
    stack_tags = {"project": PROJECT, "pulumi-stack": "verify-abc"}
    tagging = FakeTagging({
        "arn:aws:s3:::left-bucket": stack_tags,
        "arn:aws:kms:us-east-1:1:key/k": stack_tags,
        "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/k8s-x": {
            "elbv2.k8s.aws/cluster": "mlplatform-verify-abc"},
        "arn:aws:ec2:us-east-1:1:volume/vol-1": {"kubernetes.io/cluster/mlplatform-verify-abc": "owned"},
        "arn:aws:s3:::another-stacks-bucket": {"project": PROJECT, "pulumi-stack": "prod"},
    })
    assert teardown.leftovers(tagging, "verify-abc", "mlplatform-verify-abc") == [
        "arn:aws:ec2:us-east-1:1:volume/vol-1", "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/k8s-x",
        "arn:aws:kms:us-east-1:1:key/k", "arn:aws:s3:::left-bucket"]
    assert teardown.leftovers(FakeTagging({}), "verify-abc", "mlplatform-verify-abc") == []


def test_the_teardown_check_waits_for_the_tagging_api_to_catch_up():
    tagging = FakeTagging({"arn:aws:s3:::going": {"project": PROJECT, "pulumi-stack": "verify-abc"}})
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        tagging.tagged.clear()  # deleted by now
    assert teardown.wait_until_gone(tagging, "verify-abc", "c", timeout=300, interval=30, sleep=sleep) == []
    assert slept == [30]
    stuck = FakeTagging({"arn:aws:s3:::stuck": {"project": PROJECT, "pulumi-stack": "verify-abc"}})
    assert teardown.wait_until_gone(stuck, "verify-abc", "c", timeout=60, interval=30, sleep=lambda s: None) == [
        "arn:aws:s3:::stuck"]


# ---- the live web port, against a real local server ---------------------------------------------------------------

def test_the_live_web_port_reports_a_redirect_instead_of_following_it():
    import http.server
    import threading

    from verify.live import LiveWeb

    class Redirects(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the handler's API
            self.send_response(301 if self.path == "/" else 200)
            self.send_header("Location", "https://example.test/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Redirects)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = LiveWeb().get(f"http://127.0.0.1:{server.server_port}/")
        assert answer.status == 301 and answer.headers["location"] == "https://example.test/"
        assert LiveWeb().get(f"http://127.0.0.1:{server.server_port}/x").status == 200
        assert LiveWeb().get("http://127.0.0.1:1/").status == 0  # nothing listening: a status, not an exception
    finally:
        server.shutdown()
    assert "127.0.0.1" in LiveWeb().resolve("localhost") or "::1" in LiveWeb().resolve("localhost")
