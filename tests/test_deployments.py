"""The Pulumi Deployments bootstrap program (deployments/): OIDC trust, settings per stack, policy group."""

import json

import pytest

from offline.engine import ACCOUNT, ROOT
from offline.iam_eval import decide
from tests.fixtures import evaluate, stack_config

PROGRAM = ROOT / "deployments"
NS = "mlplatform-deployments"


@pytest.fixture(scope="module")
def bootstrap():
    result = evaluate("bootstrap", program=PROGRAM)
    if result.error:
        raise result.error
    return result


def _config():
    return stack_config("bootstrap")


def test_oidc_provider_trusts_pulumi_for_this_organization(bootstrap):
    provider = bootstrap.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://api.pulumi.com/oidc"
    assert provider.inputs["clientIdLists"] == [_config()[f"{NS}:organization"]]


def test_one_deploy_role_per_stack_trusted_only_for_that_stack(bootstrap):
    org = _config()[f"{NS}:organization"]
    provider = bootstrap.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    roles = {r.name.removeprefix("deploy-"): r for r in bootstrap.of_type("aws:iam/role:Role")}
    assert sorted(roles) == sorted(_config()[f"{NS}:stacks"])
    for stack, role in roles.items():
        [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        # the mocks name the provider's ARN after the resource: this is the provider created above
        assert statement["Principal"] == {"Federated": f"arn:aws:mock:us-east-1:123456789012:"
                                                       f"OpenIdConnectProvider/{provider.name}"}
        assert statement["Condition"] == {
            "StringEquals": {"api.pulumi.com/oidc:aud": org},
            "StringLike": {"api.pulumi.com/oidc:sub": f"pulumi:deploy:org:{org}:project:mlplatform:stack:{stack}:*"},
        }


def test_deployment_settings_preview_prs_and_deploy_merges(bootstrap):
    cfg = _config()
    settings = {s.inputs["stack"]: s.inputs for s in bootstrap.of_type("pulumiservice:index:DeploymentSettings")}
    assert sorted(settings) == sorted(cfg[f"{NS}:stacks"])
    for stack, inputs in settings.items():
        assert inputs["organization"] == cfg[f"{NS}:organization"] and inputs["project"] == "mlplatform"
        assert inputs["sourceContext"]["git"]["branch"] == f"refs/heads/{cfg[f'{NS}:branch']}"
        vcs = inputs["vcs"]
        assert vcs["provider"] == "github" and vcs["repository"] == cfg[f"{NS}:repository"]
        assert vcs["deployCommits"] is True and vcs["previewPullRequests"] is True
        assert f"Pulumi.{stack}.yaml" in vcs["paths"] and "components/**" in vcs["paths"]
        assert not any(p.startswith("Pulumi.") and p != f"Pulumi.{stack}.yaml" and p != "Pulumi.yaml"
                       for p in vcs["paths"])
        oidc = inputs["operationContext"]["oidc"]["aws"]
        assert oidc["roleARN"].endswith(f":role/mlplatform-deploy-{stack}")
        assert "github" not in inputs  # the deprecated form


def test_policy_group_enforces_the_pack_on_every_stack(bootstrap):
    group = bootstrap.one("pulumiservice:index:PolicyGroup").inputs
    assert group["mode"] == "preventative" and group["entityType"] == "stacks"
    assert sorted(s["name"] for s in group["stacks"]) == sorted(_config()[f"{NS}:stacks"])
    assert all(s["routingProject"] == "mlplatform" for s in group["stacks"])
    assert [p["name"] for p in group["policyPacks"]] == ["mlplatform"]


def test_stacks_listed_twice_are_rejected():
    result = evaluate("bootstrap", lambda c: c.__setitem__(f"{NS}:stacks", ["dev", "dev"]), program=PROGRAM)
    assert "must list each platform stack once" in str(result.error)
    assert result.resources == []


def test_each_platform_stack_gives_its_deploy_role_cluster_access(bootstrap):
    """The role deployments/ creates for a stack is the one that stack's config lists for an access entry
    (cluster.deployRoleArn): Pulumi Deployments can reach the cluster it deploys to, and nothing else."""
    named = {r.name.removeprefix("deploy-"): r.inputs["name"] for r in bootstrap.of_type("aws:iam/role:Role")}
    for stack, role_name in named.items():
        configured = stack_config(stack)["mlplatform:cluster"]["deployRoleArn"]
        assert configured.rsplit("/", 1)[1] == role_name == f"mlplatform-deploy-{stack}"


def test_deploy_role_policies_are_named_after_the_policy(bootstrap):
    attachments = bootstrap.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert sorted(a.name for a in attachments) == sorted(f"deploy-{s}-AdministratorAccess" for s in _config()[
        f"{NS}:stacks"])
    assert all(a.alias_names == [a.name.replace("-AdministratorAccess", "-0")] for a in attachments)


# ---- a private cluster: the agent pool ----------------------------------------------------------------------

def test_stacks_with_a_restricted_endpoint_deploy_from_the_agent_pool(bootstrap):
    """Hosted runners have no fixed egress address, so a stack whose API endpoint is private or limited to
    known ranges must run on the customer-managed pool; the others may keep the hosted runners."""
    pool = bootstrap.one("pulumiservice:index:AgentPool")
    assert pool.inputs["organizationName"] == _config()[f"{NS}:organization"]
    settings = {s.inputs["stack"]: s.inputs for s in bootstrap.of_type("pulumiservice:index:DeploymentSettings")}
    for stack, inputs in settings.items():
        cluster = stack_config(stack)["mlplatform:cluster"]
        restricted = "0.0.0.0/0" not in cluster.get("publicAccessCidrs", [])
        assert (inputs.get("agentPoolId") == f"{pool.name}-pool-id") is restricted, stack
    assert bootstrap.secret_exports >= {"agent_pool_token"}  # what an agent joins the pool with


def test_without_agent_pool_stacks_there_is_no_pool():
    result = evaluate("bootstrap", lambda c: c.__setitem__(f"{NS}:agentPoolStacks", []), program=PROGRAM)
    assert result.error is None
    assert result.of_type("pulumiservice:index:AgentPool") == []
    assert all("agentPoolId" not in s.inputs for s in result.of_type("pulumiservice:index:DeploymentSettings"))


# ---- drift -------------------------------------------------------------------------------------------------

def test_prod_is_checked_for_drift_nightly_without_remediation(bootstrap):
    [schedule] = bootstrap.of_type("pulumiservice:index:DriftSchedule")
    assert schedule.inputs["stack"] == "prod" and schedule.inputs["project"] == "mlplatform"
    assert schedule.inputs["autoRemediate"] is False
    minute, hour, day, month, weekday = schedule.inputs["scheduleCron"].split()
    assert (day, month, weekday) == ("*", "*", "*") and minute.isdigit() and hour.isdigit()  # once a day
    prod_settings = bootstrap.one("pulumiservice:index:DeploymentSettings", "prod-deployments")
    assert prod_settings.urn in schedule.dependencies  # drift runs need the stack's deployment settings
    assert bootstrap.of_type("pulumiservice:index:Webhook") == []  # no URL configured: the Drift tab only


def test_drift_can_notify_a_webhook():
    def notify(c):
        c[f"{NS}:driftWebhookUrl"] = "https://hooks.slack.com/services/T000/B000/XXXX"

    result = evaluate("bootstrap", notify, program=PROGRAM)
    [hook] = result.of_type("pulumiservice:index:Webhook")
    assert hook.inputs["stackName"] == "prod" and hook.inputs["format"] == "slack"
    assert sorted(hook.inputs["filters"]) == ["drift_detected", "drift_detection_failed"]


@pytest.mark.parametrize("key,value,words", [
    ("agentPoolStacks", ["staging"], "agentPoolStacks names staging, not in stacks"),
    ("driftStacks", ["qa"], "driftStacks names qa, not in stacks"),
    ("driftSchedule", "nightly", "driftSchedule must be a cron expression of five fields"),
])
def test_bad_settings_fail_before_anything_is_created(key, value, words):
    result = evaluate("bootstrap", lambda c: c.__setitem__(f"{NS}:{key}", value), program=PROGRAM)
    assert words in str(result.error)
    assert result.resources == []


# ---- the deploy roles' permissions boundary ---------------------------------------------------------------

@pytest.fixture(scope="module")
def boundary(bootstrap):
    policy = bootstrap.one("aws:iam/policy:Policy", "deploy-boundary")
    for role in bootstrap.of_type("aws:iam/role:Role"):
        assert role.inputs["permissionsBoundary"] == f"arn:aws:iam::{ACCOUNT}:policy/{policy.inputs['name']}"
    return json.loads(policy.inputs["policy"])


OURS = {"aws:ResourceTag/project": "mlplatform"}
THEIRS = {"aws:ResourceTag/project": "payments"}


@pytest.mark.parametrize("action,resource,context,expected", [
    # what the platform program does
    ("eks:CreateCluster", "*", {}, "Allow"),
    ("iam:CreateRole", "*", {}, "Allow"),
    ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/cluster-eks-role", OURS, "Allow"),
    ("rds:DeleteDBInstance", "*", OURS, "Allow"),
    ("ec2:TerminateInstances", "*", {}, "Allow"),
    # never: IAM users and their keys, Organizations, the account
    ("iam:CreateUser", "*", {}, "Deny"),
    ("iam:CreateAccessKey", "*", {}, "Deny"),
    ("iam:AttachUserPolicy", "*", {}, "Deny"),
    ("organizations:LeaveOrganization", "*", {}, "Deny"),
    ("account:CloseAccount", "*", {}, "Deny"),
    # never: lift the boundary or hand out administrator policies
    ("iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{ACCOUNT}:role/mlplatform-deploy-prod", {}, "Deny"),
    ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/mlplatform-deploy-dev", {}, "Deny"),
    ("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/mlplatform-deploy-boundary", {}, "Deny"),
    ("iam:AttachRolePolicy", "*", {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}, "Deny"),
    ("iam:AttachRolePolicy", "*", {"iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}, "Allow"),
    # never: change what another project owns
    ("ec2:TerminateInstances", "*", THEIRS, "Deny"),
    ("rds:DeleteDBInstance", "*", THEIRS, "Deny"),
    ("secretsmanager:GetSecretValue", "*", THEIRS, "Deny"),
    ("iam:PutRolePolicy", "*", THEIRS, "Deny"),
    # and nothing outside the platform's services
    ("route53:ChangeResourceRecordSets", "*", {}, "ImplicitDeny"),
    ("sts:AssumeRole", "*", {}, "ImplicitDeny"),
    ("lambda:CreateFunction", "*", {}, "ImplicitDeny"),
])
def test_the_boundary_caps_what_a_deployment_can_do(boundary, action, resource, context, expected):
    assert decide(boundary, action, resource, context) == expected


def test_the_boundary_allows_no_bare_wildcard_action(boundary):
    for statement in boundary["Statement"]:
        if statement["Effect"] == "Allow":
            assert "*" not in statement["Action"] and all(":" in a for a in statement["Action"])


def test_each_run_fetches_the_overlays_upstreams_once_and_builds_from_them(bootstrap):
    """A pre-run command fills the cache (tools/upstream.py); the redirect in the run's environment makes
    kustomize's git read it, instead of cloning Kubeflow's repository for each remote reference."""
    from components.versions import UPSTREAMS

    for settings in bootstrap.of_type("pulumiservice:index:DeploymentSettings"):
        context = settings.inputs["operationContext"]
        assert context["preRunCommands"] == ["python3 -m tools.upstream fetch"]
        env = context["environmentVariables"]
        cache = env["MLPLATFORM_UPSTREAM_CACHE"]
        assert env["GIT_CONFIG_COUNT"] == str(len(UPSTREAMS))
        for index, pinned in enumerate(UPSTREAMS):
            assert env[f"GIT_CONFIG_VALUE_{index}"] == pinned.repo
            assert env[f"GIT_CONFIG_KEY_{index}"].startswith(f"url.file://{cache}/")
