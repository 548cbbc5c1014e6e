"""IAM policy documents, kept as data with their source.

Each function returns a policy document (a dict) for one purpose. Actions are always listed by name:
no "*" actions. Resource ARNs are narrowed to what this stack creates wherever the service allows it.
"""

from __future__ import annotations

from typing import Any

import pulumi

Document = dict[str, Any]


def service_trust(service: str, tag_session: bool = False) -> Document:
    """Trust policy letting one AWS service principal assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole",
        }],
    }


# The EKS cluster role (EKS user guide, "Amazon EKS cluster IAM role": trust eks.amazonaws.com with
# sts:AssumeRole and sts:TagSession, and the AmazonEKSClusterPolicy managed policy).
EKS_CLUSTER_POLICY = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
# RDS enhanced monitoring (RDS user guide, "Setting up and enabling Enhanced Monitoring").
RDS_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def flow_logs_to_cloudwatch(log_group_arn: str) -> Document:
    """What VPC Flow Logs needs to write to one log group.

    Source: Amazon VPC user guide, "IAM role for publishing flow logs to CloudWatch Logs". The documented
    policy uses Resource "*" and logs:CreateLogGroup; the log group is created by this stack, so the
    role is limited to writing streams and events into that one group.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
            ],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        }],
    }


# AWS managed policies for EKS managed node groups (EKS user guide, "Amazon EKS node IAM role").
# AmazonEKS_CNI_Policy is deliberately absent: vpc-cni gets it through Pod Identity (aws-node), so
# ordinary pods on the node cannot use the node role to change ENIs.
NODE_MANAGED_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "ecr-pull": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    # Session Manager instead of SSH: no key pairs and no port 22 open on nodes.
    "ssm": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
}

# EKS Pod Identity (EKS user guide, "Create IAM role with trust policy for Pod Identity").
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


def pod_identity_trust() -> Document:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }],
    }


# The AWS managed policy the VPC CNI needs (EKS user guide, "Configure the Amazon VPC CNI plugin to
# use Pod Identity"); attached to the aws-node service account's role, never to the node role.
VPC_CNI_POLICY = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"


def to_json(document: pulumi.Input[Document]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps(document)


# ---- add-on and controller permissions ------------------------------------------------------------

# AWS managed policies for the storage drivers (EKS user guide, "Amazon EBS CSI driver" and
# "Amazon EFS CSI driver" IAM role sections).
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EFS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"


def ebs_csi_key_use(role_arn: str) -> list[Document]:
    """Key policy statements letting the EBS CSI driver's role create encrypted volumes with the key.

    Source: kubernetes-sigs/aws-ebs-csi-driver docs/install.md, "KMS key permissions"; grants only for
    AWS resources (EBS attaches the volume through a grant).
    """
    return [
        key_use_by_role("EbsCsiDriverUsesKey", role_arn),
        {"Sid": "EbsCsiDriverGrantsForVolumes", "Effect": "Allow", "Principal": {"AWS": role_arn},
         "Action": KMS_GRANT_ACTIONS, "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]


def fsx_csi_driver(region: str, account_id: str, import_bucket: str | None) -> Document:
    """The FSx for Lustre CSI driver's controller: create, describe, resize, tag and delete file systems; the service-
    linked roles FSx uses (its own, and the one that reads an S3 import path); list the import bucket.

    Source: kubernetes-sigs/aws-fsx-csi-driver docs/install.md at v1.9.0 (its example policy; the driver calls only
    fsx:CreateFileSystem, DeleteFileSystem, DescribeFileSystems and UpdateFileSystem, pkg/cloud/cloud.go), with
    s3:ListBucket narrowed to the import bucket. A file system encrypted with the stack's key needs the key through
    FSx (the key's policy, components/addons/storage.py; and kms:ViaService here)."""
    statements: list[Document] = [
        {"Sid": "FileSystems", "Effect": "Allow", "Resource": "*", "Action": [
            "fsx:CreateFileSystem", "fsx:DeleteFileSystem", "fsx:DescribeFileSystems", "fsx:TagResource",
            "fsx:UpdateFileSystem"]},
        {"Sid": "FsxServiceRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
         "Condition": {"StringLike": {"iam:AWSServiceName": "fsx.amazonaws.com"}}},
        {"Sid": "KeyThroughFsx", "Effect": "Allow", "Resource": f"arn:aws:kms:{region}:{account_id}:key/*",
         "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
         "Condition": {"StringEquals": {"kms:ViaService": f"fsx.{region}.amazonaws.com"}}},
    ]
    if import_bucket:
        statements += [
            {"Sid": "S3ImportServiceRole", "Effect": "Allow",
             "Action": ["iam:CreateServiceLinkedRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"],
             "Resource": f"arn:aws:iam::{account_id}:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/*"},
            {"Sid": "ListTheImportBucket", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{import_bucket}"},
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def hosted_zone_arn(zone_id: str) -> str:
    return f"arn:aws:route53:::hostedzone/{zone_id}"


def external_dns(zone_id: str) -> Document:
    """Records in one hosted zone.

    Source: kubernetes-sigs/external-dns docs/tutorials/aws.md, "IAM Policy". Listing zones and tags
    cannot be scoped to a zone; changing records is limited to the configured zone.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ChangeRecordsInZone", "Effect": "Allow",
             "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets",
                        "route53:ListTagsForResource"],
             "Resource": hosted_zone_arn(zone_id)},
            {"Sid": "FindZones", "Effect": "Allow",
             "Action": ["route53:ListHostedZones", "route53:ListTagsForResources"],
             "Resource": "*"},
        ],
    }


def cert_manager_dns01(zone_id: str) -> Document:
    """ACME DNS-01 challenges in one hosted zone: TXT records under _acme-challenge only.

    Source: cert-manager docs, "Route53" (configuration/acme/dns01/route53), incl. its least-privilege
    conditions on record types and names.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "WatchChanges", "Effect": "Allow", "Action": "route53:GetChange",
             "Resource": "arn:aws:route53:::change/*"},
            {"Sid": "ChallengeRecords", "Effect": "Allow",
             "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"],
             "Resource": hosted_zone_arn(zone_id),
             "Condition": {
                 "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
                 "ForAllValues:StringLike": {
                     "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"]},
             }},
        ],
    }


