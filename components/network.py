"""Network: the VPC the platform runs in.

Per AZ: a public subnet (load balancers, NAT), a private subnet (nodes and pods; vpc-cni gives every
pod a VPC address, so these are large) and an isolated database subnet (no route to the internet).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam
from components.component import Component
from components.config import NetworkConfig
from components.kms import account_id, customer_key
from components.stack import StackContext

# Subnet tags the AWS Load Balancer Controller uses to discover where to put load balancers.
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class SubnetLayout:
    private: str
    public: str
    database: str


def subnet_layout(vpc_cidr: str, az: str) -> SubnetLayout:
    """The subnets of one AZ.

    The VPC is cut into eighths. The AZ's letter picks its slot n (a=0 ... g=6): its private subnet is
    eighth n, and the last eighth is cut into 1/256ths of the VPC for the small public (n) and database
    (8 + n) subnets. A subnet's range depends only on its own AZ, so adding or removing an AZ never
    renumbers, and therefore never replaces, another AZ's subnets.
    """
    slot = ord(az[-1]) - ord("a")
    if not 0 <= slot <= 6:
        raise ValueError(f"{az!r} does not end in a letter a-g")
    vpc = ipaddress.IPv4Network(vpc_cidr)
    eighths = list(vpc.subnets(prefixlen_diff=3))
    small = list(eighths[-1].subnets(new_prefix=vpc.prefixlen + 8))
    return SubnetLayout(private=str(eighths[slot]), public=str(small[slot]), database=str(small[8 + slot]))


@dataclass
class NetworkArgs:
    stack: StackContext  # the region; the name prefix names the flow-log group and its key, kept in production
    config: NetworkConfig


class Network(Component):
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids_by_az: dict[str, pulumi.Output[str]]  # for resources that belong to one AZ each
    database_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:network:Network", name, opts)
        cfg = args.config
        child = self.child()

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=cfg.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # required for private EKS endpoints and interface endpoints
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"},
                                      opts=child)
        # Every VPC comes with a default security group that admits its own members and lets everything
        # out. Taking it over with no rules leaves it empty, so a resource launched without a group gets
        # no traffic (CIS AWS Foundations 5.4, AWS FSBP EC2.2).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id,
                                     tags={"Name": f"{name}-default-unused"}, opts=child)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{name}-public"},
            opts=child,
        )
        database_rt = aws.ec2.RouteTable(
            f"{name}-database", vpc_id=vpc.id, tags={"Name": f"{name}-database"}, opts=child)

        public_subnets, private_subnets, database_subnets = [], [], []
        for az in cfg.availability_zones:
            layout = subnet_layout(cfg.vpc_cidr, az)
            public = aws.ec2.Subnet(
                f"{name}-public-{az}",
                vpc_id=vpc.id,
                availability_zone=az,
                cidr_block=layout.public,
                map_public_ip_on_launch=False,  # only NAT gateways and load balancers live here
                tags={"Name": f"{name}-public-{az}", PUBLIC_ELB_TAG: "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{az}", subnet_id=public.id,
                                          route_table_id=public_rt.id, opts=child)
            private = aws.ec2.Subnet(
                f"{name}-private-{az}",
                vpc_id=vpc.id,
                availability_zone=az,
                cidr_block=layout.private,
                tags={"Name": f"{name}-private-{az}", INTERNAL_ELB_TAG: "1"},
                opts=child,
            )
            database = aws.ec2.Subnet(
                f"{name}-database-{az}",
                vpc_id=vpc.id,
                availability_zone=az,
                cidr_block=layout.database,
                tags={"Name": f"{name}-database-{az}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-database-{az}", subnet_id=database.id,
                                          route_table_id=database_rt.id, opts=child)
            public_subnets.append(public)
            private_subnets.append(private)
            database_subnets.append(database)

        # One NAT gateway per AZ keeps egress up when an AZ fails; dev shares one to save cost.
        nat_azs = cfg.availability_zones if cfg.nat_gateways == "perAz" else cfg.availability_zones[:1]
        nats = []
        for i, az in enumerate(nat_azs):
            eip = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags={"Name": f"{name}-nat-{az}"},
                              opts=self.child(depends_on=[igw]))
            nats.append(aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                allocation_id=eip.id,
                subnet_id=public_subnets[i].id,
                tags={"Name": f"{name}-nat-{az}"},
                opts=child,
            ))

        private_rts = []
        for i, az in enumerate(cfg.availability_zones):
            nat = nats[i] if len(nats) > 1 else nats[0]
            rt = aws.ec2.RouteTable(
                f"{name}-private-{az}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={"Name": f"{name}-private-{az}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{az}", subnet_id=private_subnets[i].id,
                                          route_table_id=rt.id, opts=child)
            private_rts.append(rt)

        # S3 traffic (images layers, pipeline artifacts) stays on the AWS network and skips NAT charges.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.stack.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts] + [database_rt.id],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )

        if cfg.flow_logs:
            self._flow_logs(name, args, vpc)

        self.vpc_id = vpc.id
        self.vpc_cidr = cfg.vpc_cidr
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.private_subnet_ids_by_az = dict(zip(cfg.availability_zones, self.private_subnet_ids, strict=True))
        self.database_subnet_ids = [s.id for s in database_subnets]
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "database_subnet_ids": self.database_subnet_ids,
        })

    def _flow_logs(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc) -> None:
        child = self.child()
        stack = args.stack
        group_name = f"/aws/vpc/{stack.name_prefix}/flow-logs"
        key = customer_key(
            f"{name}-flow-logs", parent=self, description=f"VPC flow logs of {stack.name_prefix}",
            alias=f"alias/{stack.name_prefix}-flow-logs", protect=stack.production,
            usage=account_id(self).apply(
                lambda account: [iam.key_use_by_cloudwatch_logs(stack.region, account, [group_name])]))
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", name=group_name, retention_in_days=args.config.flow_log_retention_days,
            kms_key_id=key.arn, opts=child)
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=iam.to_json(iam.service_trust("vpc-flow-logs.amazonaws.com")),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=iam.to_json(log_group.arn.apply(iam.flow_logs_to_cloudwatch)),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{name}-flow-logs"},
            opts=child,
        )


def nodes_only_security_group(resource_name: str, *, parent: pulumi.Resource, vpc_id: pulumi.Input[str],
                              node_security_group_id: pulumi.Input[str], port: int,
                              description: str) -> aws.ec2.SecurityGroup:
    """A security group admitting the EKS nodes (and so their pods) on one TCP port, and nothing else.

    Data services use it: what reaches them is exactly the workloads on this cluster's nodes.
    """
    group = aws.ec2.SecurityGroup(
        resource_name, vpc_id=vpc_id, description=description, revoke_rules_on_delete=True,
        tags={"Name": resource_name}, opts=pulumi.ResourceOptions(parent=parent))
    aws.vpc.SecurityGroupIngressRule(
        f"{resource_name}-from-nodes", security_group_id=group.id,
        referenced_security_group_id=node_security_group_id, ip_protocol="tcp", from_port=port, to_port=port,
        description=f"port {port} from EKS nodes", opts=pulumi.ResourceOptions(parent=parent))
    return group
