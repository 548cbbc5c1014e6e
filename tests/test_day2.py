"""Day 2: a node drain (an upgrade) is never blocked; rotating a credential flows to the database and the pods with
no manual step; `pulumi destroy` removes what holds volumes and load balancers while their controllers still run;
whoever runs Pulumi without access is stopped before any Kubernetes resource."""

import json
import math

import pytest

from components.addons.external_secrets import FORCE_SYNC
from components.addons.reloader import CONFIG_MAP_ANNOTATION, SECRET_ANNOTATION
from components.cluster.cluster import NoAccess, check_access
from components.data.database import CREDENTIALS_VERSION, bootstrap_secret_name
from components.kubeflow import upstream
from offline import renders, upgrade
from offline.engine import ACCOUNT
from offline.iam_eval import decide
from tests.fixtures import evaluate

RELEASE = "kubernetes:helm.sh/v3:Release"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
PASSWORD = "random:index/randomPassword:RandomPassword"


# ---- drains ------------------------------------------------------------------------------------------------------

def _disruptions_allowed(replicas: int, budget: dict) -> int:
    """How many pods a PodDisruptionBudget lets a drain evict at `replicas` (the disruption controller's rounding:
    minAvailable percentages round up, maxUnavailable percentages round up)."""
    def count(value, round_up):
        if isinstance(value, str) and value.endswith("%"):
            share = replicas * int(value[:-1]) / 100
            return math.ceil(share) if round_up else math.floor(share)
        return int(value)
    if "maxUnavailable" in budget:
        return count(budget["maxUnavailable"], True)
    return replicas - count(budget.get("minAvailable", 1), True)


def _chart_budget(chart: str, values: dict) -> tuple[int, dict] | None:
    """The budget a chart makes from these values, with the fewest replicas it runs; None if it makes none.
    Read at each chart's pin: istio 1.30.1 istio-discovery/templates/poddisruptionbudget.yaml (only above one
    replica; pdb.minAvailable 1) and gateway/templates/poddisruptionbudget.yaml (only if podDisruptionBudget is set
    and above one replica); cert-manager v1.21.1 and external-secrets v2.9.0 values.yaml (podDisruptionBudget
    .enabled false); aws-load-balancer-controller v3.5.0 values.yaml (podDisruptionBudget {}); Reloader 2.2.16
    values.yaml (enabled false); cluster-autoscaler (the program sets it)."""
    if chart == "istiod":
        replicas = values.get("autoscaleMin", 1)
        return (replicas, {"minAvailable": 1}) if replicas > 1 else None
    if chart == "gateway":
        scaling = values.get("autoscaling", {})
        replicas = scaling.get("minReplicas", 1) if scaling.get("enabled", True) else values.get("replicaCount", 1)
        budget = values.get("podDisruptionBudget") or {}
        return (replicas, budget) if budget and replicas > 1 else None
    if chart in ("cert-manager", "external-secrets"):
        budget = values.get("podDisruptionBudget", {})
        return (values.get("replicaCount", 1), budget) if budget.get("enabled") else None
    if chart == "reloader":
        budget = values.get("reloader", {}).get("podDisruptionBudget", {})
        return (1, budget) if budget.get("enabled") else None
    budget = values.get("podDisruptionBudget") or {}
    return (values.get("replicaCount", 1), budget) if budget else None


def test_no_chart_budget_blocks_a_drain(each_stack):
    """A managed node group's update respects PodDisruptionBudgets and fails on one that allows nothing."""
    budgets = {}
    for release in each_stack.of_type(RELEASE):
        found = _chart_budget(release.inputs["chart"], release.inputs["values"])
        if found:
            replicas, budget = found
            budgets[release.inputs["name"]] = _disruptions_allowed(replicas, budget)
    assert budgets and all(allowed >= 1 for allowed in budgets.values()), budgets
    # prod runs two istiods, so the chart adds a budget (and sidecar injection survives a drain); dev runs one
    assert ("istiod" in budgets) is (each_stack.stack == "prod")


needs_renders = pytest.mark.skipif(not renders.available(), reason="no renders: run `make renders`")


