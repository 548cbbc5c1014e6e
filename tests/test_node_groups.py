"""Node groups: shapes from config, GPU taints and labels, launch templates, autoscaler tags."""

import pytest

from components.cluster.node_group import autoscaler_template_tags
from components.config import PROJECT, ConfigError, NodeGroupConfig
from tests.fixtures import evaluate, stack_config

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ASG_TAG = "aws:autoscaling/tag:Tag"
TEMPLATE = "k8s.io/cluster-autoscaler/node-template"


def _groups(result):
    configured = {g["name"]: g for g in stack_config(result.stack)[f"{PROJECT}:nodeGroups"]}
    registered = {g.name.removeprefix("cluster-").removesuffix("-ng"): g for g in result.of_type(NODE_GROUP)}
    assert sorted(configured) == sorted(registered)
    return [(configured[name], registered[name]) for name in configured]


def test_shapes_follow_config(each_stack):
    for cfg, group in _groups(each_stack):
        inputs = group.inputs
        assert inputs["instanceTypes"] == cfg["instanceTypes"]
        assert inputs["capacityType"] == cfg.get("capacityType", "ON_DEMAND")
        assert inputs["scalingConfig"] == {
            "minSize": cfg["minSize"], "desiredSize": cfg["desiredSize"], "maxSize": cfg["maxSize"]}
        assert inputs["amiType"] == ("AL2023_x86_64_NVIDIA" if cfg.get("gpu") else "AL2023_x86_64_STANDARD")
        assert inputs["version"] == "1.35"
        assert inputs["clusterName"] == f"mlplatform-{each_stack.stack}"
        assert inputs["nodeRoleArn"].endswith(":role/cluster-node")


def test_nodes_run_in_private_subnets_gpu_groups_in_the_first_az(each_stack):
    private = each_stack.subnet_ids("private")
    first_az = stack_config(each_stack.stack)[f"{PROJECT}:network"]["availabilityZones"][0]
    for cfg, group in _groups(each_stack):
        if cfg.get("gpu"):  # a stopped notebook's EBS workspace comes back only in the AZ it was made in
            assert group.inputs["subnetIds"] == [f"network-private-{first_az}-id"]
        else:
            assert sorted(group.inputs["subnetIds"]) == private


def test_a_group_runs_in_the_zone_it_names_which_must_be_the_networks():
    def zone(az):
        return lambda c: c[f"{PROJECT}:nodeGroups"][1].update(zone=az)

    result = evaluate("dev", zone("us-east-1c"))
    assert isinstance(result.error, ConfigError) and result.resources == []
    assert "nodeGroups[gpu-xlarge].zone: us-east-1c is not one of network.availabilityZones (us-east-1a, " \
           "us-east-1b)" in str(result.error)


