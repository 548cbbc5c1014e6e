"""Cluster: control plane settings, its role and keys, access entries, security groups, node role, add-ons
and the Kubernetes provider."""

import json

import pytest

from components import addons, kubeflow, mesh
from components.cluster.cluster import CLUSTER_ADMIN_POLICY, Webhook, kubeconfig, security_group_rules
from components.config import PROJECT
from components.iam import EKS_CLUSTER_POLICY, KMS_ADMIN_ACTIONS, NODE_MANAGED_POLICIES, VPC_CNI_POLICY
from offline.engine import ACCOUNT, CLUSTER_CA, DEFAULT_ADDON_VERSIONS
from tests.conftest import PINNED_ADDONS, VPN_CIDR
from tests.fixtures import CLUSTER_ENDPOINT, stack_config

EKS = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"
KEY = "aws:kms/key:Key"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def _cluster_cfg(stack):
    return stack_config(stack)[f"{PROJECT}:cluster"]


def _key_statements(result, name):
    return {s["Sid"]: s for s in json.loads(result.one(KEY, name).inputs["policy"])["Statement"]}


def test_control_plane_settings(each_stack):
    cfg = _cluster_cfg(each_stack.stack)
    eks = each_stack.one(EKS).inputs
    assert eks["name"] == f"mlplatform-{each_stack.stack}"
    assert eks["version"] == cfg["kubernetesVersion"]
    assert eks["upgradePolicy"] == {"supportType": "STANDARD"}
    assert eks["bootstrapSelfManagedAddons"] is False
    # the control plane's network interfaces live in the private subnets only, behind our group
    assert sorted(eks["vpcConfig"]["subnetIds"]) == each_stack.subnet_ids("private")
    assert eks["vpcConfig"]["securityGroupIds"] == [each_stack.ids_of(_sgs(each_stack)[0])]


