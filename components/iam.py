"""IAM policy documents, kept as data with their source.

Each function returns a policy document (a dict) for one purpose. Actions are always listed by name:
no "*" actions. Resource ARNs are narrowed to what this stack creates wherever the service allows it.
"""

from __future__ import annotations

from typing import Any

import pulumi

Document = dict[str, Any]


def service_trust(service: str) -> Document:
    """Trust policy letting one AWS service principal assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    }


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
