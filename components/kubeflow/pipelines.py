"""Pipelines: Kubeflow Pipelines on the stack's RDS and S3, with no access key anywhere.

The overlay (overlays/pipelines) removes upstream's in-cluster MySQL and SeaweedFS and points every component at
objects created here: the database endpoint and bucket (ConfigMap kfp-aws-config), the database user (Secret
mysql-secret, from Secrets Manager through external-secrets). The API server and the UI reach S3 through the AWS
default credential chain, i.e. EKS Pod Identity: the API server may read and write pipeline definitions and read
every namespace's artifacts, the UI may read artifacts, and serves each user only the artifacts of the namespaces
they may read (the KFP 2.17.0 UI server, overlays/pipelines section 9). Each team's runs get their own role
(team.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import iam
from components.addons.external_secrets import ExternalSecrets
from components.cluster.cluster import Cluster, Webhook
from components.component import Component
from components.data.artifact_store import ArtifactStore
from components.data.database import Database
from components.kubeflow import upstream
from components.kubeflow.platform import Platform
from components.mesh.upstream import KUBEFLOW_NAMESPACE
from components.overlay import overlay
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.stack import StackContext

OVERLAY = Path(__file__).parent / "overlays" / "pipelines"
AWS_CONFIG = "kfp-aws-config"   # the overlay points the Deployments at these names
DATABASE_SECRET = "mysql-secret"
UI_PROXY_SIGNING_SECRET = "ml-pipeline-ui-proxy-signing"  # key `secret`: the UI signs TensorBoard proxy links
# applications/pipeline/upstream/base/cache/cache-deployment.yaml: WEBHOOK_PORT 8443.
WEBHOOKS = (Webhook(8443, "KFP cache server webhook"),)


@dataclass
class PipelinesArgs:
    stack: StackContext
    cluster: Cluster
    platform: Platform
    database: Database
    artifacts: ArtifactStore
    secrets: ExternalSecrets


class Pipelines(Component):
    def __init__(self, name: str, args: PipelinesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:pipelines:Pipelines", name, opts)
        bucket, key, stack = args.artifacts.bucket_arn, args.artifacts.key_arn, args.stack
        region = stack.region
        after_platform = self.child(depends_on=[*args.platform.ready, *self.waits_for])
        config = k8s.core.v1.ConfigMap(
            f"{name}-aws-config", metadata=k8s.meta.v1.ObjectMetaArgs(name=AWS_CONFIG, namespace=KUBEFLOW_NAMESPACE),
            data={"dbHost": args.database.address, "dbPort": str(args.database.port),
                  "bucketName": args.artifacts.bucket_name, "region": region, "s3Endpoint": stack.regional("s3")},
            opts=after_platform)
        credentials = args.secrets.sync(
            f"{name}-database-credentials", parent=self, name=DATABASE_SECRET, namespace=KUBEFLOW_NAMESPACE,
            remote_key=args.database.kubeflow_secret_name, keys={"username": "username", "password": "password"},
            rotation=args.database.credentials_version, depends_on=[*args.platform.ready, *args.database.ready])
        signing_key = random.RandomPassword(f"{name}-ui-proxy-signing", length=48, special=False,
                                            opts=self.child())
        signing = k8s.core.v1.Secret(
            f"{name}-ui-proxy-signing",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=UI_PROXY_SIGNING_SECRET, namespace=KUBEFLOW_NAMESPACE),
            string_data={"secret": signing_key.result}, opts=after_platform)
        roles = [
            ServiceAccountRole(
                f"{name}-api-server",
                ServiceAccountRoleArgs(
                    cluster_name=args.cluster.name, namespace=upstream.PIPELINE_API_SERVER[0],
                    service_account=upstream.PIPELINE_API_SERVER[1],
                    policy=pulumi.Output.all(bucket, key).apply(lambda a: iam.artifact_access(
                        a[0], a[1], region, read=[upstream.ARTIFACT_PREFIX],
                        write=[upstream.PIPELINE_DEFINITIONS_PREFIX], list_bucket=True)),
                    boundary=args.cluster.role_boundary_arn),
                opts=self.child()),
            ServiceAccountRole(
                f"{name}-ui",
                ServiceAccountRoleArgs(
                    cluster_name=args.cluster.name, namespace=upstream.PIPELINE_UI[0],
                    service_account=upstream.PIPELINE_UI[1],
                    policy=pulumi.Output.all(bucket, key).apply(lambda a: iam.artifact_access(
                        a[0], a[1], region, read=[upstream.ARTIFACT_PREFIX], write=[])),
                    boundary=args.cluster.role_boundary_arn),
                opts=self.child()),
        ]
        # The associations exist before the pods start: Pod Identity is injected only at pod creation.
        self.ready = [overlay(f"{name}-pipelines", parent=self, path=OVERLAY,
                              depends_on=[*args.platform.ready, config, credentials, signing,
                                          *[r for role in roles for r in role.ready]])]
        self.register_outputs({})
