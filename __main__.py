"""The ML platform on AWS, one stack per environment:

    config -> network -> cluster (node groups, core add-ons) -> cluster add-ons (storage incl. FSx)
           -> data services (RDS, S3, ElastiCache, the package index) -> mesh (Istio, front door, login)
           -> Kubeflow (platform, applications incl. MLflow, teams)
           -> observability (Container Insights, alarms, dashboard) -> outputs
"""

import pulumi

from components import addons, data, kubeflow, mesh, observability
from components.cluster.cluster import Cluster, ClusterArgs
from components.config import load
from components.network import Network, NetworkArgs
from components.stack import StackContext

cfg = load()                      # validates everything before any resource exists
stack = StackContext.create(cfg)  # region, names, production and the tagged AWS provider, for every tier
# The control plane reaches the nodes only on the ports of the webhooks the tiers declare they run there.
webhooks = [*addons.WEBHOOKS, *mesh.WEBHOOKS, *kubeflow.WEBHOOKS]

network = Network("network", NetworkArgs(stack, cfg.network), opts=stack.on_aws())
cluster = Cluster("cluster", ClusterArgs(stack, cfg.cluster, cfg.node_groups, network, webhooks), opts=stack.on_aws())
stack = stack.with_kubernetes(cluster.provider)
cluster_addons = addons.install(stack, cfg.addons, cfg.node_groups, cluster, network)
data_services = data.create(stack, cfg.data, cluster, network, cluster_addons.secrets,
                            mlflow=cfg.kubeflow.applications.mlflow)
service_mesh = mesh.install(stack, cfg.mesh, cfg.addons.dns, cluster, cluster_addons, data_services.sessions)
ml_platform = kubeflow.install(stack, cfg.kubeflow, cluster, cluster_addons, data_services, service_mesh)
watch = observability.install(stack, cfg.observability, cfg.node_groups, cluster, data_services, service_mesh)

pulumi.export("cluster_name", cluster.name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("public_subnet_ids", network.public_subnet_ids)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("database_subnet_ids", network.database_subnet_ids)
pulumi.export("cluster_security_group_id", cluster.cluster_security_group_id)
pulumi.export("node_security_group_id", cluster.node_security_group_id)
pulumi.export("efs_file_system_id", cluster_addons.storage.efs_file_system_id)
pulumi.export("artifact_bucket", data_services.artifacts.bucket_name)
pulumi.export("database_endpoint", data_services.database.address)
pulumi.export("database_port", data_services.database.port)
pulumi.export("session_cache_endpoint", data_services.sessions.address)
pulumi.export("kubeflow_url", service_mesh.front_door.url)
pulumi.export("alarm_topic_arn", watch.alarms.topic_arn)
pulumi.export("dashboard_url", watch.dashboard.url)
# What `make verify` checks the deployed stack against (verify/).
pulumi.export("teams", [team.name for team in cfg.kubeflow.teams])
pulumi.export("applications", sorted(ml_platform.applications))
pulumi.export("production", stack.production)
# The notebook images the form offers, as the nodes pull them: what an image cache holds (docs/kubeflow.md).
pulumi.export("notebook_images", ml_platform.notebook_images)
# The first admin's login (pulumi stack output kubeflow_admin --show-secrets).
pulumi.export("kubeflow_admin", pulumi.Output.secret({"email": service_mesh.auth.admin_email,
                                                      "password": service_mesh.auth.admin_password}))
# Names of the Secrets Manager secrets holding credentials (never the values).
pulumi.export("credential_secrets", {"database_admin": data_services.database.admin_secret_arn,
                                     "kubeflow_mysql": data_services.database.kubeflow_secret_name,
                                     "katib_mysql": data_services.database.katib_secret_name,
                                     "session_cache": data_services.sessions.secret_name})
