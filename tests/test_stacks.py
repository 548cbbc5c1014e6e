"""Whole-stack properties: dev and prod differ as intended; conventions hold everywhere."""

import json
import re

from components.config import PROJECT
from offline.engine import ROOT
from tests.fixtures import evaluate, stack_config


def test_dev_is_cost_lean_and_prod_highly_available(dev, prod):
    facts = {}
    for result in (dev, prod):
        facts[result.stack] = {
            "azs": len({s.inputs["availabilityZone"] for s in result.of_type("aws:ec2/subnet:Subnet")}),
            "nats": len(result.of_type("aws:ec2/natGateway:NatGateway")),
            "flow_logs": len(result.of_type("aws:ec2/flowLog:FlowLog")),
            "deletion_protection": result.one("aws:eks/cluster:Cluster").inputs["deletionProtection"],
        }
    assert facts["dev"] == {"azs": 2, "nats": 1, "flow_logs": 0, "deletion_protection": False}
    assert facts["prod"] == {"azs": 3, "nats": 3, "flow_logs": 1, "deletion_protection": True}


def test_every_aws_resource_uses_the_tagged_provider(each_stack):
    provider = each_stack.one("pulumi:providers:aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags == {
        **stack_config(each_stack.stack)[f"{PROJECT}:tags"],
        "project": PROJECT,
        "environment": stack_config(each_stack.stack)[f"{PROJECT}:environment"],
        "production": {"dev": "false", "prod": "true"}[each_stack.stack],
        "pulumi-stack": each_stack.stack,
        "managed-by": "pulumi",
    }
    provider_ref = f"{provider.urn}::{provider.name}-id"
    aws_resources = [r for r in each_stack.resources if r.custom and r.type.startswith("aws:")]
    assert aws_resources
    assert {r.provider for r in aws_resources} == {provider_ref}


def test_components_follow_naming_and_parenting_conventions(each_stack):
    components = [r for r in each_stack.resources if r.component]
    assert components
    for component in components:
        assert re.fullmatch(r"mlplatform:[a-z_]+:[A-Z][A-Za-z]+", component.type), component.type
    top_level = {r.type for r in each_stack.resources if r.top_level}
    # everything hangs under a component except the providers __main__ creates
    assert top_level == {
        "pulumi:providers:aws", "mlplatform:network:Network", "mlplatform:cluster:Cluster",
        "mlplatform:storage:Storage", "mlplatform:load_balancer_controller:LoadBalancerController",
        "mlplatform:cluster_autoscaler:ClusterAutoscaler", "mlplatform:nvidia_device_plugin:NvidiaDevicePlugin",
        "mlplatform:external_dns:ExternalDns", "mlplatform:cert_manager:CertManager",
        "mlplatform:external_secrets:ExternalSecrets", "mlplatform:artifact_store:ArtifactStore",
        "mlplatform:database:Database", "mlplatform:session_cache:SessionCache", "mlplatform:istio:Istio",
        "mlplatform:front_door:FrontDoor", "mlplatform:auth:Auth", "mlplatform:platform:Platform",
        "mlplatform:pipelines:Pipelines", "mlplatform:notebooks:Notebooks", "mlplatform:katib:Katib",
        "mlplatform:trainer:Trainer", "mlplatform:team:Team", "mlplatform:metrics_server:MetricsServer",
        "mlplatform:alarms:Alarms", "mlplatform:container_insights:ContainerInsights",
        "mlplatform:dashboard:Dashboard", "mlplatform:reloader:Reloader", "mlplatform:package_index:PackageIndex"} | (
        {"mlplatform:kserve:KServe", "mlplatform:mlflow:Mlflow"} if each_stack.stack == "prod" else set())


def test_exports_point_at_what_the_stack_created(each_stack):
    exports = each_stack.exports
    assert exports["cluster_name"] == f"mlplatform-{each_stack.stack}"
    assert exports["vpc_id"] == each_stack.ids_of(each_stack.one("aws:ec2/vpc:Vpc"))
    assert exports["node_security_group_id"] == "cluster-node-id"
    assert len(exports["private_subnet_ids"]) == len(
        stack_config(each_stack.stack)[f"{PROJECT}:network"]["availabilityZones"])
    assert '"server": "https://' in exports["kubeconfig"]


def test_credentials_are_exported_as_secrets(each_stack):
    assert each_stack.secret_exports == {"kubeconfig", "kubeflow_admin"}


def test_removing_the_first_item_of_a_list_renames_nothing_else(dev):
    """Names come from stable keys (AZ, role name, group name, policy name), never list positions: dev is this
    longer config with the first AZ, admin and node group removed, and keeps every name it had."""
    def extra_first_items(c):
        c[f"{PROJECT}:network"]["availabilityZones"].insert(0, "us-east-1c")
        c[f"{PROJECT}:cluster"]["adminRoleArns"].insert(0, "arn:aws:iam::111122223333:role/first")
        c[f"{PROJECT}:nodeGroups"].insert(0, {"name": "first", "instanceTypes": ["m6i.large"], "minSize": 0,
                                              "desiredSize": 0, "maxSize": 1})

    longer = {(r.type, r.name): r for r in evaluate("dev", extra_first_items).resources}
    assert len(longer) > len(dev.resources)
    for resource in dev.resources:
        if resource.name.startswith("network-nat-"):
            continue  # the one shared NAT gateway lives in the first AZ, by design
        assert (resource.type, resource.name) in longer, f"{resource.type} {resource.name} was renamed"
        if resource.type == "aws:ec2/subnet:Subnet":  # and subnets keep their ranges, so none is replaced
            assert longer[resource.type, resource.name].inputs["cidrBlock"] == resource.inputs["cidrBlock"]


def test_default_providers_are_off_so_a_forgotten_provider_fails(each_stack):
    assert stack_config(each_stack.stack)["pulumi:disable-default-providers"] == ["aws", "kubernetes"]
    # every AWS and Kubernetes resource of both stacks names its provider (the evaluation would fail otherwise)
    assert all(r.provider for r in each_stack.resources if r.custom and r.type.split(":")[0] in ("aws", "kubernetes"))
    forgotten = evaluate("dev", program=ROOT / "tests" / "programs" / "forgets_provider")
    assert "Default provider for 'aws' disabled. 'aws:s3/bucket:Bucket' must use an explicit provider" in str(
        forgotten.error)


def test_resources_renamed_to_stable_keys_keep_their_old_names_as_aliases(each_stack):
    """So stacks deployed before the rename adopt them instead of replacing them (EFS where the stack has it)."""
    azs = stack_config(each_stack.stack)[f"{PROJECT}:network"]["availabilityZones"]
    efs = stack_config(each_stack.stack)[f"{PROJECT}:addons"]["efs"]
    for index, az in enumerate(azs if efs else []):
        assert each_stack.one("aws:efs/mountTarget:MountTarget", f"storage-efs-{az}").alias_names == [
            f"storage-efs-{index}"]
    for role, policy in (("cluster-vpc-cni", "AmazonEKS_CNI_Policy"), ("storage-ebs-csi", "AmazonEBSCSIDriverPolicy"),
                         *((("storage-efs-csi", "AmazonEFSCSIDriverPolicy"),) if efs else ())):
        attachment = each_stack.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"{role}-{policy}")
        assert attachment.alias_names == [f"{role}-managed-0"]
