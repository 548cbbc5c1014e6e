"""CertManager: cert-manager with a Let's Encrypt ClusterIssuer solving DNS-01 in Route 53."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import iam
from components.cluster.cluster import Cluster
from components.config import DnsConfig
from components.helm import helm_release
from components.options import dependencies
from components.pod_identity import ServiceAccountRole, ServiceAccountRoleArgs
from components.versions import CERT_MANAGER

NAMESPACE = "cert-manager"
SERVICE_ACCOUNT = "cert-manager"
CLUSTER_ISSUER = "letsencrypt"
WEBHOOK_PORT = 10250
LETSENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
# Staging certificates are not trusted by browsers but have far higher rate limits: right for dev.
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


@dataclass
class CertManagerArgs:
    cluster: Cluster
    dns: DnsConfig
    acme_email: str
    region: str
    production_issuer: bool


class CertManager(pulumi.ComponentResource):
    cluster_issuer: str
    issuer: pulumi.Resource  # what a Certificate must depend on (the ClusterIssuer, after the CRDs)

    def __init__(self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:cert_manager:CertManager", name, None, opts)
        cluster, dns = args.cluster, args.dns
        role = ServiceAccountRole(
            name,
            ServiceAccountRoleArgs(cluster_name=cluster.name, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
                                   policy=iam.cert_manager_dns01(dns.hosted_zone_id)),
            opts=pulumi.ResourceOptions(parent=self))
        release = helm_release(
            f"{name}-chart", parent=self, chart=CERT_MANAGER, namespace=NAMESPACE,
            values={
                # CRDs survive an uninstall (keep), so removing the chart never deletes certificates.
                "crds": {"enabled": True, "keep": True},
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "replicaCount": 2,
                "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
            },
            depends_on=[*cluster.ready, *role.ready, *dependencies(opts)])

        self.issuer = k8s.apiextensions.CustomResource(
            f"{name}-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CLUSTER_ISSUER),
            spec={"acme": {
                "server": LETSENCRYPT_PRODUCTION if args.production_issuer else LETSENCRYPT_STAGING,
                "email": args.acme_email,
                "privateKeySecretRef": {"name": f"{CLUSTER_ISSUER}-account-key"},
                "solvers": [{
                    "selector": {"dnsZones": [dns.domain]},
                    # No role or keys: cert-manager uses its Pod Identity credentials (ambient, allowed
                    # for ClusterIssuers by default).
                    "dns01": {"route53": {"region": args.region, "hostedZoneID": dns.hosted_zone_id}},
                }],
            }},
            # The ClusterIssuer kind exists only once the chart has installed its CRDs and webhook.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),
        )
        self.cluster_issuer = CLUSTER_ISSUER
        self.register_outputs({})
