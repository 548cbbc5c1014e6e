"""Storage: encrypted EBS volumes (default gp3 class) and EFS for ReadWriteMany notebook volumes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import iam
from components.cluster.cluster import Cluster
from components.cluster.eks_addon import eks_addon
from components.kms import account_id, customer_key
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
    region: str
    efs: bool
    protect_data: bool


class Storage(pulumi.ComponentResource):
    volume_key_arn: pulumi.Output[str]
    efs_file_system_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:storage:Storage", name, None, opts)
        cluster = args.cluster
        # Prod keeps a volume when its claim is deleted: a mistaken `kubectl delete pvc` loses no data.
        reclaim_policy = "Retain" if args.protect_data else "Delete"

        ebs_role = self._csi_role(name, "ebs-csi", cluster, EBS_CSI_SERVICE_ACCOUNT, iam.EBS_CSI_POLICY)
        efs_via = f"elasticfilesystem.{args.region}.amazonaws.com"
        # The EBS CSI driver's role creates encrypted volumes with the key; EFS encrypts the file system for
        # whoever creates it. Nothing else may use the key.
        key = customer_key(
            f"{name}-volumes", parent=self, description="EBS and EFS volumes of the ML platform",
            alias=cluster.name.apply(lambda n: f"alias/{n}-volumes"), protect=args.protect_data,
            usage=pulumi.Output.all(account_id(self), ebs_role.role_arn).apply(lambda a: [
                *iam.ebs_csi_key_use(a[1]),
                *([iam.key_use_via_service("EfsEncryptsFileSystem", a[0], efs_via)] if args.efs else []),
            ]))
        ebs_driver = self._csi_addon(name, cluster, "aws-ebs-csi-driver", ebs_role, depends_on=[key])

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
        # One per AZ, named after it (they were numbered once: the alias keeps existing ones).
        mount_targets = [
            aws.efs.MountTarget(
                f"{name}-efs-{az}", file_system_id=file_system.id, subnet_id=subnet_id,
                security_groups=[security_group.id],
                opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-efs-{index}")]))
            for index, (az, subnet_id) in enumerate(net.private_subnet_ids_by_az.items())
        ]

        efs_role = self._csi_role(name, "efs-csi", cluster, EFS_CSI_SERVICE_ACCOUNT, iam.EFS_CSI_POLICY)
        efs_driver = self._csi_addon(name, cluster, "aws-efs-csi-driver", efs_role)

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

    def _csi_role(self, name: str, short_name: str, cluster: Cluster, service_account: str,
                  managed_policy: str) -> ServiceAccountRole:
        return ServiceAccountRole(
            f"{name}-{short_name}",
            ServiceAccountRoleArgs(cluster_name=cluster.name, namespace=CSI_NAMESPACE, service_account=service_account,
                                   managed_policy_arns=[managed_policy], association_by_addon=True),
            opts=pulumi.ResourceOptions(parent=self))

    def _csi_addon(self, name: str, cluster: Cluster, addon: str, role: ServiceAccountRole,
                   depends_on: list[pulumi.Resource] | None = None) -> aws.eks.Addon:
        """A CSI driver as an EKS add-on that carries its own Pod Identity role."""
        return eks_addon(
            f"{name}-{addon}", parent=self, cluster_name=cluster.name, addon=addon,
            kubernetes_version=cluster.kubernetes_version, pinned_version=cluster.addon_versions.get(addon),
            role=role, depends_on=[*cluster.ready, *(depends_on or [])])
