"""Storage: encrypted EBS volumes (default gp3 class), EFS for ReadWriteMany notebook volumes, and FSx for Lustre for
training data (addons.fsx)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import iam, namespaces
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import AddonsConfig
from components.kms import account_id, customer_key
from components.network import Network, nodes_only_security_group
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.stack import StackContext

CSI_NAMESPACE = namespaces.KUBE_SYSTEM
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
EFS_CSI_SERVICE_ACCOUNT = "efs-csi-controller-sa"
# kubernetes-sigs/aws-fsx-csi-driver v1.9.0 deploy/kubernetes/base/controller-serviceaccount.yaml (the add-on's too).
FSX_CSI_SERVICE_ACCOUNT = "fsx-csi-controller-sa"
GP3_CLASS = "gp3"
EFS_CLASS = "efs"
FSX_CLASS = "fsx"
# Lustre's ports: LNET on 988, and 1018-1023, between the file servers and their clients and among the servers
# (FSx for Lustre user guide, "File system access control with Amazon VPC").
LUSTRE_PORTS = ((988, 988), (1018, 1023))
# Lustre 2.15 mounts on AL2023's newer kernels; 2.10 and 2.12 clients fail there (the driver's docs/install.md).
LUSTRE_VERSION = "2.15"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
NFS_PORT = 2049


@dataclass
class StorageArgs:
    stack: StackContext  # production keeps volumes when their claims go, protects EFS and backs it up
    config: AddonsConfig  # efs and fsx: whether their drivers and classes exist
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
        efs_via, fsx_via = stack.regional("elasticfilesystem"), stack.regional("fsx")
        fsx = args.config.fsx.enabled
        # The EBS CSI driver's role creates encrypted volumes with the key; EFS and FSx encrypt the file systems for
        # whoever creates them. Nothing else may use the key.
        key = customer_key(
            f"{name}-volumes", parent=self, description="EBS and EFS volumes of the ML platform"
                                                        + (", and its Lustre file systems" if fsx else ""),
            alias=cluster.name.apply(lambda n: f"alias/{n}-volumes"), protect=stack.production,
            usage=pulumi.Output.all(account_id(self), ebs_role.role_arn).apply(lambda a: [
                *iam.ebs_csi_key_use(a[1]),
                *([iam.key_use_via_service("EfsEncryptsFileSystem", a[0], efs_via)] if args.config.efs else []),
                *([iam.key_use_via_service("FsxEncryptsFileSystems", a[0], fsx_via)] if fsx else []),
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
        if fsx:
            self._fsx(name, args, key, reclaim_policy)

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

    def _fsx(self, name: str, args: StorageArgs, key: aws.kms.Key, reclaim_policy: str) -> None:
        """FSx for Lustre: the CSI driver (an EKS add-on) on its own role, and a StorageClass whose every claim makes a
        file system in the network's first AZ (where the GPU groups are), encrypted with the volume key, reachable
        only from the nodes on Lustre's ports."""
        cluster, net, stack, config = args.cluster, args.network, args.stack, args.config.fsx
        child = self.child()
        group = aws.ec2.SecurityGroup(
            f"{name}-lustre", vpc_id=net.vpc_id, revoke_rules_on_delete=True, tags={"Name": f"{name}-lustre"},
            description="FSx for Lustre file systems: Lustre from the EKS nodes and among the file servers", opts=child)
        for low, high in LUSTRE_PORTS:
            ports = f"{low}" if low == high else f"{low}-{high}"
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-lustre-{ports}-from-nodes", security_group_id=group.id,
                referenced_security_group_id=cluster.node_security_group_id, ip_protocol="tcp", from_port=low,
                to_port=high, description=f"Lustre {ports} from EKS nodes", opts=child)
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-lustre-{ports}-among-servers", security_group_id=group.id,
                referenced_security_group_id=group.id, ip_protocol="tcp", from_port=low, to_port=high,
                description=f"Lustre {ports} among the file servers", opts=child)
            # Lustre servers also open connections back to their clients.
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nodes-{ports}-from-lustre", security_group_id=cluster.node_security_group_id,
                referenced_security_group_id=group.id, ip_protocol="tcp", from_port=low, to_port=high,
                description=f"Lustre {ports} from the FSx file systems", opts=child)
        role = ServiceAccountRole(
            f"{name}-fsx-csi",
            ServiceAccountRoleArgs(
                cluster_name=cluster.name, namespace=CSI_NAMESPACE, service_account=FSX_CSI_SERVICE_ACCOUNT,
                policy=account_id(self).apply(lambda a: iam.fsx_csi_driver(stack.region, a, config.bucket)),
                association_by_addon=True, boundary=cluster.role_boundary_arn),
            opts=self.child())
        driver = self._csi_addon(name, cluster, "aws-fsx-csi-driver", role, depends_on=[key])
        first_az = next(iter(net.private_subnet_ids_by_az.values()))
        parameters: dict[str, pulumi.Input[str]] = {
            "subnetId": first_az, "securityGroupIds": group.id, "deploymentType": config.deployment_type,
            "perUnitStorageThroughput": str(config.throughput_per_tib), "kmsKeyId": key.arn,
            "fileSystemTypeVersion": LUSTRE_VERSION}
        if config.s3_import_path:
            parameters |= {"s3ImportPath": config.s3_import_path, "autoImportPolicy": "NEW_CHANGED_DELETED"}
        fsx_class = k8s.storage.v1.StorageClass(
            f"{name}-fsx",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=FSX_CLASS),
            provisioner="fsx.csi.aws.com",
            reclaim_policy=reclaim_policy,
            allow_volume_expansion=True,
            mount_options=["flock"],
            parameters=parameters,
            opts=self.child(depends_on=[driver]),
        )
        self.ready += [driver, fsx_class]

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
        return cluster.addon(f"{name}-{addon}", parent=self, addon=addon, role=role, depends_on=depends_on or [])