def cluster_autoscaler(cluster_name: str, nodegroup_arns: str) -> Document:
    """Scale this cluster's node groups and nothing else.

    Source: kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md, "Full Cluster
    Autoscaler Features Policy (Recommended)". Scaling is limited by the tag EKS puts on every managed
    node group's Auto Scaling group (k8s.io/cluster-autoscaler/<cluster> = owned).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Discover", "Effect": "Allow",
             "Action": ["autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags", "ec2:DescribeImages", "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions", "ec2:GetInstanceTypesFromInstanceRequirements"],
             "Resource": "*"},
            {"Sid": "ScaleOwnGroups", "Effect": "Allow",
             "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
             "Resource": "*",
             "Condition": {"StringEquals": {
                 f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}}},
            {"Sid": "ReadNodeGroups", "Effect": "Allow", "Action": "eks:DescribeNodegroup",
             "Resource": nodegroup_arns},
        ],
    }


def pull_through_cache_import(region: str, account_id: str, prefix: str) -> Document:
    """Let the nodes fill the pull-through cache: the first pull of an image creates its repository under the rule's
    prefix and imports the image from upstream (later pulls need only the node's AmazonEC2ContainerRegistryPullOnly).

    Source: Amazon ECR user guide, "IAM permissions required to sync an upstream registry with an Amazon ECR private
    registry" (ecr:BatchImportUpstreamImage, and ecr:CreateRepository while the repository does not exist). Scoped to
    the repositories under this stack's prefix.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "FillPullThroughCache", "Effect": "Allow",
             "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
             "Resource": f"arn:aws:ecr:{region}:{account_id}:repository/{prefix}/*"},
        ],
    }


# CodeArtifact's resources (CodeArtifact user guide, "Resource and operations" ARN formats).
def codeartifact_domain_arn(region: str, account_id: str, domain: str) -> str:
    return f"arn:aws:codeartifact:{region}:{account_id}:domain/{domain}"


def codeartifact_repository_arn(region: str, account_id: str, domain: str, repository: str) -> str:
    return f"arn:aws:codeartifact:{region}:{account_id}:repository/{domain}/{repository}"


