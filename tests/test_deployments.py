"""The Pulumi Deployments bootstrap program (deployments/): OIDC trust, settings per stack, policy group."""

import json

import pytest

from offline.engine import ROOT, evaluate, stack_config

PROGRAM = ROOT / "deployments"
NS = "mlplatform-deployments"


@pytest.fixture(scope="module")
def bootstrap():
    result = evaluate("bootstrap", program=PROGRAM)
    if result.error:
        raise result.error
    return result


def _config():
    return stack_config("bootstrap", PROGRAM)


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
