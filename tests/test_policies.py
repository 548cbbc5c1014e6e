"""The policy pack, run the way the engine runs it (offline/analyzer.py): every policy fires on a bad
resource in each form the guarded thing can take, and stays quiet on a good one; both stacks pass, also as
a first preview with unknown ids and ARNs; a bad part that is known at preview is still caught."""

import copy
import json

import pytest
from mlplatform_policies import ALL_POLICIES, kubernetes
from pulumi.runtime.rpc import UNKNOWN as WIRE_UNKNOWN
from pulumi_policy import EnforcementLevel, StackValidationPolicy

from offline.analyzer import PREVIEW_SKIP, aws_provider, configure, resource, stack_findings
from tests.policy_cases import LEVEL, assert_stack_case, findings_of

LT = "aws:ec2/launchTemplate:LaunchTemplate"
RDS = "aws:rds/instance:Instance"
AURORA = "aws:rds/cluster:Cluster"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
MNG = "eks:index:ManagedNodeGroup"
SELF_MANAGED = "eks:index:NodeGroupV2"
GOOD_LT = {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
           "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]}
GOOD_RDS = {"storageEncrypted": True, "publiclyAccessible": False, "backupRetentionPeriod": 14,
            "deletionProtection": True, "skipFinalSnapshot": False, "multiAz": True,
            "manageMasterUserPassword": True, "masterUserSecretKmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
            "monitoringInterval": 60, "monitoringRoleArn": "arn:aws:iam::1:role/monitoring"}
GOOD_REDIS = {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "authToken": "x",
              "automaticFailoverEnabled": True, "multiAzEnabled": True}
GOOD_EKS = {"encryptionConfigKeyArn": "arn:aws:kms:us-east-1:1:key/k", "endpointPublicAccess": True,
            "publicAccessCidrs": ["203.0.113.0/24"], "enabledClusterLogTypes": ["api", "audit", "authenticator"],
            "upgradePolicy": {"supportType": "STANDARD"}, "skipDefaultNodeGroup": True}
GOOD_EKS_REAL = {"encryptionConfig": {"provider": {"keyArn": "arn:k"}, "resources": ["secrets"]},
                 "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True},
                 "enabledClusterLogTypes": ["api", "audit", "authenticator"],
                 "upgradePolicy": {"supportType": "STANDARD"}}
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}
GPU_GROUP = {"amiType": "AL2023_x86_64_NVIDIA", "instanceTypes": ["g6.xlarge"], "taints": [GPU_TAINT],
             "launchTemplate": {"id": "lt-1", "version": "1"}}
SELF_MANAGED_GPU = {"gpu": True, "instanceType": "g5.xlarge", "nodeRootVolumeEncrypted": True,
                    "taints": {"nvidia.com/gpu": {"value": "true", "effect": "NoSchedule"}}}
NO_WIRE_NODES = {"skipDefaultNodeGroup": True}


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action, resource_="arn:aws:s3:::b/*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource_, **extra}


