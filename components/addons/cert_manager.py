"""CertManager: cert-manager with a Let's Encrypt ClusterIssuer solving DNS-01 in Route 53."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import iam, namespaces
from components.addons.controller import controller_chart
from components.cluster.cluster import Cluster, Webhook
from components.component import Component
from components.config import DnsConfig
from components.stack import StackContext
from components.versions import CERT_MANAGER

NAMESPACE = namespaces.CERT_MANAGER
SERVICE_ACCOUNT = "cert-manager"
CLUSTER_ISSUER = "letsencrypt"
# The kubelet's port, as the chart's default: a port the control plane reaches on nodes anyway.
WEBHOOKS = (Webhook(10250, "cert-manager webhook"),)
LETSENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
# Staging certificates are not trusted by browsers but have far higher rate limits: right for a stack that is not
# production, which is rebuilt often.
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


@dataclass
class CertManagerArgs:
    stack: StackContext  # production: trusted certificates
    cluster: Cluster
    dns: DnsConfig
    acme_email: str


class CertManager(Component):
    """`ready`: the ClusterIssuer, which a Certificate names (it exists once the chart's CRDs and webhook do)."""
    cluster_issuer: str

    def __init__(self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cert_manager:CertManager", name, opts)
        dns = args.dns
        _, release = controller_chart(
            self, name, cluster=args.cluster, chart=CERT_MANAGER, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
            policy=iam.cert_manager_dns01(dns.hosted_zone_id),
            values={
                # CRDs survive an uninstall (keep), so removing the chart never deletes certificates.
                "crds": {"enabled": True, "keep": True},
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "webhook": {"securePort": WEBHOOKS[0].port},
                "replicaCount": 2,
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            })
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLUSTER_ISSUER),
            spec={"acme": {
                "server": LETSENCRYPT_PRODUCTION if args.stack.production else LETSENCRYPT_STAGING,
                "email": args.acme_email,
                "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-account-key"},
                "solvers": [{
                    "selector": {"dnsZones": [dns.domain]},
                    # No role or keys: cert-manager uses its Pod Identity credentials (ambient, allowed
                    # for ClusterIssuers by default).
                    "dns01": {"route53": {"region": args.stack.region, "hostedZoneID": dns.hosted_zone_id}},
                }],
            }},
            # The ClusterIssuer kind exists only once the chart has installed its CRDs and webhook.
            opts=self.child(depends_on=[release]),
        )
        self.cluster_issuer = CLUSTER_ISSUER
        self.ready = [issuer]
        self.register_outputs({})
