"""FrontDoor: the ingress gateway behind a network load balancer, its DNS name and its certificate.

    browser --HTTPS--> NLB (TCP 443, IP targets) --> istio-ingressgateway pods (TLS ends here, certificate
    from cert-manager) --> kubeflow-gateway routes --> apps

TLS ends at the gateway with a Let's Encrypt certificate cert-manager renews (DNS-01 in the stack's zone),
rather than at the NLB with ACM: Istio then sees the HTTPS request itself (the port-80 server redirects to
it), the same certificate works for an internal load balancer, and there is nothing to renew by hand. The
DNS record comes from external-dns, which reads the hostname annotation on the gateway's Service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.addons.cert_manager import CertManager
from components.addons.load_balancer_controller import LoadBalancerController
from components.cluster.cluster import Cluster
from components.component import Component
from components.config import MeshConfig
from components.helm import helm_release
from components.mesh import upstream
from components.mesh.istio import RUNTIME_DEFAULT, Istio
from components.versions import ISTIO_GATEWAY

# The Secret the certificate is written to, in the gateway's namespace; Kubeflow's gateway serves HTTPS with
# it (components/kubeflow/overlays/platform).
TLS_SECRET = "kubeflow-gateway-tls"
STATUS_PORT = 15021
LB = "service.beta.kubernetes.io/aws-load-balancer-"


def load_balancer_name(cluster_name: str) -> str:
    """The NLB's name (at most 32 characters; a cluster name is at most 28): set once, at creation, through the
    Service's annotation, so the alarms can find the load balancer the controller makes."""
    return f"{cluster_name}-gw"


def gateway_values(hostname: str, scheme: str, nlb_name: str) -> dict[str, Any]:
    """The gateway chart's values: Kubeflow's gateway identity (its policies select these exact labels and
    allow this exact service account) behind an NLB the load balancer controller creates."""
    return {
        "name": upstream.GATEWAY_NAME,
        "labels": dict(upstream.GATEWAY_LABELS),
        "serviceAccount": {"create": True, "name": upstream.GATEWAY_SERVICE_ACCOUNT},
        "service": {
            "type": "LoadBalancer",
            "annotations": {
                # The load balancer controller's NLB (not the legacy in-tree one), straight to the pods' IPs.
                f"{LB}type": "external",
                f"{LB}nlb-target-type": "ip",
                f"{LB}scheme": scheme,
                f"{LB}name": nlb_name,
                # Healthy means the gateway is ready, not merely that its port is open.
                f"{LB}healthcheck-protocol": "http",
                f"{LB}healthcheck-port": str(STATUS_PORT),
                f"{LB}healthcheck-path": "/healthz/ready",
                "external-dns.alpha.kubernetes.io/hostname": hostname,
            },
            # As Kubeflow's gateway Service: unprivileged container ports behind 80 and 443.
            "ports": [{"name": "status-port", "port": STATUS_PORT, "protocol": "TCP", "targetPort": STATUS_PORT},
                      {"name": "http2", "port": 80, "protocol": "TCP", "targetPort": 8080},
                      {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 8443}],
        },
        # Setting securityContext replaces the chart's default, so its sysctl is restated.
        "securityContext": {"seccompProfile": RUNTIME_DEFAULT,
                            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]},
        # Two replicas at least, so a node drain or a Spot interruption never takes the front door down.
        "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5},
        "podDisruptionBudget": {"minAvailable": 1},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}},
    }


@dataclass
class FrontDoorArgs:
    cluster: Cluster
    istio: Istio
    config: MeshConfig  # the hostname (resolved by config validation) and the load balancer's scheme
    cluster_name: str   # the configured name, which names the NLB
    load_balancers: LoadBalancerController  # it creates (and on destroy, deletes) the NLB
    certificates: CertManager               # its ClusterIssuer signs the gateway's certificate


class FrontDoor(Component):
    """`ready`: the gateway's release (its Service, its NLB)."""
    url: str
    hostname: str
    load_balancer_name: str

    def __init__(self, name: str, args: FrontDoorArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:front_door:FrontDoor", name, opts)
        hostname = args.config.hostname
        assert hostname, "config validation resolves the hostname"
        self.load_balancer_name = load_balancer_name(args.cluster_name)
        # After istiod (the gateway's pods are injected) and after the load balancer controller, so that
        # `pulumi destroy` removes the Service, and with it the NLB, while the controller still runs.
        gateway = helm_release(
            f"{name}-gateway", parent=self, chart=ISTIO_GATEWAY, release_name=upstream.GATEWAY_NAME,
            namespace=upstream.GATEWAY_NAMESPACE, create_namespace=False,
            values=gateway_values(hostname, args.config.load_balancer_scheme, self.load_balancer_name),
            depends_on=[args.istio.namespace, *args.istio.ready, *args.load_balancers.ready, *self.waits_for])
        k8s.apiextensions.CustomResource(
            f"{name}-certificate",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=TLS_SECRET, namespace=upstream.GATEWAY_NAMESPACE),
            spec={
                "secretName": TLS_SECRET,
                "dnsNames": [hostname],
                "issuerRef": {"kind": "ClusterIssuer", "name": args.certificates.cluster_issuer},
                # A fresh key at each renewal (every ~60 days).
                "privateKey": {"rotationPolicy": "Always", "algorithm": "ECDSA", "size": 256},
            },
            opts=self.child(depends_on=[*args.certificates.ready, args.istio.namespace]))
        self.ready = [gateway]
        self.hostname = hostname
        self.url = f"https://{hostname}/"
        self.register_outputs({"url": self.url})
