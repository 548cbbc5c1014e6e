"""Storage: encrypted EBS volumes (default gp3 class) and EFS for ReadWriteMany notebook volumes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import iam, namespaces
from components.cluster.cluster import Cluster
from components.cluster.eks_addon import eks_addon
from components.component import Component
from components.config import AddonsConfig
from components.kms import account_id, customer_key
from components.network import Network, nodes_only_security_group
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.stack import StackContext

CSI_NAMESPACE = namespaces.KUBE_SYSTEM
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EFS_CSI_SERVICE_ACCOUNT = "efs-csi-controller-sa"
GP3_CLASS = "gp3"
EFS_CLASS = "efs"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
NFS_PORT = 2049


@dataclass
class StorageArgs:
    stack: StackContext  # production keeps volumes when their claims go, protects EFS and backs it up
    config: AddonsConfig  # efs: whether the EFS file system and its class exist
    cluster: Cluster
    network: Network


class Storage(Component):
    """`ready`: the CSI drivers and their storage classes, which every volume claim needs."""
    volume_key_arn: pulumi.Output[str]
    efs_file_system_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:storage:Storage", name, opts)
        cluster, stack = args.cluster, args.stack
        # Production keeps a volume when its claim is deleted: a mistaken `kubectl delete pvc` loses no data.
        reclaim_policy = "Retain" if stack.production else "Delete"

        ebs_role = self._csi_role(name, "ebs-csi", cluster, EBS_CSI_SERVICE_ACCOUNT, iam.EBS_CSI_POLICY)
        efs_via = stack.regional("elasticfilesystem")
        # The EBS CSI driver's role creates encrypted volumes with the key; EFS encrypts the file system for
        # whoever creates it. Nothing else may use the key.
        key = customer_key(
            f"{name}-volumes", parent=self, description="EBS and EFS volumes of the ML platform",
            alias=cluster.name.apply(lambda n: f"alias/{n}-volumes"), protect=stack.production,
            usage=pulumi.Output.all(account_id(self), ebs_role.role_arn).apply(lambda a: [
                *iam.ebs_csi_key_use(a[1]),
                *([iam.key_use_via_service("EfsEncryptsFileSystem", a[0], efs_via)] if args.config.efs else []),
            ]))
        ebs_driver = self._csi_addon(name, cluster, "aws-ebs-csi-driver", ebs_role, depends_on=[key])

        # New clusters (1.30+) get a gp2 class without the default annotation (EKS 1.30 release notes),
        # so this is the cluster's only default class.
        gp3 = k8s.storage.v1.StorageClass(
            f"{name}-gp3",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GP3_CLASS, annotations={DEFAULT_CLASS_ANNOTATION: "true"}),
            provisioner="ebs.csi.aws.com",
            # Bind where the pod lands, so the volume is created in the pod's AZ.
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy=reclaim_policy,
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": key.arn},
            opts=self.child(depends_on=[ebs_driver]),
        )
        self.ready = [ebs_driver, gp3]

        self.efs_file_system_id = None
        if args.config.efs:
            self.efs_file_system_id = self._efs(name, args, key, reclaim_policy)

        self.volume_key_arn = key.arn
        self.register_outputs({"volume_key_arn": self.volume_key_arn,
                               "efs_file_system_id": self.efs_file_system_id})

    def _efs(self, name: str, args: StorageArgs, key: aws.kms.Key, reclaim_policy: str) -> pulumi.Output[str]:
        cluster, net, protect = args.cluster, args.network, args.stack.production
        child = self.child()
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
            opts=self.child(protect=protect),
        )
        aws.efs.BackupPolicy(
            f"{name}-efs", file_system_id=file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(
                status="ENABLED" if protect else "DISABLED"),
            opts=child)
        # One per AZ, named after it (they were numbered once: the alias keeps existing ones).
        mount_targets = [
            aws.efs.MountTarget(
                f"{name}-efs-{az}", file_system_id=file_system.id, subnet_id=subnet_id,
                security_groups=[security_group.id],
                opts=self.child(aliases=[pulumi.Alias(name=f"{name}-efs-{index}")]))
            for index, (az, subnet_id) in enumerate(net.private_subnet_ids_by_az.items())
        ]

        efs_role = self._csi_role(name, "efs-csi", cluster, EFS_CSI_SERVICE_ACCOUNT, iam.EFS_CSI_POLICY)
        efs_driver = self._csi_addon(name, cluster, "aws-efs-csi-driver", efs_role)

        efs_class = k8s.storage.v1.StorageClass(
            f"{name}-efs",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=EFS_CLASS),
            provisioner="efs.csi.aws.com",
            reclaim_policy=reclaim_policy,
            # One access point per volume, each in its own directory owned by the pod's user.
            parameters={"provisioningMode": "efs-ap", "fileSystemId": file_system.id, "directoryPerms": "700",
                        "basePath": "/dynamic"},
            opts=self.child(depends_on=[efs_driver, *mount_targets]),
        )
        self.ready += [efs_driver, efs_class]
        return file_system.id

    def _csi_role(self, name: str, short_name: str, cluster: Cluster, service_account: str,
                  managed_policy: str) -> ServiceAccountRole:
        return ServiceAccountRole(
            f"{name}-{short_name}",
            ServiceAccountRoleArgs(cluster_name=cluster.name, namespace=CSI_NAMESPACE, service_account=service_account,
                                   managed_policy_arns=[managed_policy], association_by_addon=True),
            opts=self.child())

    def _csi_addon(self, name: str, cluster: Cluster, addon: str, role: ServiceAccountRole,
                   depends_on: list[pulumi.Resource] | None = None) -> aws.eks.Addon:
        """A CSI driver as an EKS add-on that carries its own Pod Identity role."""
        return eks_addon(
            f"{name}-{addon}", parent=self, cluster_name=cluster.name, addon=addon,
            kubernetes_version=cluster.kubernetes_version, pinned_version=cluster.addon_versions.get(addon),
            role=role, depends_on=[*cluster.ready, *(depends_on or [])])
