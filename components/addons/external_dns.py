"""ExternalDns: publishes DNS records for Services, Ingresses and Istio gateways in one Route 53 zone."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components import iam, namespaces
from components.addons.controller import controller_chart
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import DnsConfig
from components.stack import StackContext
from components.versions import EXTERNAL_DNS

NAMESPACE = namespaces.EXTERNAL_DNS
SERVICE_ACCOUNT = "external-dns"
SOURCES = ["service", "ingress"]
# external-dns 0.21 exits (and publishes nothing) when a source's CRDs are missing after 60 s
# (controller/execute.go), so the Istio sources are on only once Istio's CRDs exist.
ISTIO_SOURCES = ["istio-gateway", "istio-virtualservice"]


@dataclass
class ExternalDnsArgs:
    stack: StackContext  # production never deletes records it did not create in this run's view (upsert-only)
    cluster: Cluster
    dns: DnsConfig
    # Istio's CRDs (its `base` chart), when Istio is installed: external-dns then also watches Istio
    # Gateways and VirtualServices, and starts after the CRDs exist.
    istio_crds: pulumi.Resource | None = None


class ExternalDns(Component):
    def __init__(self, name: str, args: ExternalDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:external_dns:ExternalDns", name, opts)
        cluster, dns = args.cluster, args.dns
        _, release = controller_chart(
            self, name, cluster=cluster, chart=EXTERNAL_DNS, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
            policy=iam.external_dns(dns.hosted_zone_id),
            values={
                "provider": {"name": "aws"},
                "env": [{"name": "AWS_DEFAULT_REGION", "value": args.stack.region}],
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "sources": SOURCES + (ISTIO_SOURCES if args.istio_crds else []),
                "domainFilters": [dns.domain],
                "extraArgs": [f"--zone-id-filter={dns.hosted_zone_id}"],
                "policy": "upsert-only" if args.stack.production else "sync",
                "registry": "txt",
                # Records this cluster owns are marked with its name, so two clusters can share a zone.
                "txtOwnerId": cluster.name,
                # A TXT record cannot share a name with a CNAME; the prefix keeps ownership records apart.
                "txtPrefix": "extdns-",
            },
            depends_on=[args.istio_crds] if args.istio_crds else [])
        self.ready = [release]
        self.register_outputs({})