def codeartifact_packages_arn(region: str, account_id: str, domain: str, repository: str) -> str:
    return f"arn:aws:codeartifact:{region}:{account_id}:package/{domain}/{repository}/*"


# A CodeArtifact token is a bearer token STS issues for the service; callers need this in their own policy.
CODEARTIFACT_BEARER_TOKEN = {"Sid": "CodeArtifactToken", "Effect": "Allow", "Action": "sts:GetServiceBearerToken",
                             "Resource": "*",
                             "Condition": {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}}}


def package_index_read(region: str, account_id: str, domain: str, repository: str) -> list[Document]:
    """Install from the package index: a token for the domain, then read the repository (through its upstream,
    public PyPI). Source: CodeArtifact user guide, "Using identity-based policies for CodeArtifact" (the token needs
    codeartifact:GetAuthorizationToken and sts:GetServiceBearerToken) and "Domain policies" (ReadFromRepository)."""
    return [
        {"Sid": "PackageIndexToken", "Effect": "Allow", "Action": "codeartifact:GetAuthorizationToken",
         "Resource": codeartifact_domain_arn(region, account_id, domain)},
        {"Sid": "PackageIndexRead", "Effect": "Allow",
         "Action": ["codeartifact:ReadFromRepository", "codeartifact:GetRepositoryEndpoint"],
         "Resource": codeartifact_repository_arn(region, account_id, domain, repository)},
        CODEARTIFACT_BEARER_TOKEN,
    ]


def package_index_publishers(region: str, account_id: str, domain: str, repository: str,
                             principals: list[str]) -> tuple[Document, Document]:
    """Resource policies letting `principals` (roles the program does not own) publish: a token from the domain, and
    publishing Python package versions to the repository. Source: CodeArtifact user guide, "Domain policies",
    "Repository policies" and "Publishing Python packages" (twine needs PublishPackageVersion; pip reads with
    ReadFromRepository). Their own policy must still allow sts:GetServiceBearerToken (CODEARTIFACT_BEARER_TOKEN)."""
    who = {"AWS": principals}
    domain_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "PublishersGetTokens", "Effect": "Allow", "Principal": who,
         "Action": "codeartifact:GetAuthorizationToken",
         "Resource": codeartifact_domain_arn(region, account_id, domain)}]}
    repository_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "PublishersReadTheRepository", "Effect": "Allow", "Principal": who,
         "Action": ["codeartifact:ReadFromRepository", "codeartifact:GetRepositoryEndpoint"],
         "Resource": codeartifact_repository_arn(region, account_id, domain, repository)},
        {"Sid": "PublishersPublishPackages", "Effect": "Allow", "Principal": who,
         "Action": "codeartifact:PublishPackageVersion",
         "Resource": codeartifact_packages_arn(region, account_id, domain, repository)}]}
    return domain_policy, repository_policy


