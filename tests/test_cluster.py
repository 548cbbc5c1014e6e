"""Cluster: control plane settings, security groups, node role, add-ons and the Kubernetes provider."""

import json

import pytest

from components.cluster import CLUSTER_ADMIN_POLICY, CONTROL_PLANE_TO_NODE_PORTS, kubeconfig
from components.config import PROJECT
from components.iam import NODE_MANAGED_POLICIES, VPC_CNI_POLICY
from tests.harness import CLUSTER_CA, CLUSTER_ENDPOINT, DEFAULT_ADDON_VERSIONS, evaluate, stack_config

EKS = "eks:index:Cluster"
ADDON = "aws:eks/addon:Addon"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def _cluster_cfg(stack):
    return stack_config(stack)[f"{PROJECT}:cluster"]


def test_control_plane_settings(each_stack):
    cfg = _cluster_cfg(each_stack.stack)
    eks = each_stack.one(EKS).inputs
    assert eks["name"] == f"mlplatform-{each_stack.stack}"
    assert eks["version"] == cfg["kubernetesVersion"]
    assert eks["authenticationMode"] == "API"
    assert eks["skipDefaultNodeGroup"] is True
    assert eks["upgradePolicy"] == {"supportType": "STANDARD"}
    assert eks["createOidcProvider"] is False
    assert eks["bootstrapSelfManagedAddons"] is False
    # the control plane's network interfaces live in the private subnets only
    assert sorted(eks["privateSubnetIds"]) == each_stack.subnet_ids("private")
    assert "publicSubnetIds" not in eks


def test_endpoint_private_and_public_only_from_configured_cidrs(each_stack):
    eks = each_stack.one(EKS).inputs
    assert eks["endpointPrivateAccess"] is True
    assert eks["endpointPublicAccess"] is True
    assert eks["publicAccessCidrs"] == _cluster_cfg(each_stack.stack)["publicAccessCidrs"]
    assert "0.0.0.0/0" not in eks["publicAccessCidrs"]


