"""Whole-stack properties: dev and prod differ as intended; conventions hold everywhere."""

import json
import re

from components.config import PROJECT
from tests.harness import stack_config


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
        "pulumi-stack": each_stack.stack,
        "managed-by": "pulumi",
    }
    provider_ref = f"{provider.urn}::{provider.name}-id"
    aws_resources = [r for r in each_stack.resources if r.custom and r.type.startswith("aws:")]
    assert aws_resources
    assert {r.provider for r in aws_resources} == {provider_ref}


def test_components_follow_naming_and_parenting_conventions(each_stack):
    components = [r for r in each_stack.resources if not r.custom and not r.type.startswith("eks:")]
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
        "mlplatform:database:Database", "mlplatform:session_cache:SessionCache"}


def test_exports_point_at_what_the_stack_created(each_stack):
    exports = each_stack.exports
    assert exports["cluster_name"] == f"mlplatform-{each_stack.stack}"
    assert exports["vpc_id"] == each_stack.ids_of(each_stack.one("aws:ec2/vpc:Vpc"))
    assert exports["node_security_group_id"] == "cluster-node-id"
    assert len(exports["private_subnet_ids"]) == len(
        stack_config(each_stack.stack)[f"{PROJECT}:network"]["availabilityZones"])
    assert '"server": "https://' in exports["kubeconfig"]


def test_kubeconfig_is_exported_as_a_secret(each_stack):
    assert each_stack.secret_exports == {"kubeconfig"}
