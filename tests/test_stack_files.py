"""What must hold for every valid configuration, checked on the stack files at the project root (yours) and on
the tests' own fixtures: each file validates, evaluates, passes the policy pack, and keeps the wiring a real
deploy depends on. Nothing here names a value from a stack file; change account, region, domain, CIDRs, sizes,
teams or add stacks, and these still hold (or name what you broke).

Exact values (a name, a size, an ARN) are asserted on the fixtures (tests/stacks/) by the tier test files.
"""

import json

import jsonschema
import pytest

from components import addons, kubeflow, mesh
from components.addons import storage
from components.cluster.cluster import security_group_rules
from components.config import PROJECT, parse_stack_file
from components.config.environments import ENVIRONMENTS
from components.kubeflow import upstream
from components.observability import container_insights
from offline import plan
from offline.analyzer import stack_findings
from offline.engine import ROOT, StackResult, secret_value, stack_config, stacks
from tests.conftest import evaluated_file
from tests.fixtures import FIXTURES

SCHEMA = jsonschema.Draft7Validator(json.loads((ROOT / "schema" / "stack-config.schema.json").read_text()))
FILES = [(ROOT, s) for s in stacks()] + [(FIXTURES, s) for s in stacks(FIXTURES)]
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
RELEASE = "kubernetes:helm.sh/v3:Release"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
# Where each chart takes the name of the service account it runs as.
CHART_SERVICE_ACCOUNT = {
    "aws-load-balancer-controller": ("serviceAccount", "name"), "external-dns": ("serviceAccount", "name"),
    "cert-manager": ("serviceAccount", "name"), "external-secrets": ("serviceAccount", "name"),
    "cluster-autoscaler": ("rbac", "serviceAccount", "name")}
# The service accounts EKS add-ons run as (EKS user guide, each add-on's IAM section).
ADDON_SERVICE_ACCOUNTS = {"vpc-cni": "aws-node", "aws-ebs-csi-driver": storage.EBS_CSI_SERVICE_ACCOUNT,
                          "aws-efs-csi-driver": storage.EFS_CSI_SERVICE_ACCOUNT,
                          container_insights.ADDON: container_insights.SERVICE_ACCOUNT}


def _id(entry):
    directory, stack = entry
    return f"Pulumi.{stack}.yaml" if directory == ROOT else f"tests/stacks/{stack}"


@pytest.fixture(scope="module", params=FILES, ids=[_id(f) for f in FILES])
def stack_file(request, shared) -> tuple[StackResult, dict]:
    directory, stack = request.param
    return evaluated_file(shared, stack, directory), stack_config(stack, stack_files=directory)


def _settings(config, stack):
    """The configuration as the program reads it, defaults included."""
    return parse_stack_file(config, stack)


# ---- it validates, evaluates and passes the pack -------------------------------------------------------------

@pytest.mark.parametrize("directory,stack", FILES, ids=[_id(f) for f in FILES])
def test_the_stack_file_matches_the_editor_schema(directory, stack):
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in SCHEMA.iter_errors({"config": stack_config(stack, stack_files=directory)})]
    assert errors == []


def test_it_passes_the_policy_pack(stack_file):
    result, _ = stack_file
    mandatory = [f"{f.policy} on {f.urn}: {f.report}" for f in stack_findings(result) if f.level == "mandatory"]
    assert mandatory == []


@pytest.mark.parametrize("stack", stacks())
def test_its_committed_plan_is_current(stack, shared):
    """plan/<stack>.md and .json are what `make plan` writes for the code and the stack file as they are: a change
    that moves a stack's resources, cost or deploy time shows in the diff (run `make generate`)."""
    result = evaluated_file(shared, stack, ROOT)
    current = plan.of_stack(result, stack_config(stack))
    assert (plan.PLAN_DIR / f"{stack}.md").read_text() == plan.markdown(current), "run `make generate`"
    assert json.loads((plan.PLAN_DIR / f"{stack}.json").read_text()) == \
        json.loads(json.dumps(plan.as_json(current))), "run `make generate`"