def test_gpu_groups_are_tainted_and_labelled_cpu_groups_are_not(each_stack):
    for cfg, group in _groups(each_stack):
        labels = group.inputs["labels"]
        assert labels["mlplatform.io/node-group"] == cfg["name"]
        if cfg.get("gpu"):
            assert group.inputs["taints"] == [
                {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
            assert labels["nvidia.com/gpu.present"] == "true"
            assert labels["k8s.amazonaws.com/accelerator"] == "nvidia-l4"  # g6 family
        else:
            assert not group.inputs.get("taints")
            assert "nvidia.com/gpu.present" not in labels


def test_dev_gpus_scale_to_zero(dev):
    for cfg, group in _groups(dev):
        if cfg.get("gpu"):
            assert group.inputs["scalingConfig"]["minSize"] == 0


def test_autoscaler_owns_desired_size(each_stack):
    for _, group in _groups(each_stack):
        assert group.ignore_changes == ["scalingConfig.desiredSize"]


def test_node_groups_wait_for_node_role_policies(each_stack):
    attachments = [a.urn for a in each_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.inputs["role"] == "cluster-node"]
    assert len(attachments) == 3
    for _, group in _groups(each_stack):
        assert set(attachments) <= set(group.dependencies)


def test_launch_templates_require_imdsv2_and_encrypt_gp3_root(each_stack):
    node_sg_id = each_stack.ids_of(each_stack.one("aws:ec2/securityGroup:SecurityGroup", "cluster-node"))
    for cfg, group in _groups(each_stack):
        template = each_stack.one(LAUNCH_TEMPLATE, f"cluster-{cfg['name']}-lt")
        assert group.inputs["launchTemplate"] == {"id": each_stack.ids_of(template), "version": "1"}
        assert template.inputs["metadataOptions"] == {
            "httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
        device = template.inputs["blockDeviceMappings"][0]
        assert device["deviceName"] == "/dev/xvda"
        assert device["ebs"] == {"volumeSize": cfg["diskSizeGiB"], "volumeType": "gp3",
                                 "encrypted": "true", "deleteOnTermination": "true", **_performance(cfg)}
        assert template.inputs["vpcSecurityGroupIds"] == [node_sg_id]


def _performance(cfg):
    """gp3's baseline for CPU groups; its most for a GPU group that pulls CUDA images, 300 MiB/s for one that reads
    them from an image cache."""
    if not cfg.get("gpu"):
        return {}  # the baseline, left unsaid
    return {"iops": 3000, "throughput": 300} if cfg.get("imageCacheSnapshotId") else {"iops": 16000, "throughput": 1000}


def _asg_tags(result, group_name):
    asg = f"eks-cluster-{group_name}-ng-asg"  # the mocks' name for the group's Auto Scaling group
    tags = [t.inputs for t in result.of_type(ASG_TAG) if t.inputs["autoscalingGroupName"] == asg]
    assert all(t["tag"]["propagateAtLaunch"] is False for t in tags)
    return {t["tag"]["key"]: t["tag"]["value"] for t in tags}


def test_autoscaler_node_template_tags_are_on_each_asg(each_stack):
    for cfg, group in _groups(each_stack):
        tags = _asg_tags(each_stack, cfg["name"])
        for key, value in group.inputs["labels"].items():
            assert tags[f"{TEMPLATE}/label/{key}"] == value
        assert tags[f"{TEMPLATE}/resources/ephemeral-storage"] == f"{cfg['diskSizeGiB']}Gi"
        if cfg.get("gpu"):
            assert tags[f"{TEMPLATE}/taint/nvidia.com/gpu"] == "true:NoSchedule"
            assert tags[f"{TEMPLATE}/resources/nvidia.com/gpu"] == "1"  # one L4 on the smallest g6
        else:
            assert not any("/taint/" in k or "nvidia.com/gpu" in k for k in tags)


def test_gpu_count_and_accelerator_follow_instance_type(prod_variant):
    # the variant runs prod's GPU group on p4d/p4de.24xlarge: 8 A100s per node
    tags = _asg_tags(prod_variant, "gpu")
    assert tags[f"{TEMPLATE}/resources/nvidia.com/gpu"] == "8"
    assert tags[f"{TEMPLATE}/label/k8s.amazonaws.com/accelerator"] == "nvidia-a100"


@pytest.mark.parametrize("instance_type,gpus,accelerator", [
    ("g5.12xlarge", "4", "nvidia-a10g"), ("g6e.xlarge", "1", "nvidia-l40s"), ("p5.48xlarge", "8", "nvidia-h100")])
def test_scale_from_zero_hints_come_from_the_catalogue(instance_type, gpus, accelerator):
    group = NodeGroupConfig.model_validate({"name": "gpu", "instanceTypes": [instance_type], "minSize": 0,
                                            "desiredSize": 0, "maxSize": 1, "gpu": True})
    tags = autoscaler_template_tags(group)
    assert tags[f"{TEMPLATE}/resources/nvidia.com/gpu"] == gpus
    assert tags[f"{TEMPLATE}/label/k8s.amazonaws.com/accelerator"] == accelerator
