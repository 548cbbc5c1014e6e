"""EC2 and VPC: IMDSv2, encrypted volumes, no admin or database port open to the internet, flow logs.

Sources: AWSGuard encrypted-volumes, ec2-instance-no-public-ip; CIS AWS 5.2/5.3 (no 0.0.0.0/0 to
admin ports), 3.7 (VPC flow logs); AWS FSBP EC2.8 (IMDSv2).
"""

from __future__ import annotations

from ._base import (
    ADVISORY,
    PRODUCTION_SCHEMA,
    as_list,
    depends_through,
    is_production,
    resource_policy,
    stack_policy,
    truthy,
)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
SENSITIVE_PORTS = {22: "SSH", 3389: "RDP", 3306: "MySQL", 5432: "PostgreSQL", 6379: "Redis",
                   11211: "Memcached", 2049: "NFS", 1433: "SQL Server", 1521: "Oracle",
                   27017: "MongoDB", 9200: "Elasticsearch", 5439: "Redshift"}
INTERNET = ("0.0.0.0/0", "::/0")


@resource_policy("ec2-imdsv2-required",
                 "Instances must require IMDSv2 tokens with a hop limit of 1, so pods cannot take the "
                 "node's credentials (pods get theirs from Pod Identity).", [LAUNCH_TEMPLATE, INSTANCE],
                 config={"maximumHopLimit": {"type": "integer", "default": 1}})
def imdsv2_required(props, args, config):
    options = props.get("metadataOptions") or {}
    if options.get("httpTokens") != "required":
        yield "IMDSv1 is allowed", "set metadataOptions.httpTokens to required"
    hops = options.get("httpPutResponseHopLimit")
    if hops is None or hops > config["maximumHopLimit"]:
        yield f"the metadata hop limit is {hops or 'unset'}", \
            f"set metadataOptions.httpPutResponseHopLimit to {config['maximumHopLimit']}"


@resource_policy("ec2-volumes-encrypted", "Every EBS volume must be encrypted.",
                 [LAUNCH_TEMPLATE, INSTANCE, "aws:ec2/volume:Volume"])
def volumes_encrypted(props, args, config):
    if args.resource_type == "aws:ec2/volume:Volume":
        if props.get("encrypted") is not True:
            yield "the volume is not encrypted", "set encrypted true"
        return
    devices = [m.get("ebs") or {} for m in as_list(props.get("blockDeviceMappings"))]
    devices += as_list(props.get("rootBlockDevice")) + as_list(props.get("ebsBlockDevices"))
    if args.resource_type == LAUNCH_TEMPLATE and not devices:
        yield "the root volume's encryption is left to the AMI", \
            "add a blockDeviceMappings entry for the root device with ebs.encrypted true"
    for device in devices:
        if not truthy(device.get("encrypted")):
            yield "an EBS volume is not encrypted", "set encrypted true on every block device"


def _open_to_internet(rule: dict) -> list[str]:
    sources = as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks")) + \
        as_list(rule.get("cidrIpv4")) + as_list(rule.get("cidrIpv6"))
    if not any(s in INTERNET for s in sources):
        return []
    protocol = str(rule.get("protocol", rule.get("ipProtocol", "tcp"))).lower()
    if protocol in ("-1", "all"):
        return list(SENSITIVE_PORTS.values())
    low, high = rule.get("fromPort", 0), rule.get("toPort", 65535)
    return [name for port, name in SENSITIVE_PORTS.items() if low <= port <= high]


@resource_policy("ec2-no-internet-admin-or-database-ports",
                 "No security group may open SSH, RDP or a database port to 0.0.0.0/0 or ::/0.",
                 ["aws:ec2/securityGroup:SecurityGroup", "aws:ec2/securityGroupRule:SecurityGroupRule",
                  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"])
def no_internet_admin_ports(props, args, config):
    if args.resource_type == "aws:ec2/securityGroup:SecurityGroup":
        rules = as_list(props.get("ingress"))
    elif args.resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        rules = [props] if props.get("type") == "ingress" else []
    else:
        rules = [props]
    for rule in rules:
        exposed = _open_to_internet(rule)
        if exposed:
            yield f"{', '.join(exposed)} open to the internet", \
                "admit only a security group or a private CIDR"


@resource_policy("ec2-subnet-no-public-ips",
                 "Subnets should not hand out public IPs; NAT and load balancers reach the internet.",
                 ["aws:ec2/subnet:Subnet"], level=ADVISORY)
def subnet_no_public_ips(props, args, config):
    if props.get("mapPublicIpOnLaunch") is True:
        yield "instances launched here get public IPs", "set mapPublicIpOnLaunch false"


@stack_policy("vpc-flow-logs-in-production",
              "Production VPCs must record flow logs for incident response.", config=PRODUCTION_SCHEMA)
def flow_logs_in_production(args, config):
    logs = [r for r in args.resources if r.resource_type == "aws:ec2/flowLog:FlowLog"]
    for vpc in (r for r in args.resources if r.resource_type == "aws:ec2/vpc:Vpc"):
        if is_production(vpc.urn, config) and not any(depends_through(f, "vpcId", vpc) for f in logs):
            yield (f"VPC '{vpc.name}' has no flow log. Fix: add an aws.ec2.FlowLog with vpcId=<this "
                   "VPC> (traffic ALL) to CloudWatch or S3.", vpc.urn)


@resource_policy("efs-encrypted", "EFS file systems must be encrypted at rest.",
                 ["aws:efs/fileSystem:FileSystem"])
def efs_encrypted(props, args, config):
    if props.get("encrypted") is not True:
        yield "the file system is not encrypted", "set encrypted true (and kmsKeyId)"


POLICIES = [imdsv2_required, volumes_encrypted, no_internet_admin_ports, subnet_no_public_ips,
            flow_logs_in_production, efs_encrypted]