def test_empty_cidr_list_means_private_only_endpoint():
    result = evaluate("prod", lambda c: c[f"{PROJECT}:cluster"].__setitem__("publicAccessCidrs", []))
    eks = result.one(EKS).inputs
    assert eks["endpointPublicAccess"] is False and eks["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in eks  # pulumi-eks would otherwise default to 0.0.0.0/0


def test_control_plane_logs_into_a_retained_group(each_stack):
    eks = each_stack.one(EKS)
    assert {"api", "audit", "authenticator"} <= set(eks.inputs["enabledClusterLogTypes"])
    group = each_stack.one("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane")
    assert group.inputs["name"] == f"/aws/eks/{eks.inputs['name']}/cluster"
    assert group.inputs["retentionInDays"] == _cluster_cfg(each_stack.stack)["logRetentionDays"]
    assert group.urn in eks.dependencies  # exists before EKS would create a never-expiring one


def test_secrets_encrypted_with_a_rotating_customer_key(each_stack):
    key = each_stack.one("aws:kms/key:Key", "cluster-secrets")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert each_stack.one(EKS).inputs["encryptionConfigKeyArn"].endswith(f"key/{key.name}-key")


def test_admin_access_entries(each_stack):
    entries = each_stack.one(EKS).inputs["accessEntries"]
    admins = _cluster_cfg(each_stack.stack)["adminRoleArns"]
    assert sorted(e["principalArn"] for e in entries.values()) == sorted(admins)
    for entry in entries.values():
        assert entry["type"] == "STANDARD"
        assert entry["accessPolicies"] == {"cluster-admin": {
            "policyArn": CLUSTER_ADMIN_POLICY, "accessScope": {"type": "cluster"}}}


def _sgs(result):
    return (result.one("aws:ec2/securityGroup:SecurityGroup", "cluster-cluster"),
            result.one("aws:ec2/securityGroup:SecurityGroup", "cluster-node"))


def test_cluster_uses_our_security_group_and_no_pulumi_eks_defaults(each_stack):
    cluster_sg, _ = _sgs(each_stack)
    eks = each_stack.one(EKS).inputs
    assert eks["clusterSecurityGroup"] == cluster_sg.urn
    assert eks["skipDefaultSecurityGroups"] is True


def test_api_server_admits_only_the_nodes(each_stack):
    cluster_sg, node_sg = _sgs(each_stack)
    rules = [r.inputs for r in each_stack.of_type(INGRESS)
             if r.inputs["securityGroupId"] == each_stack.ids_of(cluster_sg)]
    assert rules == [{**rules[0], "referencedSecurityGroupId": each_stack.ids_of(node_sg),
                      "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}]


def test_nodes_admit_the_control_plane_on_kubelet_and_webhook_ports_only(each_stack):
    cluster_sg, node_sg = _sgs(each_stack)
    from_cluster = [r.inputs for r in each_stack.of_type(INGRESS)
                    if r.inputs["securityGroupId"] == each_stack.ids_of(node_sg)
                    and r.inputs.get("referencedSecurityGroupId") == each_stack.ids_of(cluster_sg)]
    assert sorted((r["fromPort"], r["toPort"]) for r in from_cluster) == sorted(
        (p, p) for p in CONTROL_PLANE_TO_NODE_PORTS)
    assert {10250, 443, 9443, 15017} <= set(CONTROL_PLANE_TO_NODE_PORTS)


def test_node_ingress_has_no_cidr_sources(each_stack):
    _, node_sg = _sgs(each_stack)
    peers = set()
    for rule in each_stack.of_type(INGRESS):
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs, rule.name
        if rule.inputs["securityGroupId"] == each_stack.ids_of(node_sg):
            peers.add(rule.inputs["referencedSecurityGroupId"])
    assert peers == {each_stack.ids_of(sg) for sg in _sgs(each_stack)}


def test_only_nodes_have_egress_rules(each_stack):
    _, node_sg = _sgs(each_stack)
    egress = each_stack.of_type(EGRESS)
    assert [r.inputs["securityGroupId"] for r in egress] == [each_stack.ids_of(node_sg)]


def test_node_role_is_for_ec2_with_node_policies_but_not_the_cni_policy(each_stack):
    role = each_stack.one("aws:iam/role:Role", "cluster-node")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = {a.inputs["policyArn"] for a in each_stack.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == role.name}
    assert attached == set(NODE_MANAGED_POLICIES.values())
    assert VPC_CNI_POLICY not in attached


def _addons(result):
    return {a.inputs["addonName"]: a for a in result.of_type(ADDON)}


def test_core_addons_take_aws_default_versions_unless_pinned(each_stack):
    addons = _addons(each_stack)
    assert {name: a.inputs["addonVersion"] for name, a in addons.items()} == DEFAULT_ADDON_VERSIONS
    for addon in addons.values():
        assert addon.inputs["clusterName"] == f"mlplatform-{each_stack.stack}"


def test_pinned_addon_version_wins():
    result = evaluate("dev", lambda c: c[f"{PROJECT}:cluster"].__setitem__(
        "addonVersions", {"coredns": "v1.12.9-eksbuild.7"}))
    assert _addons(result)["coredns"].inputs["addonVersion"] == "v1.12.9-eksbuild.7"
    assert _addons(result)["vpc-cni"].inputs["addonVersion"] == DEFAULT_ADDON_VERSIONS["vpc-cni"]


def test_vpc_cni_gets_its_role_through_pod_identity(each_stack):
    cni = _addons(each_stack)["vpc-cni"]
    [association] = cni.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "aws-node"
    role = each_stack.one("aws:iam/role:Role", association["roleArn"].rsplit("/", 1)[1])
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                      "Action": ["sts:AssumeRole", "sts:TagSession"]}]
    attached = [a.inputs["policyArn"] for a in each_stack.of_type(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == role.name]
    assert attached == [VPC_CNI_POLICY]
    # the add-on owns the association: a standalone one would collide with it
    assert not [a for a in each_stack.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                if a.inputs["serviceAccount"] == "aws-node"]
    agent = _addons(each_stack)["eks-pod-identity-agent"]
    assert agent.urn in cni.dependencies


def test_networking_addons_come_before_nodes_and_coredns_after(each_stack):
    addons = _addons(each_stack)
    node_groups = each_stack.of_type("aws:eks/nodeGroup:NodeGroup")
    for group in node_groups:
        for name in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
            assert addons[name].urn in group.dependencies, (group.name, name)
            assert group.urn not in addons[name].dependencies
    assert {g.urn for g in node_groups} <= set(addons["coredns"].dependencies)


def test_kubernetes_provider_config_depends_only_on_cluster_identity(each_stack):
    provider = each_stack.one("pulumi:providers:kubernetes")
    expected = kubeconfig(f"mlplatform-{each_stack.stack}", CLUSTER_ENDPOINT, CLUSTER_CA, "us-east-1")
    assert json.loads(provider.inputs["kubeconfig"]) == expected
    user = expected["users"][0]["user"]["exec"]
    assert user["command"] == "aws" and "--cluster-name" in user["args"]


@pytest.mark.parametrize("stack,protected", [("dev", False), ("prod", True)])
def test_prod_protects_the_cluster_and_its_key(stack, protected, dev, prod):
    result = {"dev": dev, "prod": prod}[stack]
    assert result.one(EKS).inputs["deletionProtection"] is protected
    assert result.one("aws:kms/key:Key", "cluster-secrets").protect is protected
