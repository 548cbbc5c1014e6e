"""NodeGroup: one EKS managed node group with its launch template and autoscaler hints."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.component import Component
from components.config import NodeGroupConfig

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "true"
GPU_TAINT_EFFECT = "NO_SCHEDULE"  # the EKS API spelling of NoSchedule
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
ACCELERATOR_LABEL = "k8s.amazonaws.com/accelerator"
NODE_GROUP_LABEL = "mlplatform.io/node-group"
# The root device of the AL2023 EKS AMIs.
ROOT_DEVICE = "/dev/xvda"
# Where the image cache's snapshot is attached (node_boot/mount-image-cache.sh mounts it).
IMAGE_CACHE_DEVICE = "/dev/xvdb"
# EBS hydrates a volume made from a snapshot lazily; a provisioned rate (100-300 MiB/s, the most) fills it at a known
# pace instead of fetching each first-read block from S3 (EBS user guide, "Initialize Amazon EBS volumes").
IMAGE_CACHE_INITIALIZATION_MIBPS = 300
AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"
MOUNT_IMAGE_CACHE = Path(__file__).parent / "node_boot" / "mount-image-cache.sh"
USER_DATA_BOUNDARY = "MLPLATFORM"
GP3_BASELINE = (3000, 125)  # IOPS, MiB/s: what every gp3 volume has at no charge


def node_labels(cfg: NodeGroupConfig) -> dict[str, str]:
    labels = {**cfg.labels, NODE_GROUP_LABEL: cfg.name}
    if cfg.gpu and cfg.accelerator:
        labels[GPU_PRESENT_LABEL] = "true"
        labels[ACCELERATOR_LABEL] = cfg.accelerator
    return labels


def autoscaler_template_tags(cfg: NodeGroupConfig) -> dict[str, str]:
    """Tags that tell cluster-autoscaler what a node of this group will look like.

    With the group at zero nodes the autoscaler has no node to read labels, taints or GPUs from, and
    managed node group tags are not copied to the Auto Scaling group (autoscaler#4998), so these are
    written on the Auto Scaling group itself.
    """
    tags = {f"{AUTOSCALER_TEMPLATE}/label/{k}": v for k, v in node_labels(cfg).items()}
    tags[f"{AUTOSCALER_TEMPLATE}/resources/ephemeral-storage"] = f"{cfg.disk_size_gib}Gi"
    if cfg.gpu:
        tags[f"{AUTOSCALER_TEMPLATE}/taint/{GPU_TAINT_KEY}"] = f"{GPU_TAINT_VALUE}:NoSchedule"
        tags[f"{AUTOSCALER_TEMPLATE}/resources/{GPU_TAINT_KEY}"] = str(cfg.gpus_per_node)
    return tags


def node_config(cfg: NodeGroupConfig) -> str | None:
    """What this group adds to the NodeConfig EKS writes for its nodes (nodeadm merges both), or None."""
    if not cfg.fast_image_pull:
        return None
    # SOCI parallel pull and unpack (awslabs/amazon-eks-ami nodeadm/doc/examples.md, "Enabling fast image pull").
    return "---\napiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  featureGates:\n    FastImagePull: true\n"


def user_data(cfg: NodeGroupConfig) -> str | None:
    """The launch template's user data, base64: a MIME multi-part document as managed node groups require (EKS adds
    its own NodeConfig part, the cluster's endpoint and CA, and nodeadm merges them), or None."""
    parts = []
    if (config := node_config(cfg)) is not None:
        parts.append(("application/node.eks.aws", config))
    if cfg.image_cache_snapshot_id:
        parts.append(('text/x-shellscript; charset="us-ascii"', MOUNT_IMAGE_CACHE.read_text()))
    if not parts:
        return None
    body = "".join(f"--{USER_DATA_BOUNDARY}\nContent-Type: {kind}\n\n{content}\n" for kind, content in parts)
    document = (f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{USER_DATA_BOUNDARY}"\n\n'
                f"{body}--{USER_DATA_BOUNDARY}--\n")
    return base64.b64encode(document.encode()).decode()


def warm_hours_actions(cfg: NodeGroupConfig) -> dict[str, dict[str, object]]:
    """Scheduled actions on the group's Auto Scaling group that keep one node up during the warm hours.

    At `start` the minimum becomes one (the Auto Scaling group raises its desired capacity to meet it); at `stop` it
    goes back to the group's minSize and cluster-autoscaler removes the node once it idles. Neither touches the desired
    capacity (-1: unchanged), which cluster-autoscaler owns: a busy group is never shrunk. The scheduled actions of
    terraform-aws-modules/eks's managed node groups (its `schedules` input) work the same way."""
    warm = cfg.warm_hours
    if warm is None:
        return {}
    return {
        "warm-start": {"min_size": max(1, cfg.min_size), "recurrence": warm.cron(warm.start)},
        "warm-stop": {"min_size": cfg.min_size, "recurrence": warm.cron(warm.stop)},
    }


@dataclass
class NodeGroupArgs:
    config: NodeGroupConfig
    cluster_name: pulumi.Input[str]
    kubernetes_version: str
    node_role_arn: pulumi.Input[str]
    subnet_ids_by_az: Mapping[str, pulumi.Input[str]]  # a group with a zone uses that AZ's subnet only
    security_group_ids: Sequence[pulumi.Input[str]]


class NodeGroup(Component):
    config: NodeGroupConfig
    node_group_name: pulumi.Output[str]
    autoscaling_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: NodeGroupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:node_group:NodeGroup", name, opts, renamed_from="mlplatform:cluster:NodeGroup")
        cfg = args.config
        child = self.child()
        subnet_ids = [args.subnet_ids_by_az[cfg.zone]] if cfg.zone else list(args.subnet_ids_by_az.values())

        # gp3's baseline (3000 IOPS, 125 MiB/s) is left unsaid: a group that keeps it keeps its launch template as is.
        performance = {"iops": cfg.disk_iops, "throughput": cfg.disk_throughput_mibps} \
            if (cfg.disk_iops, cfg.disk_throughput_mibps) != GP3_BASELINE else {}
        volumes = [aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name=ROOT_DEVICE,
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                volume_size=cfg.disk_size_gib, volume_type="gp3", encrypted="true", delete_on_termination="true",
                **performance),
        )]
        if cfg.image_cache_snapshot_id:
            volumes.append(aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=IMAGE_CACHE_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    snapshot_id=cfg.image_cache_snapshot_id, volume_type="gp3", encrypted="true",
                    delete_on_termination="true", volume_initialization_rate=IMAGE_CACHE_INITIALIZATION_MIBPS,
                    **performance),
            ))

        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"{cfg.name} nodes: IMDSv2 only, encrypted gp3 root volume"
                        + (" and image cache" if cfg.image_cache_snapshot_id else ""),
            # Pods get AWS credentials from Pod Identity; hop limit 1 keeps them off the node's IMDS.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=volumes,
            user_data=user_data(cfg),
            # Specifying security groups here stops EKS attaching the cluster primary group, so nodes
            # carry only the node group, whose rules are written out in cluster.py.
            vpc_security_group_ids=list(args.security_group_ids),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags={"Name": f"{name}"})
                for kind in ("instance", "volume")
            ],
            update_default_version=True,
            opts=child,
        )

        taints = [aws.eks.NodeGroupTaintArgs(
            key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect=GPU_TAINT_EFFECT)] if cfg.gpu else []

        node_group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args.cluster_name,
            version=args.kubernetes_version,
            node_role_arn=args.node_role_arn,
            subnet_ids=subnet_ids,
            ami_type=cfg.ami_type,
            instance_types=list(cfg.instance_types),
            capacity_type=cfg.capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=cfg.min_size, desired_size=cfg.desired_size, max_size=cfg.max_size),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
            labels=node_labels(cfg),
            taints=taints,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id,
                version=launch_template.latest_version.apply(str),
            ),
            tags={"Name": name},
            # cluster-autoscaler owns the desired size once the group exists; `pulumi up` must not
            # reset it.
            # Nodes must not start before what they need (networking add-ons, node role policies).
            opts=self.child(depends_on=self.waits_for, ignore_changes=["scalingConfig.desiredSize"]),
        )

        asg_name = node_group.resources.apply(lambda r: r[0].autoscaling_groups[0].name)
        for key, value in autoscaler_template_tags(cfg).items():
            aws.autoscaling.Tag(
                f"{name}-asg-{_slug(key.removeprefix(AUTOSCALER_TEMPLATE + '/'))}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child,
            )

        for action, settings in warm_hours_actions(cfg).items():
            assert cfg.warm_hours is not None
            aws.autoscaling.Schedule(
                f"{name}-{action}",
                scheduled_action_name=f"mlplatform-{action}",
                autoscaling_group_name=asg_name,
                min_size=settings["min_size"],
                max_size=-1,
                desired_capacity=-1,
                recurrence=settings["recurrence"],
                time_zone=cfg.warm_hours.timezone,
                opts=child,
            )

        self.config = cfg
        self.node_group_name = node_group.node_group_name
        self.autoscaling_group_name = asg_name
        self.register_outputs({"node_group_name": self.node_group_name,
                               "autoscaling_group_name": self.autoscaling_group_name})


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