# (policy, resource type, compliant props or None, violating props, words the violation must contain, stack)
RESOURCE_CASES = [
    ("s3-public-access-block-complete", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
     dict.fromkeys(["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"], True),
     {"blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True,
      "restrictPublicBuckets": True}, "blockPublicPolicy not true", "dev"),
    ("s3-public-access-block-complete", "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock",
     dict.fromkeys(["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"], True),
     {"blockPublicAcls": True}, "blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets not true", "dev"),
    ("s3-no-public-acl", "aws:s3/bucket:Bucket", {"acl": "private"}, {"acl": "public-read"},
     "canned ACL 'public-read' makes objects public", "dev"),
    ("s3-no-public-acl", "aws:s3/bucketV2:BucketV2", {"grants": [{"type": "CanonicalUser", "id": "abc"}]},
     {"grants": [{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}]},
     "a grant goes to AuthenticatedUsers", "dev"),
    ("s3-no-public-acl", "aws:s3/bucketAcl:BucketAcl",
     {"accessControlPolicy": {"grants": [{"grantee": {"type": "CanonicalUser", "id": "abc"}}]}},
     {"accessControlPolicy": {"grants": [{"grantee": {
         "type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]}},
     "a grant goes to AllUsers", "dev"),
    ("rds-storage-encrypted", RDS, GOOD_RDS, {**GOOD_RDS, "storageEncrypted": False},
     "storage is not encrypted", "dev"),
    ("rds-storage-encrypted", AURORA, {"storageEncrypted": True}, {}, "storage is not encrypted", "dev"),
    ("rds-not-public", RDS, GOOD_RDS, {**GOOD_RDS, "publiclyAccessible": True},
     "publiclyAccessible is true", "dev"),
    ("rds-not-public", "aws:rds/clusterInstance:ClusterInstance", {"publiclyAccessible": False},
     {"publiclyAccessible": True}, "publiclyAccessible is true", "dev"),
    ("rds-backups-kept", RDS, {**GOOD_RDS, "backupRetentionPeriod": 7},
     {**GOOD_RDS, "backupRetentionPeriod": 1}, "backups are kept 1 days, fewer than 7", "dev"),
    ("rds-backups-kept", RDS, GOOD_RDS, {**GOOD_RDS, "backupRetentionPeriod": 7},
     "fewer than 14", "prod"),
    ("rds-backups-kept", AURORA, {"backupRetentionPeriod": 14}, {}, "backups are kept 0 days", "prod"),
    ("rds-production-protected", RDS, GOOD_RDS, {**GOOD_RDS, "deletionProtection": False},
     "deletion protection is off in production", "prod"),
    ("rds-production-protected", RDS, GOOD_RDS, {**GOOD_RDS, "skipFinalSnapshot": True},
     "no final snapshot", "prod"),
    ("rds-production-protected", AURORA, {"deletionProtection": True}, {"deletionProtection": False},
     "deletion protection is off", "prod"),
    ("rds-production-multi-az", RDS, GOOD_RDS, {**GOOD_RDS, "multiAz": False},
     "Multi-AZ is off in production", "prod"),
    ("rds-master-password-managed", RDS, GOOD_RDS,
     {**{k: v for k, v in GOOD_RDS.items() if k != "manageMasterUserPassword"}, "password": "hunter2"},
     "the admin password is set by the deployment", "dev"),
    ("rds-master-password-managed", RDS, GOOD_RDS, {**GOOD_RDS, "masterUserSecretKmsKeyId": None},
     "encrypted with the AWS-managed key", "dev"),
    ("rds-master-password-managed", AURORA, {"manageMasterUserPassword": True, "masterUserSecretKmsKeyId": "k"},
     {"masterPassword": "hunter2"}, "the admin password is set by the deployment", "dev"),
    ("rds-enhanced-monitoring", RDS, GOOD_RDS, {**GOOD_RDS, "monitoringInterval": 0},
     "enhanced monitoring is off", "dev"),
    ("rds-enhanced-monitoring", "aws:rds/clusterInstance:ClusterInstance",
     {"monitoringInterval": 60, "monitoringRoleArn": "arn:r"}, {}, "enhanced monitoring is off", "dev"),
    ("rds-production-enhanced-monitoring", RDS, GOOD_RDS, {**GOOD_RDS, "monitoringRoleArn": None},
     "has no role to publish with", "prod"),
    ("elasticache-encrypted", REDIS, GOOD_REDIS, {**GOOD_REDIS, "transitEncryptionEnabled": False},
     "encryption in transit is off", "dev"),
    ("elasticache-encrypted", REDIS, GOOD_REDIS, {**GOOD_REDIS, "atRestEncryptionEnabled": False},
     "encryption at rest is off", "dev"),
    ("elasticache-encrypted", "aws:elasticache/cluster:Cluster", {"replicationGroupId": "rg"},
     {"engine": "redis"}, "a standalone cache cluster cannot encrypt at rest", "dev"),
    ("elasticache-auth", REDIS, GOOD_REDIS, {**GOOD_REDIS, "authToken": None},
     "no AUTH token or user group", "dev"),
    ("elasticache-auth", "aws:elasticache/serverlessCache:ServerlessCache", {"userGroupId": "g"}, {},
     "no user group", "dev"),
    ("elasticache-production-failover", REDIS, GOOD_REDIS, {**GOOD_REDIS, "automaticFailoverEnabled": False},
     "automatic failover or Multi-AZ is off in production", "prod"),
    ("elasticache-production-failover", "aws:elasticache/cluster:Cluster", {"replicationGroupId": "rg"},
     {"engine": "valkey"}, "a single-node cache cannot fail over", "prod"),
    ("eks-secrets-encrypted", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "encryptionConfigKeyArn": None},
     "secrets are not envelope-encrypted", "dev"),
    ("eks-secrets-encrypted", "aws:eks/cluster:Cluster", GOOD_EKS_REAL,
     {**GOOD_EKS_REAL, "encryptionConfig": None}, "secrets are not envelope-encrypted", "dev"),
    ("eks-audit-logging", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "enabledClusterLogTypes": ["api"]},
     "control-plane logs audit, authenticator are off", "dev"),
    ("eks-audit-logging", "aws:eks/cluster:Cluster", GOOD_EKS_REAL, {**GOOD_EKS_REAL, "enabledClusterLogTypes": []},
     "control-plane logs api, audit, authenticator are off", "dev"),
    ("eks-endpoint-not-open", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "publicAccessCidrs": None},
     "the public API endpoint accepts any address", "dev"),
    ("eks-endpoint-not-open", "aws:eks/cluster:Cluster", GOOD_EKS_REAL,
     {**GOOD_EKS_REAL, "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
     "accepts any address", "dev"),
    ("eks-endpoint-not-open", "aws:eks/cluster:Cluster", GOOD_EKS_REAL,
     {**GOOD_EKS_REAL, "vpcConfig": {"subnetIds": ["subnet-1"]}}, "accepts any address", "dev"),
    ("eks-standard-support", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "upgradePolicy": None},
     "supportType is not STANDARD", "dev"),
    ("eks-gpu-nodes-tainted", NODE_GROUP, GPU_GROUP, {**GPU_GROUP, "taints": []},
     "a GPU node group without the nvidia.com/gpu taint", "dev"),
    ("eks-gpu-nodes-tainted", NODE_GROUP, {"instanceTypes": ["m6i.large"]},
     {"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["p4d.24xlarge"]}, "nvidia.com/gpu taint", "dev"),
    ("eks-gpu-nodes-tainted", MNG, {"gpu": True, "taints": [GPU_TAINT]}, {"gpu": True},
     "without the nvidia.com/gpu taint", "dev"),
    ("eks-gpu-nodes-tainted", SELF_MANAGED, SELF_MANAGED_GPU, {**SELF_MANAGED_GPU, "taints": {}},
     "without the nvidia.com/gpu taint", "dev"),
    ("eks-gpu-nodes-tainted", "eks:index:Cluster",
     {"gpu": True, "nodeGroupOptions": {"taints": {"nvidia.com/gpu": {"value": "true", "effect": "NoSchedule"}}}},
     {"instanceType": "g5.2xlarge"}, "without the nvidia.com/gpu taint", "dev"),
    ("eks-no-node-ssh", NODE_GROUP, GPU_GROUP, {**GPU_GROUP, "remoteAccess": {"ec2SshKey": "k"}},
     "remoteAccess opens SSH", "dev"),
    ("eks-no-node-ssh", SELF_MANAGED, SELF_MANAGED_GPU, {**SELF_MANAGED_GPU, "keyName": "ops"},
     "a key pair opens SSH", "dev"),
    ("eks-no-node-ssh", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "skipDefaultNodeGroup": False,
                                                        "nodePublicKey": "ssh-rsa AAA"},
     "a key pair opens SSH", "dev"),
    ("ec2-imdsv2-required", LT, GOOD_LT, {**GOOD_LT, "metadataOptions": {"httpTokens": "optional",
                                                                      "httpPutResponseHopLimit": 1}},
     "IMDSv1 is allowed", "dev"),
    ("ec2-imdsv2-required", LT, GOOD_LT, {**GOOD_LT, "metadataOptions": {"httpTokens": "required",
                                                                      "httpPutResponseHopLimit": 2}},
     "the metadata hop limit is 2", "dev"),
    ("ec2-imdsv2-required", "aws:ec2/instance:Instance", GOOD_LT, {}, "IMDSv1 is allowed", "dev"),
    ("ec2-imdsv2-required", "aws:ec2/launchConfiguration:LaunchConfiguration", GOOD_LT,
     {"metadataOptions": {"httpTokens": "required"}}, "the metadata hop limit is unset", "dev"),
    ("ec2-imdsv2-required", NODE_GROUP, GPU_GROUP, {k: v for k, v in GPU_GROUP.items() if k != "launchTemplate"},
     "without a launch template EKS's default sets the metadata hop limit to 2", "dev"),
    ("ec2-imdsv2-required", MNG, {"launchTemplate": {"id": "lt-1"}}, {"enableIMDSv2": True},
     "enableIMDSv2 sets the metadata hop limit to 2", "dev"),
    ("ec2-imdsv2-required", SELF_MANAGED, None, SELF_MANAGED_GPU, "keep the AMI's metadata hop limit", "dev"),
    ("ec2-volumes-encrypted", LT, GOOD_LT,
     {**GOOD_LT, "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
     "an EBS volume is not encrypted", "dev"),
    ("ec2-volumes-encrypted", LT, GOOD_LT, {"metadataOptions": GOOD_LT["metadataOptions"]},
     "encryption is left to the AMI", "dev"),
    ("ec2-volumes-encrypted", "aws:ec2/volume:Volume", {"encrypted": True}, {"encrypted": False},
     "EBS encryption is off", "dev"),
    ("ec2-volumes-encrypted", "aws:ec2/instance:Instance", {"rootBlockDevice": {"encrypted": True}},
     {"rootBlockDevice": {"encrypted": True}, "ebsBlockDevices": [{"deviceName": "/dev/sdf"}]},
     "an EBS volume is not encrypted", "dev"),
    ("ec2-volumes-encrypted", "aws:ec2/launchConfiguration:LaunchConfiguration",
     {"rootBlockDevice": {"encrypted": True}}, {"rootBlockDevice": {"encrypted": False}},
     "an EBS volume is not encrypted", "dev"),
    ("ec2-volumes-encrypted", "aws:ebs/encryptionByDefault:EncryptionByDefault", {"enabled": True},
     {"enabled": False}, "EBS encryption is off", "dev"),
    ("ec2-volumes-encrypted", NODE_GROUP, GPU_GROUP, {"instanceTypes": ["m6i.large"], "diskSize": 100},
     "left to EKS's default launch template", "dev"),
    ("ec2-volumes-encrypted", SELF_MANAGED, SELF_MANAGED_GPU, {**SELF_MANAGED_GPU, "nodeRootVolumeEncrypted": False},
     "encryption is left to the AMI", "dev"),
    ("ec2-volumes-encrypted", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "skipDefaultNodeGroup": None},
     "encryption is left to the AMI", "dev"),
    ("ec2-no-internet-admin-or-database-ports", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
     {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"},
     "SSH open to the internet", "dev"),
    ("ec2-no-internet-admin-or-database-ports", "aws:ec2/securityGroup:SecurityGroup",
     {"ingress": [{"protocol": "tcp", "fromPort": 3306, "toPort": 3306, "cidrBlocks": ["10.0.0.0/16"]}]},
     {"ingress": [{"protocol": "tcp", "fromPort": 3000, "toPort": 4000, "cidrBlocks": ["0.0.0.0/0"]}]},
     "MySQL open to the internet", "dev"),
    ("ec2-no-internet-admin-or-database-ports", "aws:ec2/securityGroupRule:SecurityGroupRule",
     {"type": "egress", "protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
     {"type": "ingress", "protocol": "-1", "fromPort": 0, "toPort": 0, "ipv6CidrBlocks": ["::/0"]},
     "SSH, RDP, MySQL", "dev"),
    ("ec2-no-internet-admin-or-database-ports", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {},
     {"ingress": [{"protocol": "tcp", "fromPort": 6379, "toPort": 6379, "cidrBlocks": ["0.0.0.0/0"]}]},
     "Redis open to the internet", "dev"),
    ("ec2-subnet-no-public-ips", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False},
     {"mapPublicIpOnLaunch": True}, "instances launched here get public IPs", "dev"),
    ("ec2-subnet-no-public-ips", "aws:ec2/instance:Instance", {}, {"associatePublicIpAddress": True},
     "the instance gets a public IP", "dev"),
    ("efs-encrypted", "aws:efs/fileSystem:FileSystem", {"encrypted": True}, {"encrypted": False},
     "the file system is not encrypted", "dev"),
    ("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": True}, {"enableKeyRotation": False},
     "automatic key rotation is off", "dev"),
    ("kms-deletion-window", "aws:kms/key:Key", {"deletionWindowInDays": 30}, {"deletionWindowInDays": 7},
     "the deletion window is 7 days", "dev"),
    ("kms-deletion-window", "aws:kms/replicaKey:ReplicaKey", {}, {"deletionWindowInDays": 10},
     "the deletion window is 10 days", "dev"),
    ("iam-no-wildcard-actions", "aws:iam/rolePolicy:RolePolicy",
     {"policy": _doc(_allow(["s3:GetObject", "s3:PutObject"]),
                     {"Effect": "Deny", "Action": "s3:*", "Resource": "*"})},
     {"policy": _doc(_allow("s3:*"))}, "the action \"s3:*\" grants a whole service", "dev"),
    ("iam-no-wildcard-actions", "aws:iam/role:Role",
     {"inlinePolicies": [{"name": "p", "policy": _doc(_allow("ec2:DescribeInstances", "*"))}]},
     {"inlinePolicies": [{"name": "p", "policy": _doc(_allow("*", "*"))}]},
     "the action \"*\"", "dev"),
    ("iam-no-wildcard-actions", "aws:iam/userPolicy:UserPolicy", {"policy": _doc(_allow("s3:GetObject"))},
     {"policy": _doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}, "uses NotAction", "dev"),
    ("iam-no-unconditioned-passrole", "aws:iam/policy:Policy",
     {"policy": _doc(_allow("iam:PassRole", "*", Condition={
         "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}))},
     {"policy": _doc(_allow(["iam:PassRole"], "*"))}, "iam:PassRole on Resource \"*\"", "dev"),
    ("iam-no-users-or-access-keys", "aws:iam/user:User", None, {"name": "ci"},
     "long-lived IAM credentials", "dev"),
    ("iam-no-users-or-access-keys", "aws:iam/accessKey:AccessKey", None, {"user": "ci"},
     "long-lived IAM credentials", "dev"),
    ("iam-no-admin-policy-attachment", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"policyArn": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"},
     {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, "AdministratorAccess attached", "dev"),
    ("iam-no-admin-policy-attachment", "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
     {"policyArns": ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]},
     {"policyArns": ["arn:aws:iam::aws:policy/IAMFullAccess"]}, "IAMFullAccess attached", "dev"),
    ("iam-no-admin-policy-attachment", "aws:iam/role:Role", {},
     {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}, "AdministratorAccess attached", "dev"),
    ("iam-no-public-trust", "aws:iam/role:Role",
     {"assumeRolePolicy": _doc({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                "Action": ["sts:AssumeRole", "sts:TagSession"]})},
     {"assumeRolePolicy": _doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})},
     "any AWS principal", "dev"),
    ("logs-retention-set", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30, "kmsKeyId": "k"},
     {"kmsKeyId": "k"}, "logs are kept forever", "dev"),
    ("logs-kms-encrypted", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30, "kmsKeyId": "k"},
     {"retentionInDays": 30}, "encrypted only with CloudWatch's own key", "dev"),
    ("secretsmanager-customer-key", "aws:secretsmanager/secret:Secret", {"kmsKeyId": "arn:aws:kms:k"},
     {"name": "s"}, "the secret uses the AWS-managed key", "dev"),
]


@pytest.mark.parametrize("policy,type_,good,bad,words,stack", RESOURCE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RESOURCE_CASES)])
def test_resource_policy_fires_on_bad_and_passes_good(pack, policy, type_, good, bad, words, stack):
    found = findings_of(pack, policy, [resource(type_, "subject", bad, stack=stack)])
    assert found, f"{policy} did not fire on {bad}"
    assert any(words in f.report for f in found), [f.report for f in found]
    assert all(f.report.startswith(f"{type_} 'subject': ") and "Fix: " in f.report for f in found)
    assert {f.level for f in found} == {LEVEL[policy]}
    if good is not None:
        assert findings_of(pack, policy, [resource(type_, "subject", good, stack=stack)]) == []


def test_production_rules_are_quiet_outside_production(pack):
    assert findings_of(pack, "rds-production-multi-az", [resource(RDS, "db", {**GOOD_RDS, "multiAz": False})]) == []
    # which stacks count as production is the user's to configure, through the engine's Configure call
    configure(pack, {"rds-production-multi-az": {"productionStacks": ["live"]}})
    try:
        assert findings_of(pack, "rds-production-multi-az",
                      [resource(RDS, "db", {**GOOD_RDS, "multiAz": False}, stack="live")])
    finally:
        configure(pack, {})


@pytest.mark.parametrize("stack,tagged,production", [
    ("prod-eu", True, True),   # a production environment under another stack name
    ("prod", False, False),    # a stack called prod whose environment is not production
    ("live", None, False),     # no tag (not deployed by this program): the productionStacks list decides
])
def test_production_is_what_the_program_tagged(pack, stack, tagged, production):
    provider = aws_provider(stack, tagged) if tagged is not None else None
    db = resource(RDS, "db", {**GOOD_RDS, "multiAz": False}, stack=stack, provider=provider)
    found = findings_of(pack, "rds-production-multi-az", [db, *([provider] if provider else [])])
    assert bool(found) is production
    stateful = resource(RDS, "db", GOOD_RDS, stack=stack, provider=provider)
    assert bool(findings_of(pack, "production-stateful-protected", [stateful, *([provider] if provider else [])])) \
        is production


def test_policies_ignore_other_resource_types(pack):
    bucket = resource("aws:s3/bucket:Bucket", "b", {"storageEncrypted": False})
    assert findings_of(pack, "rds-storage-encrypted", [bucket]) == []


# ---- stack policies ----------------------------------------------------------------------------

BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
TLS_DENY = {"Effect": "Deny", "Action": "s3:*", "Principal": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
ABORT_ALL = {"id": "abort", "status": "Enabled", "filter": {"prefix": ""},
             "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7}}


def _bucket_with(*companions, bucket_props=None):
    bucket = resource(BUCKET, "artifacts", bucket_props or {})
    others = [resource(t, f"artifacts-{i}", props, property_dependencies={"bucket": [bucket]})
              for i, (t, props) in enumerate(companions)]
    return [bucket, *others]


def _vpc_with(*companions, stack="dev"):
    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {}, stack=stack)
    return [vpc, *[resource(t, f"vpc-{i}", props, stack=stack, property_dependencies={"vpcId": [vpc]})
                   for i, (t, props) in enumerate(companions)]]


def _key_with(key_props, *policies):
    key = resource("aws:kms/key:Key", "key", key_props)
    return [key, *[resource("aws:kms/keyPolicy:KeyPolicy", f"key-{i}", {"policy": p},
                            property_dependencies={"keyId": [key]}) for i, p in enumerate(policies)]]


KEY_DOC = _doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": ["kms:DescribeKey"],
                "Resource": "*"})
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"

