"""EC2 and VPC: IMDSv2, encrypted volumes, no admin or database port open to the internet, the default
security group closed, flow logs in production.

Sources: AWSGuard encrypted-volumes; CIS AWS Foundations 5.2/5.3 (no 0.0.0.0/0 to admin ports), 5.4
(default security group restricts all traffic), 3.7 (VPC flow logs); AWS FSBP EC2.2 (default security
group), EC2.3/EC2.7 (EBS encryption), EC2.6 (flow logs), EC2.8 (IMDSv2), EC2.19 (high-risk ports), EFS.1.

Each check covers every resource through which the guarded thing can be written in pulumi-aws v7 and
pulumi-eks v4: instances, launch templates, launch configurations and node groups for IMDS and volumes;
inline security group rules, aws.ec2.SecurityGroupRule and aws.vpc.SecurityGroupIngressRule for ingress.
"""

from __future__ import annotations

from ._base import (
    ADVISORY,
    PRODUCTION_SCHEMA,
    UNKNOWN,
    companions,
    get,
    is_production,
    items,
    known,
    number,
    of_type,
    resource_policy,
    stack_policy,
    stack_violation,
    truthy,
)
from .nodes import NODE_TYPES, nodes_of

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
VOLUME = "aws:ec2/volume:Volume"
EBS_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC = "aws:ec2/vpc:Vpc"
SENSITIVE_PORTS = {22: "SSH", 3389: "RDP", 3306: "MySQL", 5432: "PostgreSQL", 6379: "Redis",
                   11211: "Memcached", 2049: "NFS", 1433: "SQL Server", 1521: "Oracle",
                   27017: "MongoDB", 9200: "Elasticsearch", 5439: "Redshift"}
INTERNET = ("0.0.0.0/0", "::/0")


@resource_policy("ec2-imdsv2-required",
                 "Instances must require IMDSv2 tokens with a hop limit of 1, so pods cannot take the node's "
                 "credentials (pods get theirs from Pod Identity).",
                 "FSBP EC2.8",
                 [LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION, *NODE_TYPES],
                 config={"maximumHopLimit": {"type": "integer", "default": 1}})
def imdsv2_required(props, args, config):
    limit = config["maximumHopLimit"]
    if args.resource_type in NODE_TYPES:
        nodes = nodes_of(args.resource_type, props)
        if nodes is not None and nodes.imds_problem:
            yield nodes.imds_problem, f"give the nodes a launch template with metadataOptions httpTokens " \
                                      f"required and httpPutResponseHopLimit {limit}"
        return
    tokens = get(props, "metadataOptions", "httpTokens")
    if known(tokens) and tokens != "required":
        yield "IMDSv1 is allowed", "set metadataOptions.httpTokens to required"
    hops = get(props, "metadataOptions", "httpPutResponseHopLimit")
    if known(hops) and (hops is None or hops > limit):
        yield f"the metadata hop limit is {'unset' if hops is None else number(hops)}", \
            f"set metadataOptions.httpPutResponseHopLimit to {limit}"


def _block_devices(resource_type: str, props) -> list:
    if resource_type == LAUNCH_TEMPLATE:
        return [get(m, "ebs") for m in items(get(props, "blockDeviceMappings"))]
    return [d for d in [get(props, "rootBlockDevice"), *items(get(props, "ebsBlockDevices"))] if d is not None]


@resource_policy("ec2-volumes-encrypted",
                 "Every EBS volume must be encrypted: volumes, instances, launch templates, launch configurations "
                 "and node groups' root volumes.",
                 "FSBP EC2.3, EC2.7",
                 [LAUNCH_TEMPLATE, INSTANCE, LAUNCH_CONFIGURATION, VOLUME, EBS_DEFAULT, *NODE_TYPES])
def volumes_encrypted(props, args, config):
    kind = args.resource_type
    if kind in (VOLUME, EBS_DEFAULT):
        flag = get(props, "encrypted" if kind == VOLUME else "enabled", default=kind == EBS_DEFAULT)
        if known(flag) and flag is not True:
            yield "EBS encryption is off", f"set {'encrypted' if kind == VOLUME else 'enabled'} true"
        return
    if kind in NODE_TYPES:
        nodes = nodes_of(kind, props)
        if nodes is not None and nodes.root_volume_problem:
            yield nodes.root_volume_problem, "set the root volume's encryption explicitly (a launch template " \
                                             "with ebs.encrypted true, or nodeRootVolumeEncrypted true)"
        return
    devices = _block_devices(kind, props)
    if kind == LAUNCH_TEMPLATE and not devices:
        yield "the root volume's encryption is left to the AMI", \
            "add a blockDeviceMappings entry for the root device with ebs.encrypted true"
    if kind == INSTANCE and get(props, "rootBlockDevice") is None:
        yield "the root volume's encryption is left to the AMI", "set rootBlockDevice.encrypted true"
    for device in devices:
        flag = get(device, "encrypted")
        if known(flag) and not truthy(flag):
            yield "an EBS volume is not encrypted", "set encrypted true on every block device"


