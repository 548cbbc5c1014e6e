"""The mesh: Istio from its Helm charts, the HTTPS front door and Kubeflow's login (Dex + oauth2-proxy); `install()`
installs them, with external-dns, which publishes the front door's name."""

from __future__ import annotations

from dataclasses import dataclass

from components.addons import Addons
from components.addons.external_dns import ExternalDns, ExternalDnsArgs
from components.cluster.cluster import Cluster
from components.config import DnsConfig, MeshConfig
from components.data.session_cache import SessionCache
from components.mesh import istio as istio_charts
from components.mesh.auth import Auth, AuthArgs
from components.mesh.front_door import FrontDoor, FrontDoorArgs
from components.mesh.istio import Istio, IstioArgs
from components.stack import StackContext

WEBHOOKS = istio_charts.WEBHOOKS  # what the control plane calls on the nodes for the mesh


@dataclass(frozen=True)
class Mesh:
    istio: Istio
    dns: ExternalDns
    front_door: FrontDoor
    auth: Auth


def install(stack: StackContext, config: MeshConfig, dns: DnsConfig, cluster: Cluster, addons: Addons,
         sessions: SessionCache) -> Mesh:
    after_load_balancers = stack.on_cluster(depends_on=addons.load_balancers.ready)
    istio = Istio("istio", IstioArgs(cluster, config.istiod_replicas), opts=after_load_balancers)
    # external-dns publishes the front door's record. It watches Istio's gateways too, so it starts once their CRDs
    # exist: it exits when a source's CRDs are missing.
    records = ExternalDns("external-dns", ExternalDnsArgs(stack, cluster, dns, istio_crds=istio.crds),
                          opts=after_load_balancers)
    front_door = FrontDoor("front-door", FrontDoorArgs(cluster, istio, config, stack.name_prefix,
                                                       addons.load_balancers, addons.certificates),
                           opts=stack.on_cluster())
    auth = Auth("auth", AuthArgs(cluster, istio, config, addons.secrets, sessions), opts=stack.on_cluster())
    return Mesh(istio, records, front_door, auth)
