"""Every policy fires on a bad resource with a clear message and stays quiet on a good one; both stacks
pass the whole pack."""

import json

import pytest
from mlplatform_policies import ALL_POLICIES
from pulumi_policy import EnforcementLevel, StackValidationPolicy

from tests.policy_runner import check_resource, check_stack, resource, violations

LT = "aws:ec2/launchTemplate:LaunchTemplate"
RDS = "aws:rds/instance:Instance"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"
GOOD_LT = {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
           "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]}
GOOD_RDS = {"storageEncrypted": True, "publiclyAccessible": False, "backupRetentionPeriod": 14,
            "deletionProtection": True, "skipFinalSnapshot": False, "multiAz": True}
GOOD_REDIS = {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "authToken": "x",
              "automaticFailoverEnabled": True, "multiAzEnabled": True}
GOOD_EKS = {"encryptionConfigKeyArn": "arn:aws:kms:us-east-1:1:key/k", "endpointPublicAccess": True,
            "publicAccessCidrs": ["203.0.113.0/24"], "enabledClusterLogTypes": ["api", "audit", "authenticator"],
            "upgradePolicy": {"supportType": "STANDARD"}}
GOOD_EKS_REAL = {"encryptionConfig": {"provider": {"keyArn": "arn:k"}, "resources": ["secrets"]},
                 "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True},
                 "enabledClusterLogTypes": ["api", "audit", "authenticator"],
                 "upgradePolicy": {"supportType": "STANDARD"}}
GPU_GROUP = {"amiType": "AL2023_x86_64_NVIDIA", "instanceTypes": ["g6.xlarge"],
             "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]}


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action, resource="arn:aws:s3:::b/*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


# (policy, resource type, compliant props, violating props, words the violation must contain, stack)
RESOURCE_CASES = [
    ("s3-public-access-block-complete", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
     dict.fromkeys(["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"], True),
     {"blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True,
      "restrictPublicBuckets": True}, "blockPublicPolicy not true", "dev"),
    ("s3-no-public-acl", "aws:s3/bucket:Bucket", {"acl": "private"}, {"acl": "public-read"},
     "canned ACL 'public-read' makes objects public", "dev"),
    ("s3-no-public-acl", "aws:s3/bucketAcl:BucketAcl",
     {"accessControlPolicy": {"grants": [{"grantee": {"type": "CanonicalUser", "id": "abc"}}]}},
     {"accessControlPolicy": {"grants": [{"grantee": {
         "type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]}},
     "a grant goes to AllUsers", "dev"),
    ("rds-storage-encrypted", RDS, GOOD_RDS, {**GOOD_RDS, "storageEncrypted": False},
     "storage is not encrypted", "dev"),
    ("rds-not-public", RDS, GOOD_RDS, {**GOOD_RDS, "publiclyAccessible": True},
     "publiclyAccessible is true", "dev"),
    ("rds-backups-kept", RDS, {**GOOD_RDS, "backupRetentionPeriod": 7},
     {**GOOD_RDS, "backupRetentionPeriod": 1}, "backups are kept 1 days, fewer than 7", "dev"),
    ("rds-backups-kept", RDS, GOOD_RDS, {**GOOD_RDS, "backupRetentionPeriod": 7},
     "fewer than 14", "prod"),
    ("rds-production-protected", RDS, GOOD_RDS, {**GOOD_RDS, "deletionProtection": False},
     "deletion protection is off in production", "prod"),
    ("rds-production-protected", RDS, GOOD_RDS, {**GOOD_RDS, "skipFinalSnapshot": True},
     "no final snapshot", "prod"),
    ("rds-production-multi-az", RDS, GOOD_RDS, {**GOOD_RDS, "multiAz": False},
     "Multi-AZ is off in production", "prod"),
    ("elasticache-encrypted", REDIS, GOOD_REDIS, {**GOOD_REDIS, "transitEncryptionEnabled": False},
     "encryption in transit is off", "dev"),
    ("elasticache-encrypted", REDIS, GOOD_REDIS, {**GOOD_REDIS, "atRestEncryptionEnabled": False},
     "encryption at rest is off", "dev"),
    ("elasticache-auth", REDIS, GOOD_REDIS, {**GOOD_REDIS, "authToken": None},
     "no AUTH token or user group", "dev"),
    ("elasticache-production-failover", REDIS, GOOD_REDIS, {**GOOD_REDIS, "automaticFailoverEnabled": False},
     "automatic failover or Multi-AZ is off in production", "prod"),
    ("eks-secrets-encrypted", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "encryptionConfigKeyArn": None},
     "secrets are not envelope-encrypted", "dev"),
    ("eks-secrets-encrypted", "aws:eks/cluster:Cluster", GOOD_EKS_REAL,
     {**GOOD_EKS_REAL, "encryptionConfig": None}, "secrets are not envelope-encrypted", "dev"),
    ("eks-audit-logging", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "enabledClusterLogTypes": ["api"]},
     "control-plane logs audit, authenticator are off", "dev"),
    ("eks-endpoint-not-open", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "publicAccessCidrs": None},
     "the public API endpoint accepts any address", "dev"),
    ("eks-endpoint-not-open", "aws:eks/cluster:Cluster", GOOD_EKS_REAL,
     {**GOOD_EKS_REAL, "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
     "accepts any address", "dev"),
    ("eks-standard-support", "eks:index:Cluster", GOOD_EKS, {**GOOD_EKS, "upgradePolicy": None},
     "supportType is not STANDARD", "dev"),
    ("eks-gpu-nodes-tainted", "aws:eks/nodeGroup:NodeGroup", GPU_GROUP, {**GPU_GROUP, "taints": []},
     "a GPU node group without the nvidia.com/gpu taint", "dev"),
    ("eks-gpu-nodes-tainted", "aws:eks/nodeGroup:NodeGroup", {"instanceTypes": ["m6i.large"]},
     {"amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["p4d.24xlarge"]}, "nvidia.com/gpu taint", "dev"),
    ("eks-no-node-ssh", "aws:eks/nodeGroup:NodeGroup", GPU_GROUP,
     {**GPU_GROUP, "remoteAccess": {"ec2SshKey": "k"}}, "remoteAccess opens SSH", "dev"),
    ("ec2-imdsv2-required", LT, GOOD_LT, {**GOOD_LT, "metadataOptions": {"httpTokens": "optional",
                                                                      "httpPutResponseHopLimit": 1}},
     "IMDSv1 is allowed", "dev"),
    ("ec2-imdsv2-required", LT, GOOD_LT, {**GOOD_LT, "metadataOptions": {"httpTokens": "required",
                                                                      "httpPutResponseHopLimit": 2}},
     "the metadata hop limit is 2", "dev"),
    ("ec2-volumes-encrypted", LT, GOOD_LT,
     {**GOOD_LT, "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
     "an EBS volume is not encrypted", "dev"),
    ("ec2-volumes-encrypted", LT, GOOD_LT, {"metadataOptions": GOOD_LT["metadataOptions"]},
     "encryption is left to the AMI", "dev"),
    ("ec2-volumes-encrypted", "aws:ec2/volume:Volume", {"encrypted": True}, {"encrypted": False},
     "the volume is not encrypted", "dev"),
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
    ("ec2-subnet-no-public-ips", "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False},
     {"mapPublicIpOnLaunch": True}, "instances launched here get public IPs", "dev"),
    ("efs-encrypted", "aws:efs/fileSystem:FileSystem", {"encrypted": True}, {"encrypted": False},
     "the file system is not encrypted", "dev"),
    ("kms-key-rotation", "aws:kms/key:Key", {"enableKeyRotation": True}, {"enableKeyRotation": False},
     "automatic key rotation is off", "dev"),
    ("kms-deletion-window", "aws:kms/key:Key", {"deletionWindowInDays": 30}, {"deletionWindowInDays": 7},
     "the deletion window is 7 days", "dev"),
    ("iam-no-wildcard-actions", "aws:iam/rolePolicy:RolePolicy",
     {"policy": _doc(_allow(["s3:GetObject", "s3:PutObject"]),
                     {"Effect": "Deny", "Action": "s3:*", "Resource": "*"})},
     {"policy": _doc(_allow("s3:*"))}, "the action \"s3:*\" grants a whole service", "dev"),
    ("iam-no-wildcard-actions", "aws:iam/role:Role",
     {"inlinePolicies": [{"name": "p", "policy": _doc(_allow("ec2:DescribeInstances", "*"))}]},
     {"inlinePolicies": [{"name": "p", "policy": _doc(_allow("*", "*"))}]},
     "the action \"*\"", "dev"),
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
    ("iam-no-public-trust", "aws:iam/role:Role",
     {"assumeRolePolicy": _doc({"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                "Action": ["sts:AssumeRole", "sts:TagSession"]})},
     {"assumeRolePolicy": _doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})},
     "any AWS principal", "dev"),
    ("logs-retention-set", "aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30}, {},
     "logs are kept forever", "dev"),
]


@pytest.mark.parametrize("policy,type_,good,bad,words,stack", RESOURCE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(RESOURCE_CASES)])
def test_resource_policy_fires_on_bad_and_passes_good(policy, type_, good, bad, words, stack):
    found = check_resource(policy, type_, bad, stack=stack)
    assert found, f"{policy} did not fire on {bad}"
    assert any(words in message for message in found), found
    assert all(message.startswith(f"{type_} 'subject': ") and "Fix: " in message for message in found)
    if good is not None:
        assert check_resource(policy, type_, good, stack=stack) == []


def test_production_rules_are_quiet_outside_production():
    assert check_resource("rds-production-multi-az", RDS, {**GOOD_RDS, "multiAz": False}, stack="dev") == []
    # which stacks count as production is the user's to configure
    assert check_resource("rds-production-multi-az", RDS, {**GOOD_RDS, "multiAz": False}, stack="live",
                          config={"productionStacks": ["live"]})


def test_policies_ignore_other_resource_types():
    assert check_resource("rds-storage-encrypted", "aws:s3/bucket:Bucket", {"storageEncrypted": False}) == []


# ---- stack policies ----------------------------------------------------------------------------

BUCKET = "aws:s3/bucket:Bucket"


def _bucket_with(*companions):
    bucket = resource(BUCKET, "artifacts", {})
    others = [resource(t, f"artifacts-{i}", props, property_dependencies={"bucket": [bucket]})
              for i, (t, props) in enumerate(companions)]
    return [bucket, *others]


TLS_DENY = {"Effect": "Deny", "Action": "s3:*", "Principal": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
STACK_CASES = [
    ("s3-bucket-has-public-access-block",
     [("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"blockPublicAcls": True})],
     "has no BucketPublicAccessBlock"),
    ("s3-bucket-encrypted",
     [("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
       {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]})],
     "has no default encryption"),
    ("s3-bucket-tls-only", [("aws:s3/bucketPolicy:BucketPolicy", {"policy": _doc(TLS_DENY)})],
     "accepts plain-HTTP requests"),
    ("s3-bucket-versioned",
     [("aws:s3/bucketVersioning:BucketVersioning", {"versioningConfiguration": {"status": "Enabled"}})],
     "is not versioned"),
]


@pytest.mark.parametrize("policy,companions,words", STACK_CASES, ids=[c[0] for c in STACK_CASES])
def test_bucket_stack_policies(policy, companions, words):
    assert check_stack(policy, _bucket_with(*companions)) == []
    [(message, at)] = check_stack(policy, _bucket_with())
    assert words in message and "Fix: " in message and at.endswith("::artifacts")


def test_bucket_companion_must_target_that_bucket():
    bucket = resource(BUCKET, "artifacts", {})
    other = resource(BUCKET, "logs", {})
    block = resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "logs-block", {},
                     property_dependencies={"bucket": [other]})
    found = check_stack("s3-bucket-has-public-access-block", [bucket, other, block])
    assert [at for _, at in found] == [bucket.urn]


def test_tls_only_rejects_a_policy_without_the_deny():
    resources = _bucket_with(("aws:s3/bucketPolicy:BucketPolicy",
                              {"policy": _doc(_allow("s3:GetObject"))}))
    assert check_stack("s3-bucket-tls-only", resources)


def test_production_vpcs_need_flow_logs():
    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {}, stack="prod")
    flow = resource("aws:ec2/flowLog:FlowLog", "flow", {}, stack="prod",
                    property_dependencies={"vpcId": [vpc]})
    assert check_stack("vpc-flow-logs-in-production", [vpc, flow]) == []
    [(message, at)] = check_stack("vpc-flow-logs-in-production", [vpc])
    assert "VPC 'vpc' has no flow log" in message and at == vpc.urn
    assert check_stack("vpc-flow-logs-in-production", [resource("aws:ec2/vpc:Vpc", "vpc", {})]) == []


def test_production_stateful_resources_are_protected():
    key = resource("aws:kms/key:Key", "key", {}, stack="prod", protect=True)
    db = resource(RDS, "db", {}, stack="prod", protect=False)
    found = check_stack("production-stateful-protected", [key, db])
    assert [at for _, at in found] == [db.urn]
    assert "ResourceOptions(protect=True)" in found[0][0]
    assert check_stack("production-stateful-protected", [resource(RDS, "db", {}, stack="dev")]) == []


# ---- the pack as a whole -----------------------------------------------------------------------

def test_every_policy_is_tested():
    tested = {c[0] for c in RESOURCE_CASES} | {c[0] for c in STACK_CASES} | {
        "vpc-flow-logs-in-production", "production-stateful-protected"}
    assert {p.name for p in ALL_POLICIES} == tested


def test_pack_size_and_shape():
    assert len(ALL_POLICIES) >= 25
    for policy in ALL_POLICIES:
        assert policy.description and policy.enforcement_level in (
            EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY)
    mandatory = {p.name for p in ALL_POLICIES if p.enforcement_level == EnforcementLevel.MANDATORY}
    assert {"s3-bucket-has-public-access-block", "iam-no-wildcard-actions", "eks-gpu-nodes-tainted",
            "production-stateful-protected", "ec2-imdsv2-required"} <= mandatory
    assert any(isinstance(p, StackValidationPolicy) for p in ALL_POLICIES)


def test_stacks_pass_the_pack(each_stack):
    found = violations(each_stack)
    assert found == [], "\n".join(f"{name} [{level.value}]: {message}" for name, level, message in found)


def test_pack_catches_a_regression_in_a_real_stack():
    from tests.harness import evaluate

    result = evaluate("prod")
    for r in result.resources:
        if r.type == "aws:kms/key:Key":
            r.protect = False
            r.inputs["enableKeyRotation"] = False
    names = {name for name, _, _ in violations(result)}
    assert {"production-stateful-protected", "kms-key-rotation"} <= names


def test_pack_entry_point_assembles_every_policy(monkeypatch):
    # PolicyPack(...) starts a gRPC server and blocks, so record what __main__.py passes it instead.
    import runpy

    import pulumi_policy

    from tests.harness import ROOT

    built = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: built.update(kwargs))
    runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="__main__")
    assert built["name"] == "mlplatform"
    assert built["policies"] == ALL_POLICIES
