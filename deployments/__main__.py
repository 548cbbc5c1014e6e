"""Pulumi Deployments for the mlplatform stacks, as code.

Per environment stack: a deploy role in AWS that only Pulumi Deployments runs of that stack can assume
(OIDC, no stored keys), capped by a permissions boundary (boundary.py), and deployment settings that preview
every pull request and run `pulumi up` on every merge to the main branch. Stacks whose cluster API endpoint
the internet cannot reach run on a customer-managed agent pool inside the network that can; production
stacks get a nightly drift check. One preventative policy group enforces the mlplatform policy pack on all.
"""

import json
import re
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_pulumiservice as ps
from boundary import deploy_boundary

# The platform program's repository root: the pins of the upstream repositories its overlays build from.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools import upstream  # noqa: E402  (stdlib only, like components/versions.py it reads)

PLATFORM_PROJECT = "mlplatform"
POLICY_PACK = "mlplatform"
OIDC_HOST = "api.pulumi.com/oidc"
# Changes under these paths trigger previews and deployments of the platform stacks.
WATCHED_PATHS = ["__main__.py", "components/**", "policies/**", "Pulumi.yaml", "Pulumi.{stack}.yaml",
                 "requirements.txt"]
# Deploying the platform creates IAM roles, VPCs, EKS, RDS...: the role's policy is broad, and the
# permissions boundary (boundary.py) is what limits it.
DEFAULT_DEPLOY_POLICIES = ["arn:aws:iam::aws:policy/AdministratorAccess"]
BOUNDARY_NAME = f"{PLATFORM_PROJECT}-deploy-boundary"
AGENT_POOL = f"{PLATFORM_PROJECT}-agents"
# Each run fetches the overlays' upstream repositories once, into this cache, and kustomize's git reads them from
# there (tools/upstream.py) instead of cloning Kubeflow's repository for every remote reference.
UPSTREAM_CACHE = "/tmp/mlplatform-upstream"
PRE_RUN_COMMANDS = ["python3 -m tools.upstream fetch"]
# A nightly drift check, after the working day in most of the world's timezones (UTC).
DEFAULT_DRIFT_SCHEDULE = "0 4 * * *"
DRIFT_EVENTS = [ps.WebhookFilters.DRIFT_DETECTED, ps.WebhookFilters.DRIFT_DETECTION_FAILED]

config = pulumi.Config()
organization = config.require("organization")
repository = config.require("repository")
branch = config.get("branch") or "main"
stacks: list[str] = config.require_object("stacks")
deploy_policies: list[str] = config.get_object("deployPolicyArns") or DEFAULT_DEPLOY_POLICIES
policy_pack_version = config.get("policyPackVersion")  # None: the latest published version
# Stacks whose cluster API endpoint is private or limited to known ranges: hosted runners have no fixed
# egress address, so these deploy from the customer-managed agent pool (docs/delivery.md).
agent_pool_stacks: list[str] = config.get_object("agentPoolStacks") or []
drift_stacks: list[str] = config.get_object("driftStacks") or [s for s in stacks if s == "prod"]
drift_schedule = config.get("driftSchedule") or DEFAULT_DRIFT_SCHEDULE
drift_webhook_url = config.get_secret("driftWebhookUrl")  # e.g. a Slack incoming webhook; optional
drift_webhook_format = config.get("driftWebhookFormat") or "slack"
region = pulumi.Config("aws").require("region")


def _problems() -> list[str]:
    found = []
    if not stacks or len(set(stacks)) != len(stacks):
        found.append("mlplatform-deployments:stacks must list each platform stack once, e.g. [dev, prod]")
    for key, listed in (("agentPoolStacks", agent_pool_stacks), ("driftStacks", drift_stacks)):
        unknown = sorted(set(listed) - set(stacks))
        if unknown:
            found.append(f"mlplatform-deployments:{key} names {', '.join(unknown)}, not in stacks {stacks}")
    if not re.fullmatch(r"\S+( \S+){4}", drift_schedule):
        found.append(f"mlplatform-deployments:driftSchedule must be a cron expression of five fields, got "
                     f"{drift_schedule!r}")
    if drift_webhook_format not in ("raw", "slack", "ms_teams"):
        found.append("mlplatform-deployments:driftWebhookFormat must be raw, slack or ms_teams")
    return found


problems = _problems()
if problems:
    raise pulumi.RunError("invalid configuration:\n  " + "\n  ".join(problems))


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


identity = aws.get_caller_identity_output()
boundary = aws.iam.Policy(
    "deploy-boundary",
    name=BOUNDARY_NAME,
    description="The most a Pulumi Deployments run of the mlplatform stacks may do (deployments/boundary.py)",
    policy=pulumi.Output.all(aws.get_partition_output().partition, identity.account_id).apply(
        lambda a: json.dumps(deploy_boundary(a[0], a[1], PLATFORM_PROJECT, BOUNDARY_NAME,
                                             deploy_role_name("")))),
)

agents = ps.AgentPool(
    "agents", name=AGENT_POOL, organization_name=organization,
    description="Runs mlplatform deployments from inside the network that reaches the clusters' API endpoints",
) if agent_pool_stacks else None

roles = {}
for stack in stacks:
    role = aws.iam.Role(
        f"deploy-{stack}",
        name=deploy_role_name(stack),
        description=f"Pulumi Deployments of {organization}/{PLATFORM_PROJECT}/{stack}",
        assume_role_policy=oidc.arn.apply(lambda arn, stack=stack: json.dumps(deploy_trust(arn, stack))),
        max_session_duration=3600 * 2,
        permissions_boundary=boundary.arn,
    )
    for index, arn in enumerate(deploy_policies):
        # Named after the policy, so removing one never renames another's attachment (alias: the old name).
        aws.iam.RolePolicyAttachment(f"deploy-{stack}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn,
                                     opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name=f"deploy-{stack}-{index}")]))
    roles[stack] = role

    settings = ps.DeploymentSettings(
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
            environment_variables={"AWS_REGION": region, "MLPLATFORM_UPSTREAM_CACHE": UPSTREAM_CACHE,
                                   **upstream.redirect(Path(UPSTREAM_CACHE))},
            pre_run_commands=PRE_RUN_COMMANDS,
        ),
        agent_pool_id=agents.agent_pool_id if agents and stack in agent_pool_stacks else None,
    )
    if stack in drift_stacks:
        # Reports drift (a preview-only refresh, on the same runner as the stack's deployments); never
        # changes anything: remediation is a reviewed `pulumi up`.
        ps.DriftSchedule(f"{stack}-drift", organization=organization, project=PLATFORM_PROJECT, stack=stack,
                         schedule_cron=drift_schedule, auto_remediate=False,
                         opts=pulumi.ResourceOptions(depends_on=[settings]))
        if drift_webhook_url is not None:
            ps.Webhook(f"{stack}-drift-notice", organization_name=organization, project_name=PLATFORM_PROJECT,
                       stack_name=stack, display_name=f"{PLATFORM_PROJECT}/{stack} drift", active=True,
                       payload_url=drift_webhook_url, format=ps.WebhookFormat(drift_webhook_format),
                       filters=DRIFT_EVENTS)

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
pulumi.export("deploy_boundary_arn", boundary.arn)
if agents is not None:
    # What the agents need to join the pool (pulumi stack output agent_pool_token --show-secrets).
    pulumi.export("agent_pool_id", agents.agent_pool_id)
    pulumi.export("agent_pool_token", pulumi.Output.secret(agents.token_value))