def external_secrets_reader(secret_arns: str) -> Document:
    """Read secrets in Secrets Manager: those under this cluster's prefix, or one secret by its ARN.

    Source: external-secrets docs, provider "AWS Secrets Manager" (IAM policy). Scoped to
    secret:<cluster>/* so one cluster cannot read another's secrets.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadClusterSecrets", "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                       "secretsmanager:ListSecretVersionIds", "secretsmanager:GetResourcePolicy"],
            "Resource": secret_arns,
        }],
    }


def artifact_access(bucket_arn: str, key_arn: str, region: str, *, read: list[str], write: list[str],
                    list_bucket: bool = False) -> Document:
    """Objects under some prefixes of the artifact bucket: `read` prefixes read-only, `write` prefixes read and
    written; the bucket's KMS key only through S3, for those objects.

    Sources: IAM User Guide, "Amazon S3: Allows IAM users access to their S3 home directory" (ListBucket limited
    by s3:prefix, object actions on the prefix); Amazon S3 User Guide, "Using server-side encryption with AWS
    KMS keys" (kms:Decrypt to read, kms:GenerateDataKey to write). `list_bucket` also allows listing the whole
    bucket and HeadBucket, which Kubeflow Pipelines' API server calls at start.
    """
    prefixes = sorted(set(read) | set(write))
    statements: list[Document] = [
        {"Sid": "ListTheirPrefixes", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         **({} if list_bucket else {"Condition": {"StringLike": {"s3:prefix": [f"{p}/*" for p in prefixes]}}})},
        {"Sid": "ReadObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
         "Resource": [f"{bucket_arn}/{p}/*" for p in prefixes]},
    ]
    if write:
        statements.append({"Sid": "WriteObjects", "Effect": "Allow",
                           "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                           "Resource": [f"{bucket_arn}/{p}/*" for p in sorted(write)]})
    statements.append({"Sid": "UseTheBucketKeyThroughS3", "Effect": "Allow",
                       "Action": ["kms:Decrypt"] + (["kms:GenerateDataKey"] if write else []), "Resource": key_arn,
                       "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def load_balancer_controller() -> Document:
    """What the AWS Load Balancer Controller needs to run NLBs and ALBs for this cluster.

    Source: kubernetes-sigs/aws-load-balancer-controller docs/install/iam_policy.json at v3.5.0. Left
    out: WAF, WAFv2, Shield and Cognito actions; the chart turns those features off
    (enableWaf/enableWafv2/enableShield false) and no ingress here authenticates with Cognito.
    Everything that changes or deletes a load balancer, target group or security group is limited to
    resources carrying the controller's elbv2.k8s.aws/cluster tag, as upstream does.
    """
    cluster_tag_on_request = {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}}
    cluster_tag_on_resource = {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    tagging_own_resources = {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "true",
                                      "aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    elb = "arn:aws:elasticloadbalancing:*:*"
    load_balancers_and_groups = [f"{elb}:targetgroup/*/*", f"{elb}:loadbalancer/net/*/*",
                                 f"{elb}:loadbalancer/app/*/*"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
             "Resource": "*",
             "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
            {"Sid": "Describe", "Effect": "Allow", "Resource": "*", "Action": [
                "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
                "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
                "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage",
                "ec2:DescribeCoipPools", "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools",
                "ec2:DescribeRouteTables",
                "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
                "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
                "elasticloadbalancing:DescribeCapacityReservation"]},
            {"Sid": "Certificates", "Effect": "Allow", "Resource": "*", "Action": [
                "acm:ListCertificates", "acm:DescribeCertificate", "iam:ListServerCertificates",
                "iam:GetServerCertificate"]},
            {"Sid": "CreateSecurityGroups", "Effect": "Allow", "Resource": "*", "Action": [
                "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]},
            {"Sid": "TagNewSecurityGroups", "Effect": "Allow", "Action": "ec2:CreateTags",
             "Resource": "arn:aws:ec2:*:*:security-group/*",
             "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"}, **cluster_tag_on_request}},
            {"Sid": "RetagOwnSecurityGroups", "Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
             "Resource": "arn:aws:ec2:*:*:security-group/*", "Condition": tagging_own_resources},
            {"Sid": "ManageOwnSecurityGroups", "Effect": "Allow", "Resource": "*",
             "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
                        "ec2:DeleteSecurityGroup"],
             "Condition": cluster_tag_on_resource},
            {"Sid": "CreateLoadBalancers", "Effect": "Allow", "Resource": "*",
             "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
             "Condition": cluster_tag_on_request},
            {"Sid": "Listeners", "Effect": "Allow", "Resource": "*", "Action": [
                "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule"]},
            {"Sid": "RetagOwnLoadBalancers", "Effect": "Allow",
             "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
             "Resource": load_balancers_and_groups, "Condition": tagging_own_resources},
            {"Sid": "TagListeners", "Effect": "Allow",
             "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
             "Resource": [f"{elb}:listener/net/*/*/*", f"{elb}:listener/app/*/*/*",
                          f"{elb}:listener-rule/net/*/*/*", f"{elb}:listener-rule/app/*/*/*"]},
            {"Sid": "ManageOwnLoadBalancers", "Effect": "Allow", "Resource": "*",
             "Condition": cluster_tag_on_resource, "Action": [
                 "elasticloadbalancing:ModifyLoadBalancerAttributes", "elasticloadbalancing:SetIpAddressType",
                 "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
                 "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:ModifyTargetGroup",
                 "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:DeleteTargetGroup",
                 "elasticloadbalancing:ModifyListenerAttributes", "elasticloadbalancing:ModifyCapacityReservation",
                 "elasticloadbalancing:ModifyIpPools"]},
            {"Sid": "TagOnCreate", "Effect": "Allow", "Action": "elasticloadbalancing:AddTags",
             "Resource": load_balancers_and_groups,
             "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": [
                 "CreateTargetGroup", "CreateLoadBalancer"]}, **cluster_tag_on_request}},
            {"Sid": "Targets", "Effect": "Allow",
             "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
             "Resource": f"{elb}:targetgroup/*/*"},
            {"Sid": "ListenerSettings", "Effect": "Allow", "Resource": "*", "Action": [
                "elasticloadbalancing:ModifyListener", "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates", "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities"]},
        ],
    }


# ---- bucket policies --------------------------------------------------------------------------------

def deny_insecure_transport(bucket_arn: str) -> Document:
    """Refuse every request to the bucket that does not use TLS.

    Source: Amazon S3 user guide, "Enforce encryption of data in transit" (aws:SecureTransport).
    """
    return {
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def access_log_delivery(log_bucket_arn: str, source_bucket_arn: str, account_id: str) -> Document:
    """Let S3 server access logging write one source bucket's logs.

    Source: Amazon S3 user guide, "Permissions for log delivery" (bucket policy form, which works with
    ACLs disabled).
    """
    return {
        "Sid": "S3ServerAccessLogs", "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{log_bucket_arn}/*",
        "Condition": {"ArnLike": {"aws:SourceArn": source_bucket_arn},
                      "StringEquals": {"aws:SourceAccount": account_id}},
    }


def bucket_policy(*statements: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# ---- KMS key policies ---------------------------------------------------------------------------------
# Every key gets an explicit policy: the account may administer the key (through IAM, so a key can never
# be locked out), and only what this stack wires to the key may use it. Usage is granted to a named role,
# to an AWS service for one resource (CloudWatch Logs), or to the account's principals only through one
# AWS service (kms:ViaService), the way AWS's own managed keys are scoped.

# Administration without use (AWS KMS developer guide, "Default key policy", the key administrators
# statement, with its wildcards written out).
KMS_ADMIN_ACTIONS = [
    "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:DescribeKey", "kms:EnableKey",
    "kms:DisableKey", "kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:UpdateKeyDescription",
    "kms:RevokeGrant", "kms:RetireGrant", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
]
# Use of a key for data (AWS KMS developer guide, "Default key policy", the key users statement).
KMS_USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                   "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
# Services that hold the key for the resources they encrypt do so through grants.
KMS_GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]


def account_root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def key_policy(account_id: str, *usage: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersKey", "Effect": "Allow", "Principal": {"AWS": account_root(account_id)},
         "Action": KMS_ADMIN_ACTIONS, "Resource": "*"},
        *usage,
    ]}


def key_use_by_role(sid: str, role_arn: str, actions: list[str] | None = None,
                    via_service: str | None = None) -> Document:
    """One role uses the key directly (no IAM policy needed on the role)."""
    statement: Document = {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": role_arn},
                           "Action": actions or KMS_USE_ACTIONS, "Resource": "*"}
    if via_service:
        statement["Condition"] = {"StringEquals": {"kms:ViaService": via_service}}
    return statement


def key_use_via_service(sid: str, account_id: str, via_service: str, grants: bool = True) -> Document:
    """The account's principals (as their IAM policies allow) use the key only through one AWS service,
    e.g. rds.<region>.amazonaws.com: the caller creating the database lets RDS encrypt with it.

    Source: AWS KMS developer guide, "kms:ViaService" and "kms:CallerAccount" condition keys (the form of
    the AWS managed keys' policies)."""
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": account_root(account_id)},
            "Action": KMS_USE_ACTIONS + (KMS_GRANT_ACTIONS if grants else []), "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": via_service, "kms:CallerAccount": account_id}}}


