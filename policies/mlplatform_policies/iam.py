"""IAM: least privilege, no long-lived credentials (pods use EKS Pod Identity).

Sources: AWS IAM best practices; CIS AWS 1.16 (no full "*:*" admin policies); AWS FSBP IAM.1, IAM.21
(no wildcard service actions); "Pulumi Best Practices - AWS" (no IAM users/access keys).
"""

from __future__ import annotations

from ._base import as_list, parse_document, resource_policy

POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy", "aws:iam/role:Role")
ADMIN_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess")


def _documents(resource_type: str, props: dict) -> list[dict]:
    if resource_type == "aws:iam/role:Role":
        raw = [p.get("policy") for p in as_list(props.get("inlinePolicies"))]
    else:
        raw = [props.get("policy")]
    return [d for d in (parse_document(r) for r in raw) if d]


def _allow_statements(resource_type: str, props: dict):
    for document in _documents(resource_type, props):
        for statement in as_list(document.get("Statement")):
            if statement.get("Effect") == "Allow":
                yield statement


@resource_policy("iam-no-wildcard-actions",
                 "Policies must name their actions: no \"*\" and no whole-service \"svc:*\" grants.",
                 POLICY_TYPES)
def no_wildcard_actions(props, args, config):
    for statement in _allow_statements(args.resource_type, props):
        if statement.get("NotAction"):
            yield "an Allow statement uses NotAction (allows everything else)", "list the actions allowed"
        for action in as_list(statement.get("Action")):
            if action == "*" or action.endswith(":*"):
                yield f"the action \"{action}\" grants a whole service or everything", \
                    "list the specific actions needed (see components/iam.py for sources)"


@resource_policy("iam-no-unconditioned-passrole",
                 "iam:PassRole on every role lets the holder hand any role to a service; scope it.",
                 POLICY_TYPES)
def no_unconditioned_passrole(props, args, config):
    for statement in _allow_statements(args.resource_type, props):
        actions = as_list(statement.get("Action"))
        if ("iam:PassRole" in actions or "iam:Pass*" in actions) and "*" in as_list(statement.get("Resource")) \
                and not statement.get("Condition"):
            yield "iam:PassRole on Resource \"*\" without a condition", \
                "name the role ARNs, or add a Condition on iam:PassedToService"


@resource_policy("iam-no-users-or-access-keys",
                 "No IAM users or access keys: people use SSO roles, pods use EKS Pod Identity.",
                 ["aws:iam/user:User", "aws:iam/accessKey:AccessKey"])
def no_users_or_keys(props, args, config):
    yield "long-lived IAM credentials", "use an IAM Identity Center role for people, or a " \
        "ServiceAccountRole (components/pod_identity.py) for pods"


@resource_policy("iam-no-admin-policy-attachment",
                 "No role, user or group in the platform gets AdministratorAccess or IAMFullAccess.",
                 ["aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                  "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                  "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"])
def no_admin_attachment(props, args, config):
    if props.get("policyArn") in ADMIN_POLICIES:
        yield f"{props['policyArn'].rsplit('/', 1)[-1]} attached", "attach a least-privilege policy"


@resource_policy("iam-no-public-trust",
                 "A role must not be assumable by any AWS principal (\"*\").", ["aws:iam/role:Role"])
def no_public_trust(props, args, config):
    trust = parse_document(props.get("assumeRolePolicy")) or {}
    for statement in as_list(trust.get("Statement")):
        principal = statement.get("Principal")
        aws_principals = as_list(principal.get("AWS")) if isinstance(principal, dict) else [principal]
        if statement.get("Effect") == "Allow" and "*" in aws_principals and not statement.get("Condition"):
            yield "the trust policy lets any AWS principal assume the role", \
                "name the service or account principal that may assume it"


POLICIES = [no_wildcard_actions, no_unconditioned_passrole, no_users_or_keys, no_admin_attachment,
            no_public_trust]