def _ingress_rules(resource_type: str, props) -> list:
    if resource_type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        return items(get(props, "ingress"))
    if resource_type == SECURITY_GROUP_RULE:
        return [props] if get(props, "type") == "ingress" else []
    return [props]


def _open_to_internet(rule) -> list[str]:
    sources = [*items(get(rule, "cidrBlocks")), *items(get(rule, "ipv6CidrBlocks")),
               get(rule, "cidrIpv4"), get(rule, "cidrIpv6")]
    if not any(s in INTERNET for s in sources):
        return []
    protocol = get(rule, "protocol", default=get(rule, "ipProtocol", default="tcp"))
    if protocol is UNKNOWN:
        return []
    if str(protocol).lower() in ("-1", "all"):
        return list(SENSITIVE_PORTS.values())
    low, high = get(rule, "fromPort", default=0), get(rule, "toPort", default=65535)
    if UNKNOWN in (low, high):
        return []
    return [name for port, name in SENSITIVE_PORTS.items() if low <= port <= high]


@resource_policy("ec2-no-internet-admin-or-database-ports",
                 "No security group may open SSH, RDP or a database port to 0.0.0.0/0 or ::/0.",
                 "CIS AWS 5.2, 5.3; FSBP EC2.19",
                 [SECURITY_GROUP, DEFAULT_SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE])
def no_internet_admin_ports(props, args, config):
    for rule in _ingress_rules(args.resource_type, props):
        if rule is UNKNOWN:
            continue
        exposed = _open_to_internet(rule)
        if exposed:
            yield f"{', '.join(exposed)} open to the internet", "admit only a security group or a private CIDR"


@resource_policy("ec2-subnet-no-public-ips",
                 "Subnets and instances should not get public IPs; NAT and load balancers reach the internet.",
                 "FSBP EC2.15, EC2.9", ["aws:ec2/subnet:Subnet", INSTANCE], level=ADVISORY)
def subnet_no_public_ips(props, args, config):
    if get(props, "mapPublicIpOnLaunch") is True:
        yield "instances launched here get public IPs", "set mapPublicIpOnLaunch false"
    if get(props, "associatePublicIpAddress") is True:
        yield "the instance gets a public IP", "set associatePublicIpAddress false"


@stack_policy("vpc-default-security-group-closed",
              "Every VPC's default security group must have no rules, so a resource launched without a group "
              "gets no traffic.",
              "CIS AWS 5.4; FSBP EC2.2")
def default_security_group_closed(args, config):
    for vpc in of_type(args, [VPC]):
        if not companions(args, [DEFAULT_SECURITY_GROUP], "vpcId", vpc):
            yield stack_violation(vpc, "leaves its default security group with AWS's rules (members talk to each "
                                  "other, all egress)", "add an aws.ec2.DefaultSecurityGroup with vpcId=<this VPC> "
                                  "and no ingress or egress rules")
    for group in of_type(args, [DEFAULT_SECURITY_GROUP]):
        for direction in ("ingress", "egress"):
            rules = items(get(group.props, direction))
            if rules and UNKNOWN not in rules:
                yield stack_violation(group, f"the default security group has {direction} rules",
                                      f"remove its {direction} rules; put workloads in their own groups")
        for rule in companions(args, [SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE], "securityGroupId", group):
            yield stack_violation(rule, "adds a rule to a VPC's default security group",
                                  "attach the rule to a dedicated security group")


@stack_policy("vpc-flow-logs-in-production",
              "Production VPCs must record flow logs for incident response.",
              "CIS AWS 3.7; FSBP EC2.6",
              config=PRODUCTION_SCHEMA)
def flow_logs_in_production(args, config):
    for vpc in of_type(args, [VPC]):
        if is_production(vpc, config) and not companions(args, ["aws:ec2/flowLog:FlowLog"], "vpcId", vpc):
            yield stack_violation(vpc, "has no flow log",
                                  "add an aws.ec2.FlowLog with vpcId=<this VPC> (traffic ALL) to CloudWatch or S3")


@resource_policy("efs-encrypted", "EFS file systems must be encrypted at rest.",
                                  "FSBP EFS.1",
                 ["aws:efs/fileSystem:FileSystem"])
def efs_encrypted(props, args, config):
    flag = get(props, "encrypted")
    if known(flag) and flag is not True:
        yield "the file system is not encrypted", "set encrypted true (and kmsKeyId)"


POLICIES = [imdsv2_required, volumes_encrypted, no_internet_admin_ports, subnet_no_public_ips,
            default_security_group_closed, flow_logs_in_production, efs_encrypted]
