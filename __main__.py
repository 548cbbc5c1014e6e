"""The ML platform on AWS, one stack per environment.

config -> network -> cluster (node groups, core add-ons) -> cluster add-ons -> data services -> mesh (Istio,
front door, login) -> Kubeflow -> exports.
"""

import pulumi
import pulumi_aws as aws

from components.addons.cert_manager import CertManager, CertManagerArgs
from components.addons.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.addons.external_dns import ExternalDns, ExternalDnsArgs
from components.addons.external_secrets import ExternalSecrets, ExternalSecretsArgs
from components.addons.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.addons.nvidia_device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from components.addons.storage import Storage, StorageArgs
from components.cluster.cluster import Cluster, ClusterArgs
from components.config import PROJECT, load
from components.data.artifact_store import ArtifactStore, ArtifactStoreArgs
from components.data.database import Database, DatabaseArgs
from components.data.session_cache import SessionCache, SessionCacheArgs
from components.kubeflow.katib import Katib, KatibArgs
from components.kubeflow.notebooks import Notebooks, NotebooksArgs
from components.kubeflow.pipelines import Pipelines, PipelinesArgs
from components.kubeflow.platform import KubeflowPlatform, KubeflowPlatformArgs
from components.kubeflow.serving import Serving, ServingArgs
from components.kubeflow.teams import Team, TeamArgs
from components.kubeflow.training import Trainer, TrainerArgs
from components.mesh.auth import Auth, AuthArgs
from components.mesh.front_door import FrontDoor, FrontDoorArgs
from components.mesh.istio import Istio, IstioArgs
from components.network import Network, NetworkArgs

cfg = load()  # validates everything before any resource exists

# Every AWS resource goes through this provider, so the common tags reach all of them.
aws_provider = aws.Provider(
    "aws",
    region=cfg.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags={
        **cfg.tags,
        "project": PROJECT,
        "environment": cfg.environment,
        # The one notion of production (components/config/environments.py); the policy pack reads this tag.
        "production": "true" if cfg.production else "false",
        "pulumi-stack": cfg.stack,
        "managed-by": "pulumi",
    }),
)
on_aws = pulumi.ResourceOptions(providers=[aws_provider])

network = Network("network", NetworkArgs(config=cfg.network, region=cfg.region, name_prefix=cfg.cluster.name,
                                         protect_data=cfg.production), opts=on_aws)
cluster = Cluster(
    "cluster",
    ClusterArgs(config=cfg.cluster, node_groups=cfg.node_groups, network=network, region=cfg.region,
                protect_data=cfg.production),
    opts=on_aws,
)

# Add-ons: AWS resources (roles, Pod Identity) plus Kubernetes resources on this cluster.
on_cluster = pulumi.ResourceOptions(providers=[aws_provider, cluster.provider])
addons = cfg.addons
storage = Storage("storage", StorageArgs(cluster=cluster, network=network, region=cfg.region, efs=addons.efs,
                                         protect_data=cfg.production), opts=on_cluster)
load_balancers = LoadBalancerController(
    "aws-load-balancer-controller",
    LoadBalancerControllerArgs(cluster=cluster, vpc_id=network.vpc_id, region=cfg.region), opts=on_cluster)
# The controller's webhook rejects every new Service until the controller runs, so every other chart
# (they create Services) installs after it; on destroy they go first, while it can still clean up.
after_load_balancers = on_cluster.merge(pulumi.ResourceOptions(depends_on=[load_balancers.release]))
ClusterAutoscaler("cluster-autoscaler", ClusterAutoscalerArgs(cluster=cluster, region=cfg.region),
                  opts=after_load_balancers)
secrets = ExternalSecrets("external-secrets", ExternalSecretsArgs(cluster=cluster, region=cfg.region,
                                                                  protect_data=cfg.production),
                          opts=after_load_balancers)
if any(group.gpu for group in cfg.node_groups):
    NvidiaDevicePlugin("nvidia-device-plugin", NvidiaDevicePluginArgs(cluster=cluster), opts=after_load_balancers)
certificates = CertManager("cert-manager", CertManagerArgs(
    cluster=cluster, dns=addons.dns, acme_email=addons.acme_email, region=cfg.region,
    production_issuer=cfg.production), opts=after_load_balancers)