# (policy, compliant resources, violating resources, words of the violation, name of the resource it names)
STACK_CASES = [
    ("s3-bucket-has-public-access-block", _bucket_with((PAB, {"blockPublicAcls": True})), _bucket_with(),
     "has no BucketPublicAccessBlock", "artifacts"),
    ("s3-bucket-encrypted", _bucket_with((SSE, {"rules": [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms"}}]})), _bucket_with(), "has no default encryption", "artifacts"),
    ("s3-bucket-encrypted", _bucket_with(bucket_props={"serverSideEncryptionConfiguration": {"rule": {
        "applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}}}),
     _bucket_with((SSE, {"rules": [{"bucketKeyEnabled": True}]})), "has no default encryption", "artifacts"),
    ("s3-bucket-tls-only", _bucket_with(("aws:s3/bucketPolicy:BucketPolicy", {"policy": _doc(TLS_DENY)})),
     _bucket_with(("aws:s3/bucketPolicy:BucketPolicy", {"policy": _doc(_allow("s3:GetObject"))})),
     "accepts plain-HTTP requests", "artifacts"),
    ("s3-bucket-tls-only", _bucket_with(bucket_props={"policy": _doc(TLS_DENY)}), _bucket_with(),
     "accepts plain-HTTP requests", "artifacts"),
    ("s3-bucket-versioned", _bucket_with(("aws:s3/bucketVersioning:BucketVersioning",
                                          {"versioningConfiguration": {"status": "Enabled"}})),
     _bucket_with(("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": "Suspended"}})),
     "is not versioned", "artifacts"),
    ("s3-bucket-versioned", _bucket_with(bucket_props={"versioning": {"enabled": True}}), _bucket_with(),
     "is not versioned", "artifacts"),
    ("s3-abort-incomplete-multipart-uploads", _bucket_with((LIFECYCLE, {"rules": [ABORT_ALL]})),
     _bucket_with((LIFECYCLE, {"rules": [{**ABORT_ALL, "filter": {"prefix": "tmp/"}}]})),
     "keeps the parts of incomplete multipart uploads forever", "artifacts"),
    ("s3-abort-incomplete-multipart-uploads",
     _bucket_with(bucket_props={"lifecycleRules": [{"enabled": True, "abortIncompleteMultipartUploadDays": 7}]}),
     _bucket_with((LIFECYCLE, {"rules": [{**ABORT_ALL, "status": "Disabled"}]})),
     "incomplete multipart uploads", "artifacts"),
    ("vpc-default-security-group-closed", _vpc_with((DEFAULT_SG, {})), _vpc_with(),
     "leaves its default security group with AWS's rules", "vpc"),
    ("vpc-default-security-group-closed", _vpc_with((DEFAULT_SG, {})),
     _vpc_with((DEFAULT_SG, {"egress": [{"protocol": "-1", "cidrBlocks": ["0.0.0.0/0"]}]})),
     "the default security group has egress rules", "vpc-0"),
    ("vpc-flow-logs-in-production", _vpc_with(("aws:ec2/flowLog:FlowLog", {}), stack="prod"),
     _vpc_with(stack="prod"), "has no flow log", "vpc"),
    ("kms-key-policy-explicit", _key_with({"policy": KEY_DOC}), _key_with({}), "uses the default key policy", "key"),
    ("kms-key-policy-explicit", _key_with({}, KEY_DOC),
     _key_with({"policy": _doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
                                "Resource": "*"})}), "lets any principal use the key", "key"),
    ("kms-key-policy-explicit", _key_with({"policy": KEY_DOC}),
     _key_with({}, _doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*",
                         "Resource": "*"})), "allows \"kms:*\"", "key"),
    ("production-stateful-protected", [resource(RDS, "db", {}, stack="prod", protect=True)],
     [resource(RDS, "db", {}, stack="prod")], "is not protected in production", "db"),
    ("production-stateful-protected", [resource("aws:eks/cluster:Cluster", "eks", {}, stack="prod", protect=True)],
     [resource("aws:eks/cluster:Cluster", "eks", {}, stack="prod")], "is not protected in production", "eks"),
]


@pytest.mark.parametrize("policy,good,bad,words,subject", STACK_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(STACK_CASES)])
def test_stack_policy_fires_on_bad_and_passes_good(pack, policy, good, bad, words, subject):
    assert_stack_case(pack, policy, good, bad, words, subject)


def test_bucket_companion_must_target_that_bucket(pack):
    bucket = resource(BUCKET, "artifacts", {"bucket": "artifacts-bucket"})
    other = resource(BUCKET, "logs", {"bucket": "logs-bucket"})
    block = resource(PAB, "logs-block", {}, property_dependencies={"bucket": [other]})
    by_name = resource(PAB, "by-name", {"bucket": "artifacts-bucket"})  # a literal name counts too
    found = findings_of(pack, "s3-bucket-has-public-access-block", [bucket, other, block])
    assert [f.urn for f in found] == [bucket.urn]
    assert findings_of(pack, "s3-bucket-has-public-access-block", [bucket, other, block, by_name]) == []


def test_rules_added_to_a_default_security_group_are_caught(pack):
    vpc, default = _vpc_with((DEFAULT_SG, {}))
    rule = resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "rule", {"ipProtocol": "-1"},
                    property_dependencies={"securityGroupId": [default]})
    [finding] = findings_of(pack, "vpc-default-security-group-closed", [vpc, default, rule])
    assert finding.urn == rule.urn and "adds a rule to a VPC's default security group" in finding.report


# ---- the pack as a whole -----------------------------------------------------------------------

def test_every_policy_is_tested():
    """(The Kubernetes policies' cases are in tests/test_policies_kubernetes.py.)"""
    tested = {c[0] for c in RESOURCE_CASES} | {c[0] for c in STACK_CASES}
    assert {p.name for p in ALL_POLICIES if p not in kubernetes.POLICIES} == tested


def test_pack_shape():
    for policy in ALL_POLICIES:
        assert policy.description and policy.enforcement_level in (
            EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    mandatory = {p.name for p in ALL_POLICIES if p.enforcement_level == EnforcementLevel.MANDATORY}
    assert {"s3-bucket-has-public-access-block", "iam-no-wildcard-actions", "eks-gpu-nodes-tainted",
            "production-stateful-protected", "ec2-imdsv2-required", "kms-key-policy-explicit",
            "logs-kms-encrypted", "secretsmanager-customer-key", "rds-master-password-managed",
            "vpc-default-security-group-closed", "s3-abort-incomplete-multipart-uploads",
            "rds-production-enhanced-monitoring"} <= mandatory
    assert LEVEL["rds-enhanced-monitoring"] == "advisory"
    assert any(isinstance(p, StackValidationPolicy) for p in ALL_POLICIES)


def test_stacks_pass_the_pack(each_stack):
    found = stack_findings(each_stack)  # the pack as published, in its default configuration
    assert found == [], "\n".join(f"{f.policy} [{f.level}]: {f.report}" for f in found)


# ---- preview: what a first `pulumi preview` shows the pack ---------------------------------------

@pytest.fixture(scope="session", params=["dev", "prod"])
def first_preview(request, dev_preview, prod_preview):
    return {"dev": dev_preview, "prod": prod_preview}[request.param]


def _has_unknown(value) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return value == WIRE_UNKNOWN


def test_a_first_preview_passes_with_every_policy_run(first_preview, pack):
    unknown = [r for r in first_preview.resources if _has_unknown(r.wire)]
    assert len(unknown) > 100  # ids and ARNs of resources not created yet really are unknown here
    found = stack_findings(first_preview, pack)
    # no policy crashed (that would raise), none was skipped for reading an unknown value, none failed
    assert [f for f in found if PREVIEW_SKIP in f.message] == []
    assert found == [], "\n".join(f"{f.policy}: {f.report}" for f in found)


# A known bad part in a resource whose other inputs are unknown at preview: (type, name, change, policy).
KNOWN_BAD_PARTS = [
    (LT, "cluster-system-lt", lambda w: w["metadataOptions"].update(httpTokens="optional"), "ec2-imdsv2-required"),
    ("aws:eks/cluster:Cluster", "cluster-eks", lambda w: w.update(enabledClusterLogTypes=["api"]),
     "eks-audit-logging"),
    ("aws:kms/key:Key", "cluster-secrets", lambda w: w.update(enableKeyRotation=False), "kms-key-rotation"),
    (RDS, "database-mysql", lambda w: w.update(storageEncrypted=False), "rds-storage-encrypted"),
    (RDS, "database-mysql", lambda w: w.pop("monitoringInterval"), "rds-production-enhanced-monitoring"),
    (PAB, "artifacts-bucket", lambda w: w.update(blockPublicPolicy=False), "s3-public-access-block-complete"),
    ("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane", lambda w: w.pop("retentionInDays"),
     "logs-retention-set"),
    ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cluster-api-from-nodes",
     lambda w: w.update(cidrIpv4="0.0.0.0/0", fromPort=22.0, toPort=22.0), "ec2-no-internet-admin-or-database-ports"),
    (RDS, "database-mysql", lambda w: w.update(publiclyAccessible=True), "rds-not-public"),
]


@pytest.mark.parametrize("type_,name,change,policy", KNOWN_BAD_PARTS, ids=[c[3] for c in KNOWN_BAD_PARTS])
def test_a_known_bad_part_is_caught_even_while_other_inputs_are_unknown(prod_preview, pack, type_, name, change,
                                                                        policy):
    first_preview = prod_preview
    [recorded] = [r for r in first_preview.resources if r.type == type_ and r.name == name]
    target = copy.deepcopy(recorded)
    assert _has_unknown(target.wire), f"{name} has no unknown input at preview; pick another subject"
    change(target.wire)
    assert _has_unknown(target.wire)
    assert findings_of(pack, policy, [recorded]) == []
    assert [f.urn for f in findings_of(pack, policy, [target])] == [target.urn]


def test_a_bucket_without_encryption_is_caught_while_its_name_is_unknown(first_preview, pack):
    resources = [r for r in first_preview.resources if r.type.startswith("aws:s3/") and r.type != SSE]
    found = findings_of(pack, "s3-bucket-encrypted", resources)
    assert {f.urn.rsplit("::", 1)[1] for f in found} == {b.name for b in first_preview.of_type(BUCKET)}
