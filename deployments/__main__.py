"""Pulumi Deployments for the mlplatform stacks, as code.

Per environment stack: a deploy role in AWS that only Pulumi Deployments runs of that stack can assume
(OIDC, no stored keys), and deployment settings that preview every pull request and run `pulumi up` on
every merge to the main branch. One preventative policy group enforces the mlplatform policy pack on
all of them.
"""

import json

import pulumi
import pulumi_aws as aws
import pulumi_pulumiservice as ps

PLATFORM_PROJECT = "mlplatform"
POLICY_PACK = "mlplatform"
OIDC_HOST = "api.pulumi.com/oidc"
# Changes under these paths trigger previews and deployments of the platform stacks.
WATCHED_PATHS = ["__main__.py", "components/**", "policies/**", "Pulumi.yaml", "Pulumi.{stack}.yaml",
                 "requirements.txt"]
# Deploying the platform creates IAM roles, VPCs, EKS, RDS...; the role is as broad as the program.
# Narrow it with a permissions boundary if your organisation has one.
DEFAULT_DEPLOY_POLICIES = ["arn:aws:iam::aws:policy/AdministratorAccess"]

config = pulumi.Config()
organization = config.require("organization")
repository = config.require("repository")
branch = config.get("branch") or "main"
stacks: list[str] = config.require_object("stacks")
deploy_policies: list[str] = config.get_object("deployPolicyArns") or DEFAULT_DEPLOY_POLICIES
policy_pack_version = config.get("policyPackVersion")  # None: the latest published version
region = pulumi.Config("aws").require("region")
if not stacks or len(set(stacks)) != len(stacks):
    raise pulumi.RunError("mlplatform-deployments:stacks must list each platform stack once, e.g. [dev, prod]")


def deploy_trust(provider_arn: str, stack: str) -> dict:
    """Only Pulumi Deployments runs of this organization, project and stack may assume the role
    (Pulumi docs, "Configuring OpenID Connect for AWS")."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {f"{OIDC_HOST}:aud": organization},
                "StringLike": {
                    f"{OIDC_HOST}:sub": f"pulumi:deploy:org:{organization}:project:{PLATFORM_PROJECT}"
                                        f":stack:{stack}:*",
                },
            },
        }],
    }


oidc = aws.iam.OpenIdConnectProvider(
    "pulumi-oidc",
    url=f"https://{OIDC_HOST}",
    client_id_lists=[organization],
)

def deploy_role_name(stack: str) -> str:
    """A fixed name, so the platform stack can list the role's ARN (cluster.deployRoleArn) for its access entry."""
    return f"{PLATFORM_PROJECT}-deploy-{stack}"


roles = {}
for stack in stacks:
    role = aws.iam.Role(
        f"deploy-{stack}",
        name=deploy_role_name(stack),
        description=f"Pulumi Deployments of {organization}/{PLATFORM_PROJECT}/{stack}",
        assume_role_policy=oidc.arn.apply(lambda arn, stack=stack: json.dumps(deploy_trust(arn, stack))),
        max_session_duration=3600 * 2,
    )
    for index, arn in enumerate(deploy_policies):
        # Named after the policy, so removing one never renames another's attachment (alias: the old name).
        aws.iam.RolePolicyAttachment(f"deploy-{stack}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn,
                                     opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"deploy-{stack}-{index}")]))
    roles[stack] = role

    ps.DeploymentSettings(
        f"{stack}-deployments",
        organization=organization,
        project=PLATFORM_PROJECT,
        stack=stack,
        source_context=ps.DeploymentSettingsSourceContextArgs(
            git=ps.DeploymentSettingsGitSourceArgs(branch=f"refs/heads/{branch}", repo_dir="."),
        ),
        vcs=ps.DeploymentSettingsVcsArgs(
            provider="github",
            repository=repository,
            deploy_commits=True,          # `pulumi up` when a commit lands on the branch
            preview_pull_requests=True,   # `pulumi preview` (with the policy pack) on every PR
            paths=[p.format(stack=stack) for p in WATCHED_PATHS],
        ),
        operation_context=ps.DeploymentSettingsOperationContextArgs(
            oidc=ps.OperationContextOIDCArgs(aws=ps.AWSOIDCConfigurationArgs(
                role_arn=role.arn, session_name=f"pulumi-deployments-{stack}")),
            environment_variables={"AWS_REGION": region},
        ),
    )

ps.PolicyGroup(
    "mlplatform-guardrails",
    name="mlplatform-guardrails",
    organization_name=organization,
    entity_type="stacks",
    mode="preventative",  # violations of mandatory policies block previews and updates
    stacks=[ps.PolicyGroupStackReferenceArgs(name=stack, routing_project=PLATFORM_PROJECT) for stack in stacks],
    policy_packs=[ps.PolicyGroupPolicyPackReferenceInputArgs(name=POLICY_PACK, version_tag=policy_pack_version)],
)

pulumi.export("oidc_provider_arn", oidc.arn)
pulumi.export("deploy_role_arns", {stack: role.arn for stack, role in roles.items()})
