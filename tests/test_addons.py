"""Cluster add-ons: Pod Identity wiring, Helm releases, storage, and their ordering."""

import json

import pytest

from components import versions
from components.config import PROJECT, ConfigError
from tests.conftest import PINNED_ADDONS
from tests.fixtures import evaluate, stack_config
from tests.test_config import schema_rejects

RELEASE = "kubernetes:helm.sh/v3:Release"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"

# Where each chart takes the name of the service account it runs as.
SERVICE_ACCOUNT_VALUE = {
    "aws-load-balancer-controller": ("serviceAccount", "name"),
    "external-dns": ("serviceAccount", "name"),
    "cert-manager": ("serviceAccount", "name"),
    "external-secrets": ("serviceAccount", "name"),
    "cluster-autoscaler": ("rbac", "serviceAccount", "name"),
}
# Service accounts the EKS add-ons run as (EKS user guide, each add-on's IAM section).
ADDON_SERVICE_ACCOUNTS = {"vpc-cni": "aws-node", "aws-ebs-csi-driver": "ebs-csi-controller-sa",
                          "aws-efs-csi-driver": "efs-csi-controller-sa"}


def _releases(result):
    """The add-ons' releases by chart (the mesh's Istio charts are tests/test_mesh.py's)."""
    return {r.inputs["chart"]: r for r in result.of_type(RELEASE) if r.inputs["chart"] in CHARTS}


def _dig(values, path):
    for key in path:
        values = values[key]
    return values


def _component_of(result, resource):
    """The top-level component a resource belongs to (walking up parents to the stack)."""
    node = resource
    while not node.top_level:
        node = result.by_urn(node.parent)
    return node


def test_every_controller_runs_as_the_service_account_its_association_names(each_stack):
    releases = _releases(each_stack)
    modules = ("load_balancer_controller", "external_dns", "cert_manager", "cluster_autoscaler", "external_secrets",
               "storage")
    add_ons = {r.urn for r in each_stack.resources if r.top_level and r.type.split(":")[1] in modules}
    associations = [a for a in each_stack.of_type(ASSOCIATION)
                    if _component_of(each_stack, a).urn in add_ons]
    assert {a.inputs["serviceAccount"] for a in associations} == {
        _dig(releases[chart].inputs["values"], path) for chart, path in SERVICE_ACCOUNT_VALUE.items()}
    for association in associations:
        component = _component_of(each_stack, association)
        [release] = [r for r in each_stack.of_type(RELEASE) if _component_of(each_stack, r).urn == component.urn]
        assert association.inputs["namespace"] == release.inputs["namespace"]
        assert association.inputs["serviceAccount"] == _dig(
            release.inputs["values"], SERVICE_ACCOUNT_VALUE[release.inputs["chart"]])
        assert association.inputs["clusterName"] == f"mlplatform-{each_stack.stack}"
        # the chart starts only once its pods will get credentials
        assert association.urn in release.dependencies


def test_eks_addons_carry_their_own_pod_identity_for_the_right_service_account(each_stack):
    addons = {a.inputs["addonName"]: a for a in each_stack.of_type(ADDON)}
    assert set(ADDON_SERVICE_ACCOUNTS) - set(addons) <= {"aws-efs-csi-driver"}  # EFS only where the stack has it
    for addon, service_account in ADDON_SERVICE_ACCOUNTS.items():
        if addon not in addons:
            continue
        [association] = addons[addon].inputs["podIdentityAssociations"]
        assert association["serviceAccount"] == service_account
    standalone = {a.inputs["serviceAccount"] for a in each_stack.of_type(ASSOCIATION)}
    assert not standalone & set(ADDON_SERVICE_ACCOUNTS.values()), "one association per service account"
    # the add-on starts only once its role has its permissions
    for addon in set(ADDON_SERVICE_ACCOUNTS) & set(addons):
        role_name = addons[addon].inputs["podIdentityAssociations"][0]["roleArn"].rsplit("/", 1)[1]
        attachments = [a.urn for a in each_stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                       if a.inputs["role"] == role_name]
        assert attachments and set(attachments) <= set(addons[addon].dependencies), addon


