"""IAM: least privilege, no long-lived credentials (pods use EKS Pod Identity).

Sources: AWS IAM best practices; CIS AWS 1.16 (no full "*:*" admin policies); AWS FSBP IAM.1, IAM.21
(no wildcard service actions); "Pulumi Best Practices - AWS" (no IAM users/access keys).

Policy documents arrive as JSON strings or as maps; attachments as single resources, exclusive sets or the
deprecated inline forms on the role. All of them are checked.
"""

from __future__ import annotations

from ._base import UNKNOWN, document, get, items, resource_policy

POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy", "aws:iam/role:Role")
ADMIN_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess")
ATTACHMENT_TYPES = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                    "aws:iam/policyAttachment:PolicyAttachment",
                    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
                    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
                    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
                    "aws:iam/role:Role")


def _documents(resource_type: str, props) -> list:
    if resource_type == "aws:iam/role:Role":
        raw = [get(p, "policy") for p in items(get(props, "inlinePolicies"))]
    else:
        raw = [get(props, "policy")]
    return [d for d in (document(r) for r in raw) if d is not None and d is not UNKNOWN]


def _allow_statements(resource_type: str, props):
    for doc in _documents(resource_type, props):
        for statement in items(get(doc, "Statement")):
            if get(statement, "Effect") == "Allow":
                yield statement


@resource_policy("iam-no-wildcard-actions",
                 'Policies must name their actions: no "*" and no whole-service "svc:*" grants.',
                 "CIS AWS 1.16; FSBP IAM.1, IAM.21",
                 POLICY_TYPES)
def no_wildcard_actions(props, args, config):
    for statement in _allow_statements(args.resource_type, props):
        if get(statement, "NotAction") is not None:
            yield "an Allow statement uses NotAction (allows everything else)", "list the actions allowed"
        for action in items(get(statement, "Action")):
            if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                yield f"the action \"{action}\" grants a whole service or everything", \
                    "list the specific actions needed (see components/iam.py for sources)"


@resource_policy("iam-no-unconditioned-passrole",
                 "iam:PassRole on every role lets the holder hand any role to a service; scope it.",
                 'IAM user guide, "Grant a user permissions to pass a role"',
                 POLICY_TYPES)
def no_unconditioned_passrole(props, args, config):
    for statement in _allow_statements(args.resource_type, props):
        actions = items(get(statement, "Action"))
        if ("iam:PassRole" in actions or "iam:Pass*" in actions) and "*" in items(get(statement, "Resource")) \
                and get(statement, "Condition") is None:
            yield "iam:PassRole on Resource \"*\" without a condition", \
                "name the role ARNs, or add a Condition on iam:PassedToService"


@resource_policy("iam-no-users-or-access-keys",
                 "No IAM users or access keys: people use SSO roles, pods use EKS Pod Identity.",
                 "FSBP IAM.6, IAM.22", ["aws:iam/user:User", "aws:iam/accessKey:AccessKey",
                             "aws:iam/userLoginProfile:UserLoginProfile"])
def no_users_or_keys(props, args, config):
    yield "long-lived IAM credentials", "use an IAM Identity Center role for people, or a " \
        "ServiceAccountRole (components/service_account_role.py) for pods"


@resource_policy("iam-no-admin-policy-attachment",
                 "No role, user or group in the platform gets AdministratorAccess or IAMFullAccess.",
                 "CIS AWS 1.16; FSBP IAM.1", ATTACHMENT_TYPES)
def no_admin_attachment(props, args, config):
    arns = [get(props, "policyArn"), *items(get(props, "policyArns")), *items(get(props, "managedPolicyArns"))]
    for arn in arns:
        if arn in ADMIN_POLICIES:
            yield f"{arn.rsplit('/', 1)[-1]} attached", "attach a least-privilege policy"


@resource_policy("iam-no-public-trust",
                 'A role must not be assumable by any AWS principal ("*").',
                 "IAM Access Analyzer public-access findings for roles", ["aws:iam/role:Role"])
def no_public_trust(props, args, config):
    trust = document(get(props, "assumeRolePolicy"))
    for statement in items(get(trust, "Statement")):
        principal = get(statement, "Principal")
        aws_principals = items(get(principal, "AWS")) if get(principal, "AWS") is not None else [principal]
        if get(statement, "Effect") == "Allow" and "*" in aws_principals and get(statement, "Condition") is None:
            yield "the trust policy lets any AWS principal assume the role", \
                "name the service or account principal that may assume it"


POLICIES = [no_wildcard_actions, no_unconditioned_passrole, no_users_or_keys, no_admin_attachment,
            no_public_trust]
