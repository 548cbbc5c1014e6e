"""ExternalDns: publishes DNS records for Services, Ingresses and Istio gateways in one Route 53 zone."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import iam
from components.cluster.cluster import Cluster
from components.config import DnsConfig
from components.helm import helm_release
from components.options import dependencies
from components.pod_identity import ServiceAccountRole, ServiceAccountRoleArgs
from components.versions import EXTERNAL_DNS

NAMESPACE = "external-dns"
SERVICE_ACCOUNT = "external-dns"
SOURCES = ["service", "ingress"]
# external-dns 0.21 exits (and publishes nothing) when a source's CRDs are missing after 60 s
# (controller/execute.go), so the Istio sources are on only once Istio's CRDs exist.
ISTIO_SOURCES = ["istio-gateway", "istio-virtualservice"]


@dataclass
class ExternalDnsArgs:
    cluster: Cluster
    dns: DnsConfig
    region: str
    # prod never deletes records it did not create in this run's view (upsert-only); dev cleans up.
    upsert_only: bool
    # Istio's CRDs (its `base` chart), when Istio is installed: external-dns then also watches Istio
    # Gateways and VirtualServices, and starts after the CRDs exist.
    istio_crds: pulumi.Resource | None = None


class ExternalDns(pulumi.ComponentResource):
    def __init__(self, name: str, args: ExternalDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:external_dns:ExternalDns", name, None, opts)
        cluster, dns = args.cluster, args.dns
        role = ServiceAccountRole(
            name,
            ServiceAccountRoleArgs(cluster_name=cluster.name, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
                                   policy=iam.external_dns(dns.hosted_zone_id)),
            opts=pulumi.ResourceOptions(parent=self))
        helm_release(
            f"{name}-chart", parent=self, chart=EXTERNAL_DNS, namespace=NAMESPACE,
            values={
                "provider": {"name": "aws"},
                "env": [{"name": "AWS_DEFAULT_REGION", "value": args.region}],
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "sources": SOURCES + (ISTIO_SOURCES if args.istio_crds else []),
                "domainFilters": [dns.domain],
                "extraArgs": [f"--zone-id-filter={dns.hosted_zone_id}"],
                "policy": "upsert-only" if args.upsert_only else "sync",
                "registry": "txt",
                # Records this cluster owns are marked with its name, so two clusters can share a zone.
                "txtOwnerId": cluster.name,
                # A TXT record cannot share a name with a CNAME; the prefix keeps ownership records apart.
                "txtPrefix": "extdns-",
            },
            depends_on=[*cluster.ready, *role.ready, *dependencies(opts),
                        *([args.istio_crds] if args.istio_crds else [])])
        self.register_outputs({})
