"""The permissions boundary of the deploy roles: the most a Pulumi Deployments run may ever do.

A boundary caps a role: its effective permissions are what both its policies and the boundary allow
(IAM User Guide, "Permissions boundaries for IAM entities"). So even with AdministratorAccess attached, a
compromised or mistaken deployment can only use the services the platform is built from, cannot create
IAM users or keys, touch AWS Organizations or the account, lift its own boundary, hand a role
administrator policies, or change resources another project has tagged as its own.
"""

from __future__ import annotations

from typing import Any

PROJECT_TAG = "project"  # set on every AWS resource by the platform program's provider default tags

# What the platform program creates and reads, by service (its __main__.py and components/).
PLATFORM_SERVICES = [
    "autoscaling",           # cluster-autoscaler node-template tags on the node groups' Auto Scaling groups
    "backup",                # EFS automatic backups (AWS Backup's default plan and vault)
    "ec2",                   # VPC, subnets, NAT, security groups, launch templates
    "eks",                   # the cluster, node groups, add-ons, access entries, Pod Identity associations
    "elasticache",           # the session cache
    "elasticfilesystem",     # EFS
    "iam",                   # the cluster's, nodes' and Pod Identity roles (limited below)
    "kms",                   # the customer-managed keys
    "logs",                  # log groups
    "rds",                   # the database
    "s3",                    # the artifact and access-log buckets
    "secretsmanager",        # credentials for Kubeflow
]
# Ways to act as someone other than a role: IAM users and their credentials.
IAM_USERS_AND_KEYS = ["iam:*User*", "iam:*Group*", "iam:*AccessKey*", "iam:*LoginProfile*", "iam:*MFADevice*",
                      "iam:*SSHPublicKey*", "iam:*ServiceSpecificCredential*", "iam:*SigningCertificate*"]
# AWS managed policies that would let a role the deployment creates do anything.
ADMIN_POLICIES = ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess", "AWSOrganizationsFullAccess"]
# Changing or deleting what another project owns, or reading its secrets. (S3 is left out: most S3 actions
# cannot be conditioned on bucket tags; bucket names carry the cluster name instead.)
OFF_LIMITS = ["ec2:Delete*", "ec2:Modify*", "ec2:Terminate*", "ec2:Stop*", "ec2:Reboot*", "ec2:Detach*",
           "ec2:Disassociate*", "ec2:Revoke*", "ec2:Authorize*", "ec2:Replace*", "ec2:CreateTags", "ec2:DeleteTags",
           "eks:Delete*", "eks:Update*", "eks:Disassociate*", "eks:TagResource", "eks:UntagResource",
           "rds:Delete*", "rds:Modify*", "rds:Reboot*", "rds:Stop*", "rds:AddTagsToResource",
           "rds:RemoveTagsFromResource",
           "elasticache:Delete*", "elasticache:Modify*", "elasticache:AddTagsToResource",
           "elasticache:RemoveTagsFromResource",
           "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:TagResource", "kms:UntagResource",
           "secretsmanager:DeleteSecret", "secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue",
           "secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource",
           "elasticfilesystem:Delete*", "elasticfilesystem:Put*", "elasticfilesystem:Update*",
           "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
           "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PassRole",
           "iam:TagRole", "iam:UntagRole",
           "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey"]


def deploy_boundary(partition: str, account: str, project: str, boundary_name: str,
                    deploy_role_prefix: str) -> dict[str, Any]:
    """Sources: IAM User Guide, "Permissions boundaries for IAM entities" and "Controlling access to AWS
    resources using tags" (aws:ResourceTag); the AWS Security Blog's "When and where to use IAM permissions
    boundaries" (deny changes to the boundary itself)."""
    deploy_roles = f"arn:{partition}:iam::{account}:role/{deploy_role_prefix}*"
    boundary = f"arn:{partition}:iam::{account}:policy/{boundary_name}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PlatformServices", "Effect": "Allow",
             "Action": [f"{service}:*" for service in PLATFORM_SERVICES], "Resource": "*"},
            # The provider reads who it is; the kubeconfig's token is a presigned GetCallerIdentity.
            {"Sid": "WhoAmI", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"},
            {"Sid": "NoIamUsersOrKeys", "Effect": "Deny", "Action": IAM_USERS_AND_KEYS, "Resource": "*"},
            {"Sid": "NoOrganizationsOrAccount", "Effect": "Deny",
             "Action": ["organizations:*", "account:*", "billing:*", "aws-portal:*"], "Resource": "*"},
            {"Sid": "BoundaryStays", "Effect": "Deny",
             "Action": ["iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:DeleteRole",
                        "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                        "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
             "Resource": deploy_roles},
            {"Sid": "BoundaryPolicyStays", "Effect": "Deny",
             "Action": ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                        "iam:SetDefaultPolicyVersion"],
             "Resource": boundary},
            {"Sid": "NoAdministratorPolicies", "Effect": "Deny",
             "Action": ["iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"], "Resource": "*",
             "Condition": {"ArnEquals": {"iam:PolicyARN": [f"arn:{partition}:iam::aws:policy/{name}"
                                                          for name in ADMIN_POLICIES]}}},
            {"Sid": "NotOtherProjects", "Effect": "Deny", "Action": OFF_LIMITS, "Resource": "*",
             "Condition": {"StringNotEquals": {f"aws:ResourceTag/{PROJECT_TAG}": project},
                           "Null": {f"aws:ResourceTag/{PROJECT_TAG}": "false"}}},
        ],
    }
