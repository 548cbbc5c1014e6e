"""Cluster add-ons: one controller per module, each on its own Pod Identity role; `install()` installs them.

external-dns is an add-on too, but it watches Istio's gateways: the mesh tier starts it once Istio's CRDs exist
(mesh.install).
"""

from __future__ import annotations

from dataclasses import dataclass

from components.addons import cert_manager, external_secrets, load_balancer_controller, metrics_server
from components.addons.cert_manager import CertManager, CertManagerArgs
from components.addons.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from components.addons.external_secrets import ExternalSecrets, ExternalSecretsArgs
from components.addons.load_balancer_controller import LoadBalancerController, LoadBalancerControllerArgs
from components.addons.metrics_server import MetricsServer, MetricsServerArgs
from components.addons.nvidia_device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from components.addons.reloader import Reloader, ReloaderArgs
from components.addons.storage import Storage, StorageArgs
from components.cluster.cluster import Cluster
from components.config import AddonsConfig, NodeGroupConfig
from components.network import Network
from components.stack import StackContext

# What the control plane calls on the nodes for the add-ons (the cluster's security groups open these ports).
WEBHOOKS = (*load_balancer_controller.WEBHOOKS, *cert_manager.WEBHOOKS, *external_secrets.WEBHOOKS,
            *metrics_server.WEBHOOKS)


@dataclass(frozen=True)
class Addons:
    storage: Storage
    load_balancers: LoadBalancerController
    autoscaler: ClusterAutoscaler
    secrets: ExternalSecrets
    certificates: CertManager
    metrics: MetricsServer
    reloader: Reloader
    gpus: NvidiaDevicePlugin | None  # when a node group has GPUs


def install(stack: StackContext, config: AddonsConfig, node_groups: tuple[NodeGroupConfig, ...], cluster: Cluster,
           network: Network) -> Addons:
    storage = Storage("storage", StorageArgs(stack, config, cluster, network), opts=stack.on_cluster())
    load_balancers = LoadBalancerController(
        "aws-load-balancer-controller", LoadBalancerControllerArgs(stack, cluster, network.vpc_id),
        opts=stack.on_cluster())
    # Every other chart creates Services, which the controller's webhook rejects until it runs; on destroy they go
    # first, while it can still remove their load balancers.
    after_load_balancers = stack.on_cluster(depends_on=load_balancers.ready)
    autoscaler = ClusterAutoscaler("cluster-autoscaler", ClusterAutoscalerArgs(stack, cluster),
                                   opts=after_load_balancers)
    secrets = ExternalSecrets("external-secrets", ExternalSecretsArgs(stack, cluster), opts=after_load_balancers)
    gpus = None
    if any(group.gpu for group in node_groups):
        gpus = NvidiaDevicePlugin("nvidia-device-plugin", NvidiaDevicePluginArgs(cluster), opts=after_load_balancers)
    certificates = CertManager("cert-manager", CertManagerArgs(stack, cluster, config.dns, config.acme_email),
                               opts=after_load_balancers)
    metrics = MetricsServer("metrics-server", MetricsServerArgs(cluster), opts=stack.on_cluster())
    reloader = Reloader("reloader", ReloaderArgs(cluster), opts=after_load_balancers)
    return Addons(storage, load_balancers, autoscaler, secrets, certificates, metrics, reloader, gpus)
