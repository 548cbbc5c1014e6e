"""Network: AZs, subnets, NAT, routes, tags, S3 endpoint and flow logs, per stack."""

import ipaddress
import json

import pytest

from components.config import PROJECT
from components.network import INTERNAL_ELB_TAG, PUBLIC_ELB_TAG, subnet_layout
from tests.fixtures import stack_config

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"


def _azs(stack):
    return stack_config(stack)[f"{PROJECT}:network"]["availabilityZones"]


def _subnets(result, tier):
    return [s for s in result.of_type(SUBNET) if s.name.startswith(f"network-{tier}-")]


@pytest.mark.parametrize("tier", ["public", "private", "database"])
def test_one_subnet_per_az_per_tier(each_stack, tier):
    subnets = _subnets(each_stack, tier)
    assert sorted(s.inputs["availabilityZone"] for s in subnets) == sorted(_azs(each_stack.stack))


def test_subnet_cidrs_follow_the_layout_inside_the_vpc(each_stack):
    vpc = each_stack.one("aws:ec2/vpc:Vpc")
    for tier in ("public", "private", "database"):
        by_az = {s.inputs["availabilityZone"]: s.inputs["cidrBlock"] for s in _subnets(each_stack, tier)}
        assert by_az == {az: getattr(subnet_layout(vpc.inputs["cidrBlock"], az), tier) for az in _azs(each_stack.stack)}


def test_layout_never_overlaps_and_each_az_keeps_its_subnets_whatever_the_others():
    letters = "abcdefg"
    for cidr in ("10.0.0.0/16", "10.8.0.0/19"):
        vpc = ipaddress.ip_network(cidr)
        layouts = [subnet_layout(cidr, f"us-east-1{letter}") for letter in letters]
        nets = [ipaddress.ip_network(getattr(layout, tier)) for layout in layouts
                for tier in ("private", "public", "database")]
        assert all(n.subnet_of(vpc) for n in nets)
        assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
        assert min(ipaddress.ip_network(lay.private).prefixlen for lay in layouts) == vpc.prefixlen + 3
        assert max(ipaddress.ip_network(lay.public).prefixlen for lay in layouts) <= 27  # ALB minimum
    # the same AZ gets the same subnets, in any list, at any position
    assert subnet_layout("10.0.0.0/16", "us-east-1c") == subnet_layout("10.0.0.0/16", "eu-west-1c")


def test_load_balancer_discovery_tags(each_stack):
    for s in _subnets(each_stack, "public"):
        assert s.inputs["tags"][PUBLIC_ELB_TAG] == "1" and INTERNAL_ELB_TAG not in s.inputs["tags"]
        assert s.inputs["mapPublicIpOnLaunch"] is False
    for s in _subnets(each_stack, "private"):
        assert s.inputs["tags"][INTERNAL_ELB_TAG] == "1" and PUBLIC_ELB_TAG not in s.inputs["tags"]
    for s in _subnets(each_stack, "database"):
        assert not {PUBLIC_ELB_TAG, INTERNAL_ELB_TAG} & set(s.inputs["tags"])


def _private_route_targets(result):
    tables = [t for t in result.of_type(ROUTE_TABLE) if t.name.startswith("network-private-")]
    return {t.name.removeprefix("network-private-"): t.inputs["routes"][0]["natGatewayId"]
            for t in tables}


def test_dev_shares_one_nat_gateway(dev):
    nats = dev.of_type(NAT)
    assert len(nats) == 1
    assert set(_private_route_targets(dev).values()) == {dev.ids_of(nats[0])}
    assert len(_private_route_targets(dev)) == len(_azs("dev"))


def test_prod_routes_each_az_through_its_own_nat(prod):
    nats = {n.name.removeprefix("network-nat-"): n for n in prod.of_type(NAT)}
    assert sorted(nats) == sorted(_azs("prod"))
    public_by_az = {s.inputs["availabilityZone"]: prod.ids_of(s) for s in _subnets(prod, "public")}
    for az, nat in nats.items():
        assert nat.inputs["subnetId"] == public_by_az[az]
    assert _private_route_targets(prod) == {az: prod.ids_of(n) for az, n in nats.items()}


def test_database_subnets_have_no_route_out(each_stack):
    table = each_stack.one(ROUTE_TABLE, "network-database")
    assert not table.inputs.get("routes")
    associations = [a for a in each_stack.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
                    if a.inputs["routeTableId"] == each_stack.ids_of(table)]
    assert sorted(a.inputs["subnetId"] for a in associations) == sorted(
        each_stack.ids_of(s) for s in _subnets(each_stack, "database"))


def test_public_route_table_uses_the_internet_gateway(each_stack):
    table = each_stack.one(ROUTE_TABLE, "network-public")
    igw = each_stack.one("aws:ec2/internetGateway:InternetGateway")
    assert table.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": each_stack.ids_of(igw)}]


def test_s3_gateway_endpoint_serves_private_and_database_routes(each_stack):
    endpoint = each_stack.one("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    tables = [t for t in each_stack.of_type(ROUTE_TABLE) if t.name != "network-public"]
    assert sorted(endpoint.inputs["routeTableIds"]) == sorted(each_stack.ids_of(t) for t in tables)


def test_prod_flow_logs_go_to_an_encrypted_retained_log_group_with_a_scoped_role(prod):
    flow = prod.one("aws:ec2/flowLog:FlowLog")
    group = prod.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["vpcId"] == prod.ids_of(prod.one("aws:ec2/vpc:Vpc"))
    assert group.inputs["name"] == "/aws/vpc/mlplatform-prod/flow-logs"
    assert flow.inputs["logDestination"].endswith(":log-group:/aws/vpc/mlplatform-prod/flow-logs")
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"].endswith(":key/network-flow-logs-key")
    key_policy = json.loads(prod.one("aws:kms/key:Key", "network-flow-logs").inputs["policy"])
    assert {s["Sid"] for s in key_policy["Statement"]} == {"AccountAdministersKey", "CloudWatchLogsEncryptsTheseGroups"}
    role = prod.one("aws:iam/role:Role", "network-flow-logs")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    policy = json.loads(prod.one("aws:iam/rolePolicy:RolePolicy", "network-flow-logs").inputs["policy"])
    statement = policy["Statement"][0]
    assert "*" not in statement["Resource"] and all("/flow-logs" in r for r in statement["Resource"])
    assert "logs:CreateLogGroup" not in statement["Action"]


def test_the_default_security_group_is_taken_over_with_no_rules(each_stack):
    default = each_stack.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs["vpcId"] == each_stack.ids_of(each_stack.one("aws:ec2/vpc:Vpc"))
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")
