"""Storage: encrypted EBS volumes (default gp3 class) and EFS for ReadWriteMany notebook volumes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import iam
from components.cluster import Cluster
from components.eks_addon import eks_addon
from components.network import Network, nodes_only_security_group
from components.pod_identity import ServiceAccountRole, ServiceAccountRoleArgs

CSI_NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EFS_CSI_SERVICE_ACCOUNT = "efs-csi-controller-sa"
GP3_CLASS = "gp3"
EFS_CLASS = "efs"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
NFS_PORT = 2049


@dataclass
class StorageArgs:
    cluster: Cluster
    network: Network
    efs: bool
    protect_data: bool


class Storage(pulumi.ComponentResource):
    volume_key_arn: pulumi.Output[str]
    efs_file_system_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:storage:Storage", name, None, opts)
        cluster = args.cluster
        child = pulumi.ResourceOptions(parent=self)
        # The key outlives a deliberate teardown: retained volumes and EFS backups are encrypted with it.
        retained = pulumi.ResourceOptions(parent=self, protect=args.protect_data, retain_on_delete=args.protect_data)
        # Prod keeps a volume when its claim is deleted: a mistaken `kubectl delete pvc` loses no data.
        reclaim_policy = "Retain" if args.protect_data else "Delete"

        key = aws.kms.Key(f"{name}-volumes", description="EBS and EFS volumes of the ML platform",
                          enable_key_rotation=True, deletion_window_in_days=30, opts=retained)
        aws.kms.Alias(f"{name}-volumes", name=cluster.name.apply(lambda n: f"alias/{n}-volumes"),
                      target_key_id=key.key_id, opts=child)

        ebs_driver = self._csi_driver(
            name, "ebs-csi", cluster, "aws-ebs-csi-driver", EBS_CSI_SERVICE_ACCOUNT, iam.EBS_CSI_POLICY,
            policy=key.arn.apply(iam.ebs_csi_kms))

        # New clusters (1.30+) get a gp2 class without the default annotation (EKS 1.30 release notes),
        # so this is the cluster's only default class.
        k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GP3_CLASS, annotations={DEFAULT_CLASS_ANNOTATION: "true"}),
            provisioner="ebs.csi.aws.com",
            # Bind where the pod lands, so the volume is created in the pod's AZ.
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy=reclaim_policy,
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": key.arn},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ebs_driver]),
        )

        self.efs_file_system_id = None
        if args.efs:
            self.efs_file_system_id = self._efs(name, args, key, reclaim_policy)

        self.volume_key_arn = key.arn
        self.register_outputs({"volume_key_arn": self.volume_key_arn,
                               "efs_file_system_id": self.efs_file_system_id})

    def _efs(self, name: str, args: StorageArgs, key: aws.kms.Key, reclaim_policy: str) -> pulumi.Output[str]:
        cluster, net = args.cluster, args.network
        child = pulumi.ResourceOptions(parent=self)
        security_group = nodes_only_security_group(
            f"{name}-efs", parent=self, vpc_id=net.vpc_id, node_security_group_id=cluster.node_security_group_id,
            port=NFS_PORT, description="EFS mount targets: NFS from the nodes only")

        file_system = aws.efs.FileSystem(
            f"{name}-efs",
            encrypted=True,
            kms_key_id=key.arn,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            lifecycle_policies=[aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia="AFTER_30_DAYS")],
            tags={"Name": f"{name}-efs"},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data),
        )
        aws.efs.BackupPolicy(
            f"{name}-efs", file_system_id=file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(
                status="ENABLED" if args.protect_data else "DISABLED"),
            opts=child)
        mount_targets = [
            aws.efs.MountTarget(f"{name}-efs-{index}", file_system_id=file_system.id, subnet_id=subnet_id,
                                security_groups=[security_group.id], opts=child)
            for index, subnet_id in enumerate(net.private_subnet_ids)
        ]

        efs_driver = self._csi_driver(
            name, "efs-csi", cluster, "aws-efs-csi-driver", EFS_CSI_SERVICE_ACCOUNT, iam.EFS_CSI_POLICY)

        k8s.storage.v1.StorageClass(
            f"{name}-efs",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=EFS_CLASS),
            provisioner="efs.csi.aws.com",
            reclaim_policy=reclaim_policy,
            # One access point per volume, each in its own directory owned by the pod's user.
            parameters={"provisioningMode": "efs-ap", "fileSystemId": file_system.id, "directoryPerms": "700",
                        "basePath": "/dynamic"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[efs_driver, *mount_targets]),
        )
        return file_system.id

    def _csi_driver(self, name: str, short_name: str, cluster: Cluster, addon: str, service_account: str,
                    managed_policy: str, policy: pulumi.Input[iam.Document] | None = None) -> aws.eks.Addon:
        """A CSI driver as an EKS add-on that carries its own Pod Identity role."""
        role = ServiceAccountRole(
            f"{name}-{short_name}",
            ServiceAccountRoleArgs(cluster_name=cluster.name, namespace=CSI_NAMESPACE, service_account=service_account,
                                   managed_policy_arns=[managed_policy], policy=policy, association_by_addon=True),
            opts=pulumi.ResourceOptions(parent=self))
        return eks_addon(
            f"{name}-{addon}", parent=self, cluster_name=cluster.name, addon=addon,
            kubernetes_version=cluster.kubernetes_version, pinned_version=cluster.addon_versions.get(addon),
            role=role, depends_on=cluster.ready)
