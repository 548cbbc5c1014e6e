"""The ML platform on AWS, one stack per environment.

config -> network -> cluster (node groups, core add-ons) -> exports.
"""

import pulumi
import pulumi_aws as aws

from components.cluster import Cluster, ClusterArgs
from components.config import PROJECT, load
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
        "pulumi-stack": cfg.stack,
        "managed-by": "pulumi",
    }),
)
on_aws = pulumi.ResourceOptions(providers=[aws_provider])

network = Network("network", NetworkArgs(config=cfg.network, region=cfg.region), opts=on_aws)
cluster = Cluster(
    "cluster",
    ClusterArgs(config=cfg.cluster, network=network, region=cfg.region, protect_data=cfg.is_prod),
    opts=on_aws,
)

pulumi.export("cluster_name", cluster.name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("public_subnet_ids", network.public_subnet_ids)
pulumi.export("private_subnet_ids", network.private_subnet_ids)
pulumi.export("database_subnet_ids", network.database_subnet_ids)
pulumi.export("cluster_security_group_id", cluster.cluster_security_group_id)
pulumi.export("node_security_group_id", cluster.node_security_group_id)