def key_use_by_cloudwatch_logs(region: str, account_id: str, log_group_names: list[str],
                               prefixes: list[str] | None = None) -> Document:
    """CloudWatch Logs encrypts these log groups (and those whose names start with `prefixes`), no others, with the
    key.

    Source: Amazon CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs using AWS KMS" (key
    policy with the kms:EncryptionContext:aws:logs:arn condition; ArnLike for a wildcard)."""
    groups = [log_group_arn(region, account_id, name) for name in log_group_names]
    condition = {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": groups}} if not prefixes else {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
            *groups, *[log_group_arn(region, account_id, f"{prefix}*") for prefix in prefixes]]}}
    return {"Sid": "CloudWatchLogsEncryptsTheseGroups", "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": KMS_USE_ACTIONS, "Resource": "*", "Condition": condition}


def log_group_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account_id}:log-group:{name}"


# EKS secrets encryption: the cluster role uses the key (terraform-aws-eks cluster encryption policy:
# kms:Encrypt, kms:Decrypt, kms:ListGrants, kms:DescribeKey), and whoever creates the cluster lets EKS
# take a grant (kms:CreateGrant, kms:DescribeKey through eks.<region>.amazonaws.com).
EKS_CLUSTER_KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]


def cloudwatch_agent(region: str, account_id: str, log_group_names: list[str]) -> Document:
    """The CloudWatch agent and Fluent Bit of Container Insights (one service account): write their log groups,
    read the instance's volumes and tags for dimensions.

    Source: the AWS managed policy CloudWatchAgentServerPolicy (AWS managed policy reference), narrowed: log
    actions only on these log groups, which the program creates with their retention and key (CreateLogGroup stays,
    on them alone, because Fluent Bit's auto_create_group calls it and retries until it succeeds; an existing group
    answers ResourceAlreadyExists); metrics only in the ContainerInsights namespace; no PutRetentionPolicy, X-Ray
    (Application Signals is off) or SSM parameters (the add-on writes the agent's configuration itself)."""
    groups = [log_group_arn(region, account_id, name) for name in log_group_names]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "WriteContainerInsightsLogs", "Effect": "Allow",
             "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                        "logs:DescribeLogStreams"],
             "Resource": [*groups, *[f"{g}:log-stream:*" for g in groups]]},
            {"Sid": "FindLogGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
            {"Sid": "PublishContainerInsightsMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData",
             "Resource": "*", "Condition": {"StringEquals": {"cloudwatch:namespace": "ContainerInsights"}}},
            {"Sid": "DescribeNodes", "Effect": "Allow",
             "Action": ["ec2:DescribeVolumes", "ec2:DescribeTags", "ec2:DescribeInstances"], "Resource": "*"},
        ],
    }