def test_cluster_role_is_ours_and_ready_before_the_cluster(each_stack):
    role = each_stack.one(ROLE, "cluster-control-plane")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [{
        "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]}]
    attachment = each_stack.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "cluster-control-plane")
    assert attachment.inputs == {"role": role.name, "policyArn": EKS_CLUSTER_POLICY}
    eks = each_stack.one(EKS)
    assert eks.inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{role.name}"
    assert attachment.urn in eks.dependencies


def test_endpoint_private_and_public_only_from_configured_cidrs(each_stack):
    vpc = each_stack.one(EKS).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == _cluster_cfg(each_stack.stack)["publicAccessCidrs"]
    assert "0.0.0.0/0" not in vpc["publicAccessCidrs"]


def test_empty_cidr_list_means_private_only_endpoint(dev_variant):
    vpc = dev_variant.one(EKS).inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and vpc["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in vpc  # EKS would otherwise default to 0.0.0.0/0


def test_routed_networks_reach_the_private_endpoint_on_443_only(dev_variant, each_stack):
    """cluster.privateAccessCidrs (a VPN, or where the deployment agents run): HTTPS to the control plane's
    group, and nothing to the nodes."""
    cluster_sg = dev_variant.ids_of(_sgs(dev_variant)[0])
    [rule] = [r.inputs for r in dev_variant.of_type(INGRESS) if "cidrIpv4" in r.inputs]
    assert (rule["securityGroupId"], rule["cidrIpv4"], rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == \
        (cluster_sg, VPN_CIDR, "tcp", 443, 443)
    assert not [r for r in each_stack.of_type(INGRESS) if "cidrIpv4" in r.inputs]


def test_control_plane_logs_into_an_encrypted_retained_group(each_stack):
    eks = each_stack.one(EKS)
    assert {"api", "audit", "authenticator"} <= set(eks.inputs["enabledClusterLogTypes"])
    group = each_stack.one("aws:cloudwatch/logGroup:LogGroup", "cluster-control-plane")
    assert group.inputs["name"] == f"/aws/eks/{eks.inputs['name']}/cluster"
    assert group.inputs["retentionInDays"] == _cluster_cfg(each_stack.stack)["logRetentionDays"]
    assert group.inputs["kmsKeyId"].endswith("key/cluster-logs-key")
    assert group.urn in eks.dependencies  # exists before EKS would create a never-expiring, unencrypted one
    statements = _key_statements(each_stack, "cluster-logs")
    logs = statements["CloudWatchLogsEncryptsTheseGroups"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    # this group, and the containers' (Container Insights writes under /aws/containerinsights/<cluster>/)
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group.inputs['name']}",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/containerinsights/{eks.inputs['name']}/*"]}}
    # and the alarms' notifications (components/observability/alarms.py)
    assert statements["CloudWatchAlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(statements) == {"AccountAdministersKey", "CloudWatchLogsEncryptsTheseGroups", "CloudWatchAlarmsPublish"}


def test_secrets_key_is_used_by_the_cluster_role_only(each_stack):
    key = each_stack.one(KEY, "cluster-secrets")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    [config] = [each_stack.one(EKS).inputs["encryptionConfig"]]
    assert config == {"provider": {"keyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/cluster-secrets-key"},
                      "resources": ["secrets"]}
    statements = _key_statements(each_stack, "cluster-secrets")
    assert set(statements) == {"AccountAdministersKey", "ClusterRoleUsesKey", "ClusterCreatorGrantsEks"}
    assert statements["ClusterRoleUsesKey"]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:role/cluster-control-plane"}
    assert statements["ClusterCreatorGrantsEks"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "eks.us-east-1.amazonaws.com"
    admin = statements["AccountAdministersKey"]
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"} and admin["Action"] == KMS_ADMIN_ACTIONS
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:*"} & set(admin["Action"])  # administering is not using


def test_access_entries_come_only_from_config(each_stack):
    cfg = _cluster_cfg(each_stack.stack)
    principals = [*cfg["adminRoleArns"], cfg["deployRoleArn"]]
    eks = each_stack.one(EKS).inputs
    # no automatic entry for whoever runs `pulumi up`: it could collide with a configured one (409)
    assert eks["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    entries = each_stack.of_type(ACCESS_ENTRY)
    assert sorted(e.inputs["principalArn"] for e in entries) == sorted(principals)
    for entry in entries:
        assert entry.name == f"cluster-access-{entry.inputs['principalArn'].rsplit('/', 1)[1]}"
        assert entry.inputs["type"] == "STANDARD"
    associations = each_stack.of_type(ACCESS_POLICY)
    assert sorted(a.inputs["principalArn"] for a in associations) == sorted(principals)
    for association in associations:
        assert association.inputs["policyArn"] == CLUSTER_ADMIN_POLICY
        assert association.inputs["accessScope"] == {"type": "cluster"}


def test_kubernetes_resources_wait_for_the_deployers_access(each_stack):
    """Directly, or through what they wait for: the deploy role cannot create anything in the cluster before its
    access entry exists."""
    deployer = next(a.urn for a in each_stack.of_type(ACCESS_POLICY) if "mlplatform-deploy" in a.inputs["principalArn"])
    for resource in each_stack.resources:
        if not resource.component and resource.type.startswith("kubernetes:"):
            assert deployer in each_stack.all_dependencies(resource), resource.name


def _sgs(result):
    return (result.one("aws:ec2/securityGroup:SecurityGroup", "cluster-cluster"),
            result.one("aws:ec2/securityGroup:SecurityGroup", "cluster-node"))


RULES = security_group_rules([*addons.WEBHOOKS, *mesh.WEBHOOKS, *kubeflow.WEBHOOKS])  # as __main__.py builds them


def test_security_group_rules_are_exactly_the_table(each_stack):
    groups = dict(zip(("cluster", "node"), (each_stack.ids_of(g) for g in _sgs(each_stack)), strict=True))
    registered = {(r.inputs["securityGroupId"], r.inputs.get("referencedSecurityGroupId"), r.inputs["ipProtocol"],
                   r.inputs.get("fromPort"), r.inputs.get("toPort"))
                  for r in each_stack.of_type(INGRESS) if r.inputs["securityGroupId"] in groups.values()}
    expected = {(groups[r.target], groups[r.source], r.protocol,
                 None if r.protocol == "-1" else r.from_port, None if r.protocol == "-1" else r.to_port)
                for r in RULES}
    assert registered == expected
    for rule in RULES:
        resource = each_stack.one(INGRESS, f"cluster-{rule.key}")
        assert resource.inputs["description"] == rule.needed_by


def test_the_control_plane_reaches_the_nodes_only_where_something_listens():
    """The kubelet and the webhooks the components declare, at the pods' own ports (read at each pin): 4443
    PodDefaults; 8443 KFP cache server, Katib, Knative; 9443 load balancer controller, PVC viewer, Trainer, JobSet,
    KServe; 10250 kubelet, cert-manager, external-secrets; 10251 metrics-server (the EKS add-on); 15017 istiod.
    Nothing listens on 443 or 6443."""
    by_port = {r.from_port: r for r in RULES if r.source == "cluster" and r.target == "node"}
    assert sorted(by_port) == [4443, 8443, 9443, 10250, 10251, 15017]
    assert by_port[10251].needed_by.startswith("metrics-server")
    assert by_port[10250].key == "kubelet-from-control-plane" and by_port[10250].needed_by == (
        "kubelet (logs, exec, metrics); cert-manager webhook; external-secrets webhook")
    assert by_port[9443].needed_by.count(";") == 3  # four components' webhooks, one rule
    between_nodes = next(r for r in RULES if r.key == "all-between-nodes")
    assert (between_nodes.source, between_nodes.target, between_nodes.protocol) == ("node", "node", "-1")
    assert [(r.target, r.source, r.from_port) for r in RULES if r.target == "cluster"] == [("cluster", "node", 443)]


def test_one_rule_per_port_whoever_declares_it():
    rules = security_group_rules([Webhook(8443, "a"), Webhook(8443, "b"), Webhook(8443, "a"), Webhook(7000, "c")])
    assert [(r.key, r.from_port, r.needed_by) for r in rules if r.source == "cluster"] == [
        ("webhooks-7000-from-control-plane", 7000, "c"), ("webhooks-8443-from-control-plane", 8443, "a; b"),
        ("kubelet-from-control-plane", 10250, "kubelet (logs, exec, metrics)")]


def test_renamed_rules_keep_their_old_names_as_aliases(each_stack):
    for rule in RULES:
        resource = each_stack.one(INGRESS, f"cluster-{rule.key}")
        assert resource.alias_names == [f"cluster-{former}" for former in rule.renamed_from], rule.key
    assert each_stack.one(INGRESS, "cluster-webhooks-15017-from-control-plane").alias_names == [
        "cluster-node-from-cluster-15017", "cluster-istiod-webhook-from-control-plane"]


def test_node_ingress_has_no_cidr_sources(each_stack):
    for rule in each_stack.of_type(INGRESS):
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs, rule.name


def test_only_nodes_have_egress_rules(each_stack):
    _, node_sg = _sgs(each_stack)
    egress = each_stack.of_type(EGRESS)
    assert [r.inputs["securityGroupId"] for r in egress] == [each_stack.ids_of(node_sg)]


def test_node_role_is_for_ec2_with_node_policies_but_not_the_cni_policy(each_stack):
    role = each_stack.one(ROLE, "cluster-node")
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
    config = stack_config(each_stack.stack)[f"{PROJECT}:addons"]
    optional = {"aws-efs-csi-driver": config["efs"], "aws-fsx-csi-driver": config.get("fsx", {}).get("enabled", False)}
    assert {name: a.inputs["addonVersion"] for name, a in addons.items()} == {
        name: version for name, version in DEFAULT_ADDON_VERSIONS.items() if optional.get(name, True)}
    for addon in addons.values():
        assert addon.inputs["clusterName"] == f"mlplatform-{each_stack.stack}"


def test_pinned_addon_version_wins(dev_variant):
    assert _addons(dev_variant)["coredns"].inputs["addonVersion"] == PINNED_ADDONS["coredns"]
    assert _addons(dev_variant)["vpc-cni"].inputs["addonVersion"] == DEFAULT_ADDON_VERSIONS["vpc-cni"]


def test_vpc_cni_gets_its_role_through_pod_identity(each_stack):
    cni = _addons(each_stack)["vpc-cni"]
    [association] = cni.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "aws-node"
    role = each_stack.one(ROLE, association["roleArn"].rsplit("/", 1)[1])
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
def test_prod_protects_the_cluster_and_its_keys(stack, protected, dev, prod):
    result = {"dev": dev, "prod": prod}[stack]
    eks = result.one(EKS)
    assert eks.inputs["deletionProtection"] is protected and eks.protect is protected
    assert result.one(KEY, "cluster-secrets").protect is protected
    assert result.one(KEY, "cluster-logs").protect is protected