def test_every_pod_identity_role_trusts_only_eks_pods(each_stack):
    role_names = {a.inputs["roleArn"].rsplit("/", 1)[1] for a in each_stack.of_type(ASSOCIATION)}
    for addon in each_stack.of_type(ADDON):
        role_names |= {p["roleArn"].rsplit("/", 1)[1] for p in addon.inputs.get("podIdentityAssociations", [])}
    # 7 add-ons and EFS's where the stack has it, Container Insights' agent, Pipelines' API server and UI, one per team,
    # MLflow's where it runs (prod)
    config = stack_config(each_stack.stack)
    teams, efs = config[f"{PROJECT}:kubeflow"]["teams"], config[f"{PROJECT}:addons"]["efs"]
    assert len(role_names) == 7 + efs + 1 + 2 + len(teams) + (each_stack.stack == "prod")
    for name in role_names:
        trust = json.loads(each_stack.one(ROLE, name).inputs["assumeRolePolicy"])
        assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                       "Action": ["sts:AssumeRole", "sts:TagSession"]}]


def _role_policy(result, component_name):
    return json.loads(result.one("aws:iam/rolePolicy:RolePolicy", f"{component_name}-policy").inputs["policy"])


def test_route53_permissions_are_scoped_to_the_configured_zone(each_stack):
    zone = stack_config(each_stack.stack)[f"{PROJECT}:addons"]["dns"]["hostedZoneId"]
    for component in ("external-dns", "cert-manager"):
        for statement in _role_policy(each_stack, component)["Statement"]:
            if "route53:ChangeResourceRecordSets" in statement["Action"]:
                assert statement["Resource"] == f"arn:aws:route53:::hostedzone/{zone}"
    challenge = _role_policy(each_stack, "cert-manager")["Statement"][1]
    assert challenge["Condition"]["ForAllValues:StringEquals"] == {
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}


def test_autoscaler_may_scale_only_this_clusters_groups(each_stack):
    cluster = f"mlplatform-{each_stack.stack}"
    statements = {s["Sid"]: s for s in _role_policy(each_stack, "cluster-autoscaler")["Statement"]}
    assert statements["ScaleOwnGroups"]["Condition"] == {
        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}}
    assert statements["ReadNodeGroups"]["Resource"] == \
        f"arn:aws:eks:us-east-1:123456789012:nodegroup/{cluster}/*/*"