def key_use_by_cloudwatch_alarms(account_id: str) -> Document:
    """CloudWatch alarms of this account publish to an SNS topic encrypted with the key.

    Source: Amazon SNS developer guide, "Enable compatibility between event sources from AWS services and encrypted
    topics" (kms:Decrypt and kms:GenerateDataKey* for the cloudwatch.amazonaws.com principal)."""
    return {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}


def alarm_topic_policy(topic_arn: str, region: str, account_id: str) -> Document:
    """Only this account's CloudWatch alarms publish to the topic; the account's principals manage it.

    Source: Amazon SNS developer guide, "Amazon SNS access control case examples" (service principal with
    aws:SourceArn / aws:SourceAccount), and the topic's default policy for the owner's statement."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountManagesTopic", "Effect": "Allow", "Principal": {"AWS": account_root(account_id)},
             "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:AddPermission",
                        "sns:RemovePermission", "sns:DeleteTopic", "sns:Subscribe", "sns:ListSubscriptionsByTopic",
                        "sns:Publish"],
             "Resource": topic_arn},
            {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": "sns:Publish", "Resource": topic_arn,
             "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:*"},
                           "StringEquals": {"aws:SourceAccount": account_id}}},
        ],
    }


def pod_role_boundary(region: str, account_id: str, cluster_name: str) -> Document:
    """The permissions boundary of the Pod Identity roles whose policies are this program's documents (the
    controllers', Pipelines', Container Insights', the teams', MLflow's, the FSx CSI driver's): the most any of them
    may ever do, whatever a change writes into its policy. Their effective permissions are what both allow.

    Each statement covers what the documents above grant, by their sources (load balancer controller, external-dns,
    cert-manager, cluster-autoscaler, external-secrets, Container Insights, Pipelines, the teams' artifacts and
    package index, MLflow, the FSx CSI driver), widened only to verbs of the same kind, and scoped to this stack where
    the service allows it: the buckets, the secrets, the container log groups and the package index named after the
    cluster (an FSx import bucket is the adopter's, so listing is not scoped). Source for the mechanism: IAM User
    Guide, "Permissions boundaries for IAM entities"."""
    prefix = f"arn:aws:s3:::{cluster_name}-"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Resource": "*", "Action": [
                "ec2:Describe*", "ec2:Get*", "elasticloadbalancing:Describe*", "autoscaling:Describe*",
                "eks:Describe*", "acm:Describe*", "acm:List*", "route53:Get*", "route53:List*",
                "iam:GetServerCertificate", "iam:ListServerCertificates", "logs:DescribeLogGroups"]},
            {"Sid": "LoadBalancers", "Effect": "Allow", "Resource": "*", "Action": [
                "elasticloadbalancing:Create*", "elasticloadbalancing:Delete*", "elasticloadbalancing:Modify*",
                "elasticloadbalancing:Set*", "elasticloadbalancing:Add*", "elasticloadbalancing:Remove*",
                "elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets",
                "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupIngress", "ec2:CreateTags", "ec2:DeleteTags"]},
            {"Sid": "LoadBalancerServiceRole", "Effect": "Allow", "Resource": "*",
             "Action": "iam:CreateServiceLinkedRole",
             "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}},
            {"Sid": "NodeGroupSizes", "Effect": "Allow", "Resource": "*", "Action": [
                "autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]},
            {"Sid": "DnsRecords", "Effect": "Allow", "Resource": "arn:aws:route53:::hostedzone/*",
             "Action": "route53:ChangeResourceRecordSets"},
            {"Sid": "ContainerInsights", "Effect": "Allow", "Resource": "*", "Action": "cloudwatch:PutMetricData",
             "Condition": {"StringEquals": {"cloudwatch:namespace": "ContainerInsights"}}},
            {"Sid": "ContainerLogs", "Effect": "Allow",
             "Resource": log_group_arn(region, account_id, f"/aws/containerinsights/{cluster_name}/*"),
             "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                        "logs:DescribeLogStreams"]},
            {"Sid": "StackBuckets", "Effect": "Allow", "Resource": [f"{prefix}*", f"{prefix}*/*"], "Action": [
                "s3:ListBucket", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject",
                "s3:AbortMultipartUpload"]},
            {"Sid": "StackSecrets", "Effect": "Allow", "Action": [
                "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                "secretsmanager:ListSecretVersionIds", "secretsmanager:GetResourcePolicy"],
             "Resource": [f"arn:aws:secretsmanager:{region}:{account_id}:secret:{cluster_name}/*",
                          f"arn:aws:secretsmanager:{region}:{account_id}:secret:rds!*"]},
            {"Sid": "StackKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": f"arn:aws:kms:{region}:{account_id}:key/*"},
            {"Sid": "StackPackageIndex", "Effect": "Allow", "Action": [
                "codeartifact:GetAuthorizationToken", "codeartifact:ReadFromRepository",
                "codeartifact:GetRepositoryEndpoint"],
             "Resource": [codeartifact_domain_arn(region, account_id, cluster_name),
                          f"arn:aws:codeartifact:{region}:{account_id}:repository/{cluster_name}/*"]},
            {**CODEARTIFACT_BEARER_TOKEN, "Sid": "PackageIndexToken"},
            {"Sid": "LustreFileSystems", "Effect": "Allow", "Resource": "*", "Action": [
                "fsx:CreateFileSystem", "fsx:DeleteFileSystem", "fsx:DescribeFileSystems", "fsx:TagResource",
                "fsx:UpdateFileSystem"]},
            {"Sid": "LustreServiceRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
             "Condition": {"StringLike": {"iam:AWSServiceName": ["fsx.amazonaws.com",
                                                                  "s3.data-source.lustre.fsx.amazonaws.com"]}}},
            {"Sid": "LustreImportRole", "Effect": "Allow",
             "Action": ["iam:CreateServiceLinkedRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"],
             "Resource": f"arn:aws:iam::{account_id}:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/*"},
            {"Sid": "LustreKey", "Effect": "Allow", "Resource": f"arn:aws:kms:{region}:{account_id}:key/*",
             "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
             "Condition": {"StringEquals": {"kms:ViaService": f"fsx.{region}.amazonaws.com"}}},
            {"Sid": "LustreImportBuckets", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::*"},
        ],
    }