@needs_renders
def test_no_overlay_budget_blocks_a_drain():
    """Every PodDisruptionBudget Kubeflow's overlays render lets one pod go at the fewest replicas of what it selects
    (its HorizontalPodAutoscaler's minimum, else its replicas)."""
    checked = 0
    for objects in renders.load().values():
        workloads = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
        scaled = {o["spec"]["scaleTargetRef"]["name"]: o["spec"].get("minReplicas", 1)
                  for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
        for budget in (o for o in objects if o["kind"] == "PodDisruptionBudget"):
            selector = budget["spec"].get("selector", {}).get("matchLabels", {})
            for workload in workloads:
                labels = workload["spec"]["template"]["metadata"].get("labels", {})
                if workload["metadata"].get("namespace") == budget["metadata"].get("namespace") and \
                        selector.items() <= labels.items():
                    replicas = scaled.get(workload["metadata"]["name"], workload["spec"].get("replicas", 1))
                    allowed = _disruptions_allowed(replicas, budget["spec"])
                    assert allowed >= 1 or budget["spec"].get("minAvailable") == 0, budget["metadata"]["name"]
                    checked += 1
    assert checked >= 1


def test_node_groups_roll_a_third_at_a_time(each_stack):
    for group in each_stack.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group.inputs["updateConfig"] == {"maxUnavailablePercentage": 33}


# ---- destroy -----------------------------------------------------------------------------------------------------

def test_destroy_removes_team_namespaces_while_their_controllers_run(prod, dev):
    """Destroy deletes in reverse dependency order: a team's namespace (users' volume claims, InferenceServices'
    load balancers, the applications' custom resources with finalizers) goes before the storage drivers, the load
    balancer controller and every application."""
    for result in (prod, dev):
        drivers = [a.urn for a in result.of_type("aws:eks/addon:Addon")
                   if a.inputs["addonName"] in ("aws-ebs-csi-driver", "aws-efs-csi-driver")]
        controller = next(r.urn for r in result.of_type(RELEASE) if r.inputs["chart"] == "aws-load-balancer-controller")
        applications = [d.urn for d in result.of_type("kubernetes:kustomize/v2:Directory")
                        if d.inputs["directory"].rsplit("/", 1)[1] in ("pipelines", "notebooks", "katib", "trainer",
                                                                        "kserve", "knative")]
        assert drivers and applications
        for team in result.of_type("mlplatform:team:Team"):
            namespace = next(r for r in result.of_type("kubernetes:core/v1:Namespace") if r.parent == team.urn)
            waited = result.all_dependencies(namespace)
            assert {*drivers, controller, *applications} <= waited, team.name


# ---- rotation ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rotated(prod):
    def rotate(c):
        c["mlplatform:data"]["database"]["credentialsVersion"] = 2
        c["mlplatform:data"]["sessionCache"]["credentialsVersion"] = 2
    return evaluate("prod", rotate)


def test_a_rotation_is_one_config_change_that_replaces_the_passwords_and_reruns_the_bootstrap(prod, rotated):
    for result, version in ((prod, 1), (rotated, 2)):
        passwords = {p.name: p.inputs.get("keepers") for p in result.of_type(PASSWORD)}
        for name in ("database-kfp-password", "database-katib-password", "session-cache-auth-token"):
            assert passwords[name] == {"credentialsVersion": str(version)}  # a new keeper: a new password
        job = result.one("kubernetes:batch/v1:Job")
        assert job.inputs["metadata"]["annotations"] == {CREDENTIALS_VERSION: str(version)}
        [source] = job.inputs["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert source["secretRef"]["name"] == bootstrap_secret_name(version) == f"mysql-bootstrap-v{version}"
        # the Job's Secret is a new one per version, filled from Secrets Manager once the new values are stored
        bootstrap = result.kubernetes_object(EXTERNAL_SECRET, bootstrap_secret_name(version), "mlplatform-data")
        assert bootstrap.inputs["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Ready"}
        versions = {v.urn for v in result.of_type("aws:secretsmanager/secretVersion:SecretVersion")
                    if v.name in ("database-kubeflow-secret", "database-katib-secret")}
        assert versions <= set(bootstrap.dependencies) and bootstrap.urn in job.dependencies
    # the cache accepts the new token beside the one in use until oauth2-proxy restarts
    cache = rotated.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache.inputs["authTokenUpdateStrategy"] == "ROTATE"


def test_readers_resync_after_the_new_value_is_applied_and_restart(rotated):
    """Each Secret holding a rotated credential is force-synced at the new version once the database users (or the
    cache) have it; Reloader restarts each Deployment that reads it."""
    job = rotated.one("kubernetes:batch/v1:Job")
    cache = rotated.one("aws:elasticache/replicationGroup:ReplicationGroup")
    for name, namespace, applied in (("mysql-secret", "kubeflow", job), ("katib-mysql-secrets", "kubeflow", job),
                                     ("oauth2-proxy-redis", "oauth2-proxy", cache)):
        synced = rotated.kubernetes_object(EXTERNAL_SECRET, name, namespace)
        assert synced.inputs["metadata"]["annotations"] == {FORCE_SYNC: "credentials-v2"}
        assert applied.urn in rotated.all_dependencies(synced), name


def test_every_reader_of_a_rotated_credential_restarts_when_it_changes():
    """What Kubeflow's Deployments read that the program creates (upstream.RELIED_ON) is named in their Reloader
    annotations, in the overlay that applies them (the rendered check: tests/test_rendered.py)."""
    from tests.test_kubeflow import OVERLAYS, _patches
    annotated = {}
    for overlay in ("pipelines", "katib"):
        for patch in _patches(overlay):
            annotations = patch.get("metadata", {}).get("annotations") or {}
            if SECRET_ANNOTATION in annotations:
                annotated[patch["metadata"]["name"]] = set(annotations[SECRET_ANNOTATION].split(","))
    assert OVERLAYS.is_dir()
    for relied in upstream.RELIED_ON:
        for read in relied.reads:
            kind, name = read.split("/")
            if kind == "Secret":
                targets = [n for n in annotated if n == relied.name or n == "each-matched"]
                assert any(name in annotated[n] for n in targets), (relied.name, name)


def test_reloader_restarts_by_annotation_only_what_asks(prod):
    release = next(r for r in prod.of_type(RELEASE) if r.inputs["chart"] == "reloader")
    values = release.inputs["values"]["reloader"]
    assert values["reloadStrategy"] == "annotations" and values["watchGlobally"] is True
    assert "reloader.stakater.com/auto" not in json.dumps([r.inputs for r in prod.resources])
    namespace = prod.kubernetes_object("kubernetes:core/v1:Namespace", "reloader")
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {SECRET_ANNOTATION, CONFIG_MAP_ANNOTATION} == {"secret.reloader.stakater.com/reload",
                                                           "configmap.reloader.stakater.com/reload"}


# ---- preflight ---------------------------------------------------------------------------------------------------

ADMIN = "arn:aws:iam::111122223333:role/platform-admin"
SSO = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"


@pytest.mark.parametrize("caller,allowed", [
    ("arn:aws:sts::111122223333:assumed-role/platform-admin/alice", True),
    ("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice", True),  # path not in it
    ("arn:aws:iam::111122223333:role/platform-admin", True),
    ("arn:aws:sts::111122223333:assumed-role/developer/alice", False),
    ("arn:aws:sts::444455556666:assumed-role/platform-admin/alice", False),  # another account's role of that name
    ("arn:aws:iam::111122223333:user/alice", False),
])
def test_only_a_role_with_an_access_entry_gets_through(caller, allowed):
    if allowed:
        assert check_access(caller, [ADMIN, SSO]) == caller
    else:
        with pytest.raises(NoAccess, match="has no access entry in this cluster"):
            check_access(caller, [ADMIN, SSO])


def test_a_caller_without_access_stops_the_run_before_any_kubernetes_resource():
    result = evaluate("dev", caller="arn:aws:sts::111122223333:assumed-role/developer/alice")
    assert isinstance(result.error, NoAccess) or "has no access entry" in str(result.error)
    assert "cluster.adminRoleArns" in str(result.error)
    assert not [r for r in result.resources if r.type.startswith("kubernetes:") and r.custom]


# ---- upgrades ----------------------------------------------------------------------------------------------------

def test_an_upgrade_rehearsal_lists_the_control_plane_then_the_nodes_then_the_autoscaler(dev):
    after = evaluate("dev", lambda c: c["mlplatform:cluster"].update(kubernetesVersion="1.36"))
    steps = upgrade.changes(dev, after)
    kinds = [s.resource.type for s in steps]
    groups = len(dev.of_type("aws:eks/nodeGroup:NodeGroup"))
    assert kinds == ["aws:eks/cluster:Cluster", *["aws:eks/nodeGroup:NodeGroup"] * groups, RELEASE]
    assert steps[0].fields == {"version": ("1.35", "1.36")}
    assert steps[-1].fields == {"values.image.tag": ("v1.35.2", "v1.36.1")}
    # nothing stateful changes: the database, cache, buckets, file systems and keys stay as they are
    assert not {s.resource.type for s in steps} & {"aws:rds/instance:Instance", "aws:kms/key:Key",
                                                   "aws:elasticache/replicationGroup:ReplicationGroup"}


def test_the_rehearsal_upgrades_one_minor_at_a_time():
    """From the stack file's own version (or the default), before anything is evaluated."""
    with pytest.raises(SystemExit, match="one minor at a time"):
        upgrade.rehearse("dev", "1.35" if "1.35" in upgrade.KUBERNETES_VERSIONS else "1.36")
    with pytest.raises(SystemExit, match="not a Kubernetes version"):
        upgrade.rehearse("dev", "1.99")


# ---- the boundary of the roles the program writes policies for ------------------------------------------------------

def _boundary(result):
    return json.loads(result.one("aws:iam/policy:Policy", "cluster-pod-role-boundary").inputs["policy"])


def _context(statement: dict) -> dict[str, str]:
    """The condition values a statement requires, as the request context that meets them."""
    return {key: values if isinstance(values, str) else values[0]
            for operator, keys in statement.get("Condition", {}).items() if operator.startswith("String")
            for key, values in keys.items()}


def test_every_pod_role_with_a_policy_of_ours_is_capped_and_keeps_what_it_needs(each_stack):
    """Each Allow of each such role's policy, action by action and resource by resource, is inside the boundary: the
    boundary takes nothing away today and caps what a change could add."""
    boundary = _boundary(each_stack)
    boundary_arn = f"arn:aws:iam::{ACCOUNT}:policy/mlplatform-{each_stack.stack}-pod-role-boundary"
    associated = {a.inputs["roleArn"].rsplit("/", 1)[1] for a in each_stack.of_type(
        "aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    for addon in each_stack.of_type("aws:eks/addon:Addon"):
        associated |= {p["roleArn"].rsplit("/", 1)[1] for p in addon.inputs.get("podIdentityAssociations", [])}
    policies = {p.inputs["role"].removesuffix("-id"): json.loads(p.inputs["policy"])
                for p in each_stack.of_type("aws:iam/rolePolicy:RolePolicy")}
    capped = associated & set(policies)
    assert len(capped) >= 8
    for name in associated:
        role = each_stack.one("aws:iam/role:Role", name)
        # ours are capped; the three on AWS managed policies only (VPC CNI, EBS and EFS CSI) are AWS's to scope
        assert (role.inputs.get("permissionsBoundary") == boundary_arn) is (name in capped), name
        for statement in policies.get(name, {}).get("Statement", []):
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                for resource in resources:
                    assert decide(boundary, action, resource, _context(statement)) == "Allow", (name, action, resource)


@pytest.mark.parametrize("action,resource", [
    ("iam:CreateUser", "*"), ("iam:PassRole", "*"), ("iam:CreateRole", "*"), ("sts:AssumeRole", "*"),
    ("s3:GetObject", "arn:aws:s3:::another-stacks-bucket/key"), ("s3:DeleteBucket", "arn:aws:s3:::mlplatform-prod-x"),
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:other-cluster/db"),
    ("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/eks/mlplatform-prod/cluster"),
    ("ec2:RunInstances", "*"), ("kms:ScheduleKeyDeletion", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"),
    ("rds:DeleteDBInstance", "*"), ("cloudwatch:PutMetricData", "*"),
])
def test_the_boundary_refuses_what_no_pod_role_of_this_stack_needs(prod, action, resource):
    assert decide(_boundary(prod), action, resource, {"cloudwatch:namespace": "Custom"}) == "ImplicitDeny"