# Data services: state that must outlive any node, or the cluster itself.
artifacts = ArtifactStore("artifacts", ArtifactStoreArgs(
    name_prefix=cfg.cluster.name, region=cfg.region, noncurrent_version_days=cfg.data.artifacts.noncurrent_version_days,
    protect_data=cfg.production), opts=on_aws)
database = Database("database", DatabaseArgs(
    name_prefix=cfg.cluster.name, cluster=cluster, network=network, config=cfg.data.database, secrets=secrets,
    region=cfg.region, protect_data=cfg.production), opts=on_cluster)
sessions = SessionCache("session-cache", SessionCacheArgs(
    name_prefix=cfg.cluster.name, cluster=cluster, network=network, config=cfg.data.cache, secrets=secrets,
    region=cfg.region, protect_data=cfg.production), opts=on_aws)

# The mesh: Istio from its charts, the HTTPS front door, Kubeflow's login.
istio = Istio("istio", IstioArgs(cluster=cluster), opts=after_load_balancers)
# external-dns publishes the front door's record; it watches Istio gateways too, so it starts once their
# CRDs exist (it exits when a source's CRDs are missing).
ExternalDns("external-dns", ExternalDnsArgs(cluster=cluster, dns=addons.dns, region=cfg.region,
                                            upsert_only=cfg.production, istio_crds=istio.crds),
            opts=after_load_balancers)
front_door = FrontDoor("front-door", FrontDoorArgs(
    cluster=cluster, istio=istio, hostname=cfg.mesh.hostname or "", load_balancer_scheme=cfg.mesh.load_balancer_scheme,
    load_balancer_controller=load_balancers.release, certificate_issuer=certificates.issuer,
    cluster_issuer_name=certificates.cluster_issuer), opts=on_cluster)
auth = Auth("auth", AuthArgs(cluster=cluster, istio=istio, config=cfg.mesh, secrets=secrets,
                             session_cache_secret=sessions.secret_name), opts=on_cluster)

# Kubeflow: the platform layer, the applications this stack runs, one profile per team.
platform = KubeflowPlatform("kubeflow", KubeflowPlatformArgs(istio=istio, login=auth.ready), opts=on_cluster)
applications = cfg.kubeflow.applications
if applications.pipelines:
    Pipelines("pipelines", PipelinesArgs(cluster=cluster, platform=platform, database=database, artifacts=artifacts,
                                         secrets=secrets, region=cfg.region), opts=on_cluster)
if applications.notebooks:
    Notebooks("notebooks", NotebooksArgs(platform=platform), opts=on_cluster)
if applications.katib:
    Katib("katib", KatibArgs(platform=platform, database=database, secrets=secrets), opts=on_cluster)
if applications.trainer:
    Trainer("trainer", TrainerArgs(platform=platform), opts=on_cluster)
if applications.kserve:
    Serving("serving", ServingArgs(platform=platform, istio=istio), opts=on_cluster)
for team in cfg.kubeflow.teams:
    Team(f"team-{team.name}", TeamArgs(config=team, cluster=cluster, platform=platform, artifacts=artifacts,
                                       region=cfg.region, pipelines=applications.pipelines), opts=on_cluster)

pulumi.export("cluster_name", cluster.name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("public_subnet_ids", network.public_subnet_ids)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("database_subnet_ids", network.database_subnet_ids)
pulumi.export("cluster_security_group_id", cluster.cluster_security_group_id)
pulumi.export("node_security_group_id", cluster.node_security_group_id)
pulumi.export("efs_file_system_id", storage.efs_file_system_id)
pulumi.export("artifact_bucket", artifacts.bucket_name)
pulumi.export("database_endpoint", database.address)
pulumi.export("database_port", database.port)
pulumi.export("session_cache_endpoint", sessions.address)
pulumi.export("kubeflow_url", front_door.url)
# The first admin's login (pulumi stack output kubeflow_admin --show-secrets).
pulumi.export("kubeflow_admin", pulumi.Output.secret({"email": auth.admin_email, "password": auth.admin_password}))
# Names of the Secrets Manager secrets holding credentials (never the values).
pulumi.export("credential_secrets", {"database_admin": database.admin_secret_arn,
                                     "kubeflow_mysql": database.kubeflow_secret_name,
                                     "katib_mysql": database.katib_secret_name,
                                     "session_cache": sessions.secret_name})