def test_external_secrets_reads_only_this_clusters_secrets(each_stack):
    [statement] = _role_policy(each_stack, "external-secrets")["Statement"]
    assert statement["Resource"] == \
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:mlplatform-{each_stack.stack}/*"
    assert not any(a.startswith("secretsmanager:Put") or a.startswith("secretsmanager:Delete")
                   for a in statement["Action"])


def test_volume_key_is_used_by_the_ebs_driver_and_through_efs_only(prod):
    each_stack = prod  # the stack with EFS
    key = each_stack.one("aws:kms/key:Key", "storage-volumes")
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    ebs_role = "arn:aws:iam::123456789012:role/storage-ebs-csi"
    assert statements["EbsCsiDriverUsesKey"]["Principal"] == {"AWS": ebs_role}
    grants = statements["EbsCsiDriverGrantsForVolumes"]
    assert grants["Principal"] == {"AWS": ebs_role}
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    efs = statements["EfsEncryptsFileSystem"]
    assert efs["Condition"]["StringEquals"] == {"kms:ViaService": "elasticfilesystem.us-east-1.amazonaws.com",
                                                "kms:CallerAccount": "123456789012"}
    assert set(statements) == {"AccountAdministersKey", "EbsCsiDriverUsesKey", "EbsCsiDriverGrantsForVolumes",
                               "EfsEncryptsFileSystem"}
    # the key policy grants the driver what it needs; its role carries no KMS policy of its own
    assert not [r for r in each_stack.of_type("aws:iam/rolePolicy:RolePolicy") if r.name.startswith("storage-ebs")]


def test_without_efs_the_volume_key_does_not_serve_efs(dev):
    statements = json.loads(dev.one("aws:kms/key:Key", "storage-volumes").inputs["policy"])["Statement"]
    assert "EfsEncryptsFileSystem" not in {s["Sid"] for s in statements}


CHARTS = {c.name: c for c in (versions.AWS_LOAD_BALANCER_CONTROLLER, versions.EXTERNAL_DNS, versions.CERT_MANAGER,
                              versions.CLUSTER_AUTOSCALER, versions.EXTERNAL_SECRETS, versions.NVIDIA_DEVICE_PLUGIN)}


def test_releases_use_pinned_charts_and_the_clusters_provider(each_stack):
    releases = _releases(each_stack)
    assert set(releases) == set(CHARTS)
    pinned = {(c.name, c.version, c.repo) for c in vars(versions).values() if isinstance(c, versions.Chart)}
    k8s_provider = each_stack.one("pulumi:providers:kubernetes")
    for release in each_stack.of_type(RELEASE):
        assert (release.inputs["chart"], release.inputs["version"], release.inputs["repositoryOpts"]["repo"]) in pinned
        assert release.inputs["atomic"] is True
        assert release.provider == f"{k8s_provider.urn}::{k8s_provider.name}-id"
    for r in each_stack.resources:
        if r.type.startswith("kubernetes:") and r.custom:
            assert r.provider.startswith(k8s_provider.urn), r.name


def test_every_other_chart_installs_after_the_load_balancer_controller(each_stack):
    """Directly or through what it waits for (Istio's charts wait for their namespace, which waits for it)."""
    controller = _releases(each_stack)["aws-load-balancer-controller"]
    others = [r for r in each_stack.of_type(RELEASE) if r.urn != controller.urn]
    assert len(others) >= 9
    for release in others:
        assert controller.urn in each_stack.all_dependencies(release), release.inputs["chart"]


def test_kubernetes_resources_wait_for_nodes_and_dns(each_stack):
    """Directly, or through what they wait for (a namespace, an earlier chart)."""
    node_groups = {g.urn for g in each_stack.of_type("aws:eks/nodeGroup:NodeGroup")}
    coredns = next(a.urn for a in each_stack.of_type(ADDON) if a.inputs["addonName"] == "coredns")
    for resource in each_stack.resources:
        if not resource.component and resource.type.startswith("kubernetes:"):
            assert node_groups | {coredns} <= each_stack.all_dependencies(resource), resource.name


def test_load_balancer_controller_values(each_stack):
    values = _releases(each_stack)["aws-load-balancer-controller"].inputs["values"]
    assert values["clusterName"] == f"mlplatform-{each_stack.stack}"
    assert values["region"] == "us-east-1"
    assert values["vpcId"] == each_stack.ids_of(each_stack.one("aws:ec2/vpc:Vpc"))
    assert values["enableWaf"] is False and values["enableWafv2"] is False and values["enableShield"] is False


def test_external_dns_values(each_stack):
    dns = stack_config(each_stack.stack)[f"{PROJECT}:addons"]["dns"]
    values = _releases(each_stack)["external-dns"].inputs["values"]
    assert values["provider"] == {"name": "aws"}
    assert values["domainFilters"] == [dns["domain"]]
    assert values["extraArgs"] == [f"--zone-id-filter={dns['hostedZoneId']}"]
    assert values["txtOwnerId"] == f"mlplatform-{each_stack.stack}"
    assert values["policy"] == {"dev": "sync", "prod": "upsert-only"}[each_stack.stack]
    # Istio gateways too, but only once Istio's CRDs exist: without them an Istio source makes external-dns 0.21
    # exit and publish nothing
    assert values["sources"] == ["service", "ingress", "istio-gateway", "istio-virtualservice"]
    istio_crds = next(r for r in each_stack.of_type(RELEASE) if r.inputs["chart"] == "base")
    assert istio_crds.urn in _releases(each_stack)["external-dns"].dependencies


def test_cert_manager_installs_crds_and_an_ambient_route53_issuer(each_stack):
    release = _releases(each_stack)["cert-manager"]
    assert release.inputs["values"]["crds"] == {"enabled": True, "keep": True}
    issuer = each_stack.one("kubernetes:cert-manager.io/v1:ClusterIssuer")
    acme = issuer.inputs["spec"]["acme"]
    assert acme["server"] == {"dev": "https://acme-staging-v02.api.letsencrypt.org/directory",
                              "prod": "https://acme-v02.api.letsencrypt.org/directory"}[each_stack.stack]
    [solver] = acme["solvers"]
    dns = stack_config(each_stack.stack)[f"{PROJECT}:addons"]["dns"]
    assert solver["dns01"] == {"route53": {"region": "us-east-1", "hostedZoneID": dns["hostedZoneId"]}}
    assert release.urn in issuer.dependencies


def test_cluster_secret_store_uses_ambient_credentials(each_stack):
    store = each_stack.one("kubernetes:external-secrets.io/v1:ClusterSecretStore")
    assert store.inputs["spec"] == {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1"}}}
    assert _releases(each_stack)["external-secrets"].urn in store.dependencies


def test_cluster_autoscaler_values(each_stack):
    values = _releases(each_stack)["cluster-autoscaler"].inputs["values"]
    assert values["autoDiscovery"] == {"clusterName": f"mlplatform-{each_stack.stack}"}
    assert values["awsRegion"] == "us-east-1"
    assert values["image"]["tag"].startswith("v1.35.")  # the autoscaler's minor matches Kubernetes'
    assert values["extraArgs"]["expander"] == "least-waste"
    assert values["extraArgs"]["skip-nodes-with-local-storage"] is False


def test_device_plugin_runs_only_on_gpu_nodes(each_stack):
    values = _releases(each_stack)["nvidia-device-plugin"].inputs["values"]
    assert values["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]


def test_each_chart_listens_on_the_webhook_port_it_declares(each_stack):
    """The security groups open the declared port, so the chart is told to listen on it (its default today)."""
    from components.addons import cert_manager, external_secrets, load_balancer_controller

    releases = _releases(each_stack)
    assert releases["cert-manager"].inputs["values"]["webhook"]["securePort"] == cert_manager.WEBHOOKS[0].port
    assert releases["external-secrets"].inputs["values"]["webhook"]["port"] == external_secrets.WEBHOOKS[0].port
    assert releases["aws-load-balancer-controller"].inputs["values"]["webhookBindPort"] == \
        load_balancer_controller.WEBHOOKS[0].port


def test_gp3_is_the_only_default_class_encrypted_with_the_volume_key(each_stack):
    classes = {c.inputs["metadata"]["name"]: c.inputs for c in each_stack.of_type(
        "kubernetes:storage.k8s.io/v1:StorageClass")}
    defaults = [n for n, c in classes.items()
                if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert defaults == ["gp3"]
    gp3 = classes["gp3"]
    assert gp3["provisioner"] == "ebs.csi.aws.com"
    assert gp3["volumeBindingMode"] == "WaitForFirstConsumer"
    assert gp3["parameters"] == {"type": "gp3", "encrypted": "true",
                                 "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/storage-volumes-key"}
    assert gp3["reclaimPolicy"] == {"dev": "Delete", "prod": "Retain"}[each_stack.stack]


def test_efs_is_encrypted_mounted_in_every_private_subnet_and_open_only_to_nodes(prod):
    each_stack = prod  # the stack with EFS
    efs = each_stack.one("aws:efs/fileSystem:FileSystem")
    assert efs.inputs["encrypted"] is True and efs.inputs["kmsKeyId"].endswith("key/storage-volumes-key")
    private = each_stack.subnet_ids("private")
    targets = each_stack.of_type("aws:efs/mountTarget:MountTarget")
    assert sorted(t.inputs["subnetId"] for t in targets) == private
    efs_sg = each_stack.one("aws:ec2/securityGroup:SecurityGroup", "storage-efs")
    assert all(t.inputs["securityGroups"] == [each_stack.ids_of(efs_sg)] for t in targets)
    rules = [r.inputs for r in each_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs["securityGroupId"] == each_stack.ids_of(efs_sg)]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in rules] == [
        ("cluster-node-id", 2049, 2049)]
    efs_class = next(c.inputs for c in each_stack.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
                     if c.inputs["metadata"]["name"] == "efs")
    assert efs_class["provisioner"] == "efs.csi.aws.com"
    assert efs_class["parameters"]["fileSystemId"] == each_stack.ids_of(efs)


@pytest.mark.parametrize("stack,protected,backups", [("dev", False, "DISABLED"), ("prod", True, "ENABLED")])
def test_prod_protects_and_backs_up_volumes(stack, protected, backups, dev_variant, prod):
    result = {"dev": dev_variant, "prod": prod}[stack]  # (dev_variant: dev with EFS)
    assert result.one("aws:efs/fileSystem:FileSystem").protect is protected
    assert result.one("aws:kms/key:Key", "storage-volumes").protect is protected
    assert result.one("aws:efs/backupPolicy:BackupPolicy").inputs["backupPolicy"] == {"status": backups}


def test_addon_versions_are_kept_unless_pinned(dev_variant):
    addons = {a.inputs["addonName"]: a for a in dev_variant.of_type(ADDON)}
    assert addons["aws-ebs-csi-driver"].inputs["addonVersion"] == PINNED_ADDONS["aws-ebs-csi-driver"]
    assert addons["aws-ebs-csi-driver"].ignore_changes == []
    # unpinned: AWS's default when created, then left alone
    assert addons["kube-proxy"].ignore_changes == ["addonVersion"]


def test_efs_is_optional_and_the_device_plugin_follows_gpu_groups(dev, dev_variant):
    # dev: EFS off, so no file system and no driver
    assert dev.of_type("aws:efs/fileSystem:FileSystem") == []
    assert not [a for a in dev.of_type(ADDON) if a.inputs["addonName"] == "aws-efs-csi-driver"]
    assert "efs" not in {c.inputs["metadata"]["name"] for c in dev.of_type("kubernetes:storage.k8s.io/v1:StorageClass")}
    # the variant: EFS on, no GPU group, so no device plugin; external-dns and cert-manager always run (front door)
    assert len(dev_variant.of_type("aws:efs/fileSystem:FileSystem")) == 1
    assert set(_releases(dev_variant)) == {"aws-load-balancer-controller", "cluster-autoscaler", "external-secrets",
                                           "external-dns", "cert-manager"}


@pytest.mark.parametrize("addons,key,words,in_schema", [
    ({"acmeEmail": "a@b.co"}, "addons.dns", "is required: the Route 53 public zone", True),
    ({"dns": {"domain": "ml.example.com", "hostedZoneId": "Z123ABC"}}, "addons.acmeEmail", "is required", True),
    ({"dns": {"domain": "ml.example.com", "hostedZoneId": "Z123ABC"}, "acmeEmail": "me"}, "addons.acmeEmail",
     "not an email", True),
    ({"dns": {"domain": "ml.example.com", "hostedZoneId": "example"}, "acmeEmail": "a@b.co"},
     "addons.dns.hostedZoneId", "not a Route 53 hosted zone ID", True),
    ({"dns": {"domain": "not a domain", "hostedZoneId": "Z123ABC"}, "acmeEmail": "a@b.co"},
     "addons.dns.domain", "not a DNS domain", True),
    ({"dns": {"domain": "ml.example.com", "hostedZoneId": "Z123ABC"}, "acmeEmail": "a@b.co", "efs": True,
      "certManager": False}, "addons.certManager", "unknown key", True),  # it always runs now
])
def test_addon_config_is_validated(addons, key, words, in_schema):
    def change(c):
        c[f"{PROJECT}:addons"] = addons

    result = evaluate("dev", change)
    assert isinstance(result.error, ConfigError) and result.resources == []
    line = next(ln for ln in str(result.error).splitlines() if f"mlplatform:{key}:" in ln)
    assert words in line
    assert schema_rejects("dev", change) is in_schema