def test_every_aws_resource_is_tagged_with_the_stacks_environment(stack_file):
    result, config = stack_file
    provider = result.one("pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    environment = config[f"{PROJECT}:environment"]
    assert (tags["environment"], tags["production"], tags["pulumi-stack"]) == (
        environment, str(ENVIRONMENTS[environment].production).lower(), result.stack)
    assert provider.inputs["region"] == config["aws:region"]
    provider_ref = f"{provider.urn}::{provider.name}-id"
    assert {r.provider for r in result.resources if r.custom and r.type.startswith("aws:")} == {provider_ref}


# ---- who runs as whom: Pod Identity ---------------------------------------------------------------------------

def _release_of(result, component_urn):
    return [r for r in result.of_type(RELEASE) if r.parent == component_urn]


def test_every_chart_runs_as_the_service_account_its_association_names(stack_file):
    result, _ = stack_file
    for association in result.of_type(ASSOCIATION):
        role_component = result.by_urn(association.parent)     # the ServiceAccountRole
        owner = result.by_urn(role_component.parent)             # the add-on (or application) it belongs to
        for release in _release_of(result, owner.urn):
            path = CHART_SERVICE_ACCOUNT[release.inputs["chart"]]
            values = release.inputs["values"]
            for key in path:
                values = values[key]
            assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (
                release.inputs["namespace"], values), release.inputs["chart"]
            assert association.urn in release.dependencies  # credentials exist before its pods start
        assert association.inputs["clusterName"] == result.exports["cluster_name"]
    charted = {r.inputs["chart"] for r in result.of_type(RELEASE) if r.inputs["chart"] in CHART_SERVICE_ACCOUNT}
    assert charted == set(CHART_SERVICE_ACCOUNT)  # every add-on that talks to AWS runs, each checked above


def test_eks_addons_carry_the_association_of_their_own_service_account(stack_file):
    result, _ = stack_file
    addons = {a.inputs["addonName"]: a for a in result.of_type("aws:eks/addon:Addon")}
    for name, addon in addons.items():
        associations = addon.inputs.get("podIdentityAssociations") or []
        assert [a["serviceAccount"] for a in associations] == (
            [ADDON_SERVICE_ACCOUNTS[name]] if name in ADDON_SERVICE_ACCOUNTS else []), name
    standalone = {a.inputs["serviceAccount"] for a in result.of_type(ASSOCIATION)}
    assert not standalone & set(ADDON_SERVICE_ACCOUNTS.values()), "one association per service account"


def test_kubeflows_associations_name_the_service_accounts_its_workloads_run_as(stack_file):
    result, config = stack_file
    settings = _settings(config, result.stack)
    expected = {(t.name, upstream.PROFILE_EDITOR) for t in settings.kubeflow.teams}
    if settings.kubeflow.applications.pipelines:
        expected |= {upstream.PIPELINE_API_SERVER, upstream.PIPELINE_UI}
    kubeflow_namespaces = {upstream.PIPELINE_API_SERVER[0]} | {t.name for t in settings.kubeflow.teams}
    found = {(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in result.of_type(ASSOCIATION)
             if a.inputs["namespace"] in kubeflow_namespaces}
    assert found == expected


def test_every_pod_identity_role_trusts_only_eks_pods(stack_file):
    result, _ = stack_file
    arns = {a.inputs["roleArn"] for a in result.of_type(ASSOCIATION)}
    arns |= {p["roleArn"] for a in result.of_type("aws:eks/addon:Addon") for p in a.inputs.get(
        "podIdentityAssociations") or []}
    assert arns
    for arn in arns:
        role = result.one("aws:iam/role:Role", arn.rsplit("/", 1)[1])
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"]}]


# ---- who may reach what: security groups -------------------------------------------------------------------

def test_cluster_and_node_groups_carry_exactly_the_rule_table(stack_file):
    result, config = stack_file
    groups = {k: result.ids_of(result.one("aws:ec2/securityGroup:SecurityGroup", f"cluster-{k}"))
              for k in ("cluster", "node")}
    registered = {(r.inputs["securityGroupId"], r.inputs.get("referencedSecurityGroupId") or r.inputs.get("cidrIpv4"),
                   r.inputs["ipProtocol"], r.inputs.get("fromPort"), r.inputs.get("toPort"))
                  for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] in groups.values()}
    routed = config[f"{PROJECT}:cluster"].get("privateAccessCidrs", [])
    expected = {(groups[r.target], groups[r.source], r.protocol, None if r.protocol == "-1" else r.from_port,
                 None if r.protocol == "-1" else r.to_port)
                for r in security_group_rules([*addons.WEBHOOKS, *mesh.WEBHOOKS, *kubeflow.WEBHOOKS])}
    expected |= {(groups["cluster"], cidr, "tcp", 443, 443) for cidr in routed}
    assert registered == expected


def test_data_services_admit_only_the_nodes_on_their_port(stack_file):
    result, _ = stack_file
    groups = {k: result.ids_of(result.one("aws:ec2/securityGroup:SecurityGroup", f"cluster-{k}"))
              for k in ("cluster", "node")}
    node_group, own = groups["node"], set(groups.values())
    data_rules = [r.inputs for r in result.of_type(INGRESS) if r.inputs["securityGroupId"] not in own]
    assert data_rules  # the database and the session cache at least
    for rule in data_rules:
        assert rule.get("referencedSecurityGroupId") == node_group and "cidrIpv4" not in rule
        assert rule["fromPort"] == rule["toPort"] and rule["ipProtocol"] == "tcp"
    database = result.one("aws:rds/instance:Instance").inputs
    [database_group] = database["vpcSecurityGroupIds"]
    assert [(r["fromPort"]) for r in data_rules if r["securityGroupId"] == database_group] == [database["port"]]


# ---- Kubeflow points at this stack's data services -------------------------------------------------------------

def test_kubeflow_points_at_this_stacks_database_bucket_and_cache(stack_file):
    result, config = stack_file
    exports = result.exports
    database = result.one("aws:rds/instance:Instance")
    bucket = result.one("aws:s3/bucket:Bucket", "artifacts-bucket")
    assert exports["database_endpoint"] == f"{database.inputs['identifier']}.abcdefghijkl.{config['aws:region']}" \
                                           ".rds.amazonaws.com"
    assert exports["artifact_bucket"] == bucket.inputs["bucket"] and len(bucket.inputs["bucket"]) <= 63
    if _settings(config, result.stack).kubeflow.applications.pipelines:
        data = result.kubernetes_object("kubernetes:core/v1:ConfigMap", "kfp-aws-config", "kubeflow").inputs["data"]
        assert (data["dbHost"], data["dbPort"], data["bucketName"], data["region"]) == (
            exports["database_endpoint"], str(database.inputs["port"]), exports["artifact_bucket"],
            config["aws:region"])
    cache = result.one("aws:elasticache/replicationGroup:ReplicationGroup")
    stored = json.loads(secret_value(result.one("aws:secretsmanager/secretVersion:SecretVersion",
                                                "session-cache-secret").inputs["secretString"]))
    assert stored["url"] == f"rediss://{exports['session_cache_endpoint']}:{cache.inputs['port']}"
    assert exports["session_cache_endpoint"].startswith(f"master.{cache.inputs['replicationGroupId']}.")


def test_one_hostname_across_dns_certificate_and_url(stack_file):
    result, _ = stack_file
    gateway = next(r for r in result.of_type(RELEASE) if r.inputs["name"] == "istio-ingressgateway")
    hostname = gateway.inputs["values"]["service"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"]
    certificate = result.one("kubernetes:cert-manager.io/v1:Certificate").inputs
    assert certificate["spec"]["dnsNames"] == [hostname]
    assert result.exports["kubeflow_url"] == f"https://{hostname}/"


def test_the_front_door_alone_faces_the_internet_and_only_as_the_stack_chose(stack_file):
    """The pack lets only the front door be internet-facing (it cannot read config); its scheme is the config's."""
    result, config = stack_file
    chosen = _settings(config, result.stack).mesh.load_balancer_scheme
    exposed = [r for r in result.of_type(RELEASE)
               if r.inputs["values"].get("service", {}).get("type") == "LoadBalancer"]
    assert [r.inputs["name"] for r in exposed] == ["istio-ingressgateway"]
    annotations = exposed[0].inputs["values"]["service"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == chosen


# ---- what waits for what --------------------------------------------------------------------------------------

def test_everything_in_the_cluster_waits_for_nodes_dns_and_every_admins_access(stack_file):
    """Directly, or through what it waits for: no pod is created before it can be scheduled and resolve names,
    and nothing is created before the identity running `pulumi up` may create it."""
    result, _ = stack_file
    needed = {g.urn for g in result.of_type("aws:eks/nodeGroup:NodeGroup")}
    needed |= {a.urn for a in result.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "coredns"}
    needed |= {a.urn for a in result.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    for resource in result.resources:
        if not resource.component and resource.type.startswith("kubernetes:"):
            assert needed <= result.all_dependencies(resource), resource.name


def test_every_chart_installs_after_the_load_balancer_controller(stack_file):
    """Its webhook rejects Services until it runs; on destroy, whatever made a load balancer goes first."""
    result, _ = stack_file
    releases = result.of_type(RELEASE)
    [controller] = [r for r in releases if r.inputs["chart"] == "aws-load-balancer-controller"]
    for release in releases:
        if release is not controller:
            assert controller.urn in result.all_dependencies(release), release.inputs["chart"]


def test_teams_and_applications_wait_for_the_kubeflow_platform(stack_file):
    result, _ = stack_file
    directories = {r.inputs["directory"].rsplit("/", 1)[1]: r for r in result.of_type(
        "kubernetes:kustomize/v2:Directory")}
    dashboard = directories["dashboard"].urn
    for name, directory in directories.items():
        if name not in ("platform", "dashboard", "auth"):  # the login comes first: the dashboard waits for it
            assert dashboard in result.all_dependencies(directory), name
    for profile in result.of_type("kubernetes:kubeflow.org/v1:Profile"):
        assert dashboard in result.all_dependencies(profile)


# ---- secrets stay secret -----------------------------------------------------------------------------------

def test_no_generated_secret_is_sent_in_the_clear(stack_file):
    result, _ = stack_file
    generated = [f"mock-{p.name}" for p in result.of_type("random:index/randomPassword:RandomPassword")]
    for resource in result.resources:
        leaked = [s for s in resource.plain_strings if any(g in s for g in generated)]
        assert leaked == [], resource.name
    assert result.secret_exports >= {"kubeconfig", "kubeflow_admin"}
