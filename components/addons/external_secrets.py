"""ExternalSecrets: syncs this cluster's secrets from AWS Secrets Manager into Kubernetes Secrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import iam, namespaces
from components.addons.controller import controller_chart
from components.addons.secret_store import secret_name_prefix
from components.cluster.cluster import Cluster, Webhook
from components.component import Component
from components.kms import account_id, customer_key
from components.stack import StackContext
from components.versions import EXTERNAL_SECRETS

NAMESPACE = namespaces.EXTERNAL_SECRETS
SERVICE_ACCOUNT = "external-secrets"
CLUSTER_SECRET_STORE = "aws-secrets-manager"
# A changed value makes external-secrets refresh an ExternalSecret at once (external-secrets@v2.9.0
# docs/api/externalsecret.md, "kubectl annotate es my-es force-sync=$(date +%s) --overwrite").
FORCE_SYNC = "force-sync"
WEBHOOKS = (Webhook(10250, "external-secrets webhook"),)  # the chart's default, the kubelet's port


def cluster_secret_arns(cluster_arn: str, cluster_name: str) -> str:
    partition, _, region, account = cluster_arn.split(":")[1:5]
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secret_name_prefix(cluster_name)}*"


@dataclass
class ExternalSecretsArgs:
    stack: StackContext  # production keeps the key that encrypts every secret
    cluster: Cluster


class ExternalSecrets(Component):
    """`ready`: the ClusterSecretStore every ExternalSecret names (`sync` makes one wait for it)."""
    cluster_secret_store: str
    key_arn: pulumi.Output[str]  # the customer key every Secrets Manager secret of this stack is encrypted with

    def __init__(self, name: str, args: ExternalSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:external_secrets:ExternalSecrets", name, opts)
        cluster = args.cluster
        role, release = controller_chart(
            self, name, cluster=cluster, chart=EXTERNAL_SECRETS, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
            policy=pulumi.Output.all(cluster.arn, cluster.name).apply(
                lambda a: iam.external_secrets_reader(cluster_secret_arns(a[0], a[1]))),
            values={"installCRDs": True, "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                    "webhook": {"port": WEBHOOKS[0].port}})
        via_secrets_manager = args.stack.regional("secretsmanager")
        # Secrets are written by the deployer (and RDS, for the database's master secret) through Secrets
        # Manager, and read in the cluster by external-secrets' role only.
        key = customer_key(
            f"{name}-key", parent=self, protect=args.stack.production,
            description="Secrets Manager secrets of the ML platform",
            alias=cluster.name.apply(lambda n: f"alias/{n}-secrets-manager"),
            usage=pulumi.Output.all(account_id(self), role.role_arn).apply(lambda a: [
                iam.key_use_via_service("WriteThroughSecretsManager", a[0], via_secrets_manager, grants=False),
                iam.key_use_by_role("ExternalSecretsReads", a[1], ["kms:Decrypt", "kms:DescribeKey"],
                                    via_service=via_secrets_manager),
            ]))
        store = k8s.apiextensions.CustomResource(
            f"{name}-store",
            api_version="external-secrets.io/v1",
            kind="ClusterSecretStore",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLUSTER_SECRET_STORE),
            # No `auth`: the controller's own Pod Identity credentials are used. A jwt auth block would
            # ask for IRSA tokens, which Pod Identity does not issue (external-secrets#2951).
            spec={"provider": {"aws": {"service": "SecretsManager", "region": args.stack.region}}},
            opts=self.child(depends_on=[release]),
        )
        self.ready = [store]
        self.cluster_secret_store = CLUSTER_SECRET_STORE
        self.key_arn = key.arn
        self._role = role
        self.register_outputs({"key_arn": self.key_arn})

    def sync(self, resource_name: str, *, parent: pulumi.Resource, name: str, namespace: str,
             remote_key: pulumi.Input[str], keys: Mapping[str, str], literals: Mapping[str, str] | None = None,
             rotation: int | None = None,
             depends_on: Sequence[pulumi.Resource] = ()) -> k8s.apiextensions.CustomResource:
        """Keep the Kubernetes Secret <namespace>/<name> equal to one Secrets Manager secret: `keys` maps each key
        of the Secret to a property of the remote (JSON) secret; `literals` are added as they are.

        `rotation`: the remote value's credentials version. A new one re-syncs the Secret at once (external-secrets'
        force-sync annotation) instead of within the hour, once `depends_on` (what applies the new value) is done."""
        target: dict[str, Any] = {"name": name, "creationPolicy": "Owner"}
        if literals:
            target["template"] = {"engineVersion": "v2", "mergePolicy": "Merge", "data": dict(literals)}
        return k8s.apiextensions.CustomResource(
            resource_name,
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=namespace,
                annotations={FORCE_SYNC: f"credentials-v{rotation}"} if rotation is not None else None),
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": self.cluster_secret_store},
                "target": target,
                "data": [{"secretKey": key, "remoteRef": {"key": remote_key, "property": prop}}
                         for key, prop in keys.items()],
            },
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[*self.ready, *depends_on]))

    def grant_read(self, resource_name: str, *, parent: pulumi.Resource,
                   secret_arn: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Let external-secrets read one more secret by its exact ARN: one a service names itself, outside
        the <cluster>/ prefix (e.g. the RDS master secret). Depend on the result before syncing it."""
        return aws.iam.RolePolicy(
            resource_name, role=self._role.role_name,
            policy=iam.to_json(pulumi.Output.from_input(secret_arn).apply(iam.external_secrets_reader)),
            opts=pulumi.ResourceOptions(parent=parent))
