"""ServiceAccountRole: one Kubernetes service account gets one AWS role, through EKS Pod Identity.

Every add-on and controller that talks to AWS gets its credentials this way; nothing else creates
roles for pods, and no pod ever holds static keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import iam
from components.component import Component


@dataclass
class ServiceAccountRoleArgs:
    cluster_name: pulumi.Input[str]
    namespace: str
    service_account: str
    managed_policy_arns: Sequence[str] = ()
    # A least-privilege document (see components/iam.py), for permissions no managed policy fits.
    policy: pulumi.Input[iam.Document] | None = None
    # An EKS managed add-on owns its association (the add-on's pod_identity_associations); a second,
    # standalone association for the same service account fails with "Association already exists".
    association_by_addon: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    # The cap on what `policy` may ever grant (Cluster.role_boundary_arn); AWS managed policies are capped by AWS.
    boundary: pulumi.Input[str] | None = None


class ServiceAccountRole(Component):
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    namespace: str
    service_account: str

    def __init__(self, name: str, args: ServiceAccountRoleArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:service_account_role:ServiceAccountRole", name, opts,
                         renamed_from="mlplatform:pod_identity:ServiceAccountRole")
        child = self.child()
        if not args.managed_policy_arns and args.policy is None:
            raise ValueError(f"{name}: a service account role needs a managed policy or a document")
        if args.policy is not None and args.boundary is None:
            raise ValueError(f"{name}: a role with a policy of the program's own is capped: boundary=<the cluster's "
                             "role_boundary_arn>")

        role = aws.iam.Role(
            name,
            assume_role_policy=iam.to_json(iam.pod_identity_trust()),
            description=f"EKS Pod Identity role for {args.namespace}/{args.service_account}",
            permissions_boundary=args.boundary,
            tags=args.tags,
            opts=child,
        )
        attachments: list[pulumi.Resource] = []
        for index, arn in enumerate(args.managed_policy_arns):
            # Named after the policy, so removing one policy never renames another's attachment.
            attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1]}", role=role.name, policy_arn=arn,
                opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-managed-{index}")])))
        if args.policy is not None:
            attachments.append(aws.iam.RolePolicy(
                f"{name}-policy", role=role.id, policy=iam.to_json(args.policy), opts=child))

        self.association = None
        if not args.association_by_addon:
            self.association = aws.eks.PodIdentityAssociation(
                f"{name}-association",
                cluster_name=args.cluster_name,
                namespace=args.namespace,
                service_account=args.service_account,
                role_arn=role.arn,
                tags=args.tags,
                # Credentials must carry the permissions from the first request the pod makes.
                opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
            )

        self.role_arn = role.arn
        self.role_name = role.name
        self.namespace = args.namespace
        self.service_account = args.service_account
        # The role, its permissions and its association exist before a pod using the service account starts
        # (credentials are injected only at pod start).
        self.ready = [*attachments, *([self.association] if self.association else [])]
        self.register_outputs({"role_arn": self.role_arn})

    def addon_association(self) -> aws.eks.AddonPodIdentityAssociationArgs:
        """The association for an EKS add-on's own pod_identity_associations."""
        return aws.eks.AddonPodIdentityAssociationArgs(
            role_arn=self.role_arn, service_account=self.service_account)
