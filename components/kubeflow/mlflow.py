"""MLflow: an MLflow tracking server next to Kubeflow (kubeflow.applications.mlflow), in its own namespace.

- Its runs, parameters and metrics in its own database and user on the stack's RDS (made by the data tier's
  bootstrap job; the password comes from Secrets Manager through external-secrets, Reloader restarts the server when
  it rotates).
- Its artifacts under `mlflow/` in the artifact bucket, which the server reads and writes with its own Pod Identity
  role: clients send artifacts through the server (`--serve-artifacts`), so no notebook or pipeline step needs an S3
  permission or a key for them.
- At https://<kubeflow host>/mlflow/ behind the same login as Kubeflow (the gateway's ext-authz runs before any route),
  and in the mesh at http://mlflow.mlflow.svc.cluster.local:5000/mlflow for the teams' notebooks and pipeline steps
  (team.py injects MLFLOW_TRACKING_URI with a PodDefault). Nothing else reaches it: its AuthorizationPolicy admits the
  ingress gateway and the teams' namespaces.

MLflow itself isolates nothing between teams: every signed-in user sees and edits every experiment and model, and
reads every run's artifacts through the server (docs/kubeflow.md, MLflow).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import iam, namespaces
from components.addons.external_secrets import ExternalSecrets
from components.cluster.cluster import Cluster
from components.component import Component
from components.data.artifact_store import ArtifactStore
from components.data.database import MLFLOW_DATABASE, MLFLOW_USER, PORT, Database
from components.kubeflow.platform import Platform
from components.mesh.upstream import GATEWAY_PRINCIPAL, KUBEFLOW_GATEWAY, KUBEFLOW_NAMESPACE
from components.service_account_role import ServiceAccountRole, ServiceAccountRoleArgs
from components.stack import StackContext
from components.versions import MLFLOW_IMAGE

NAMESPACE = namespaces.MLFLOW
NAME = "mlflow"
SERVICE_ACCOUNT = "mlflow"
SERVER_PORT = 5000
PATH_PREFIX = "/mlflow"  # the server's --static-prefix, and the route on the Kubeflow gateway
ARTIFACT_PREFIX = "mlflow"  # in the artifact bucket
DATABASE_SECRET = "mlflow-mysql"
SERVICE_HOST = f"{NAME}.{NAMESPACE}.svc.cluster.local"
TRACKING_URI = f"http://{SERVICE_HOST}:{SERVER_PORT}{PATH_PREFIX}"  # what the teams' pods are given
LABELS = {"app.kubernetes.io/name": NAME}


def server_args(bucket: str, hostname: str) -> list[str]:
    """`mlflow server` (MLflow 3.x, mlflow/cli): uvicorn on every interface, the database from the environment
    (MLFLOW_BACKEND_STORE_URI), artifacts proxied to S3. The security middleware answers 403 to a Host or a
    cross-origin write it does not know: the Kubeflow hostname (through the gateway), the in-mesh names, and localhost
    for the probes."""
    hosts = [hostname, f"{SERVICE_HOST}:{SERVER_PORT}", SERVICE_HOST, f"{NAME}.{NAMESPACE}:{SERVER_PORT}",
             f"{NAME}.{NAMESPACE}", f"localhost:{SERVER_PORT}", "localhost"]
    return ["server", "--host", "0.0.0.0", "--port", str(SERVER_PORT), "--workers", "2",
            "--static-prefix", PATH_PREFIX,
            "--serve-artifacts", "--artifacts-destination", f"s3://{bucket}/{ARTIFACT_PREFIX}",
            "--allowed-hosts", ",".join(hosts), "--cors-allowed-origins", f"https://{hostname}"]


@dataclass
class MlflowArgs:
    stack: StackContext
    cluster: Cluster
    platform: Platform
    database: Database
    artifacts: ArtifactStore
    secrets: ExternalSecrets
    hostname: str                # Kubeflow's, where the UI is served under /mlflow/
    team_namespaces: Sequence[str]  # whose pods may call the server


class Mlflow(Component):
    tracking_uri: str

    def __init__(self, name: str, args: MlflowArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlplatform:mlflow:Mlflow", name, opts)
        stack = args.stack
        assert args.database.mlflow_secret_name is not None, "the data tier makes MLflow's user when MLflow runs"
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAMESPACE, labels={
                **namespaces.RESTRICTED, "istio-injection": "enabled"}),
            opts=self.child(depends_on=[*args.platform.ready, *self.waits_for]))
        in_namespace = self.child(depends_on=[namespace])
        role = ServiceAccountRole(
            f"{name}-artifacts",
            ServiceAccountRoleArgs(
                cluster_name=args.cluster.name, namespace=NAMESPACE, service_account=SERVICE_ACCOUNT,
                policy=pulumi.Output.all(args.artifacts.bucket_arn, args.artifacts.key_arn).apply(
                    lambda a: iam.artifact_access(a[0], a[1], stack.region, read=[], write=[ARTIFACT_PREFIX])),
                boundary=args.cluster.role_boundary_arn),
            opts=self.child())
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account", metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=NAMESPACE),
            opts=in_namespace)
        credentials = args.secrets.sync(
            f"{name}-database-credentials", parent=self, name=DATABASE_SECRET, namespace=NAMESPACE,
            remote_key=args.database.mlflow_secret_name, keys={"password": "password"},
            rotation=args.database.credentials_version, depends_on=[namespace, *args.database.ready])
        server = self._server(name, args, in_namespace, depends_on=[account, credentials, role, *args.database.ready])
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE, labels=LABELS),
            spec=k8s.core.v1.ServiceSpecArgs(selector=LABELS, ports=[k8s.core.v1.ServicePortArgs(
                name="http", port=SERVER_PORT, target_port=SERVER_PORT, app_protocol="http")]),
            opts=in_namespace)
        k8s.apiextensions.CustomResource(
            f"{name}-route", api_version="networking.istio.io/v1", kind="VirtualService",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE),
            spec={"gateways": [f"{KUBEFLOW_NAMESPACE}/{KUBEFLOW_GATEWAY}"], "hosts": ["*"], "http": [
                {"match": [{"uri": {"exact": PATH_PREFIX}}], "redirect": {"uri": f"{PATH_PREFIX}/"}},
                {"match": [{"uri": {"prefix": f"{PATH_PREFIX}/"}}],
                 "route": [{"destination": {"host": SERVICE_HOST, "port": {"number": SERVER_PORT}}}]}]},
            opts=in_namespace)
        # The gateway (where the login has already run) and the teams' pods; nobody else in the mesh.
        k8s.apiextensions.CustomResource(
            f"{name}-callers", api_version="security.istio.io/v1", kind="AuthorizationPolicy",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE),
            spec={"selector": {"matchLabels": LABELS}, "action": "ALLOW", "rules": [
                {"from": [{"source": {"principals": [GATEWAY_PRINCIPAL]}}]},
                *([{"from": [{"source": {"namespaces": sorted(args.team_namespaces)}}]}]
                  if args.team_namespaces else [])]},
            opts=in_namespace)
        self.tracking_uri = TRACKING_URI
        self.ready = [server, service]
        self.register_outputs({})

    def _server(self, name: str, args: MlflowArgs, opts: pulumi.ResourceOptions,
                depends_on: Sequence[pulumi.Resource]) -> k8s.apps.v1.Deployment:
        database = args.database
        probe = k8s.core.v1.HTTPGetActionArgs(
            path=f"{PATH_PREFIX}/health", port=SERVER_PORT,
            http_headers=[k8s.core.v1.HTTPHeaderArgs(name="Host", value=f"localhost:{SERVER_PORT}")])
        env = [
            k8s.core.v1.EnvVarArgs(name="DB_PASSWORD", value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=DATABASE_SECRET, key="password"))),
            # Kubernetes expands $(DB_PASSWORD), defined above; the password is letters and digits only.
            k8s.core.v1.EnvVarArgs(name="MLFLOW_BACKEND_STORE_URI", value=database.address.apply(
                lambda host: f"mysql+pymysql://{MLFLOW_USER}:$(DB_PASSWORD)@{host}:{PORT}/{MLFLOW_DATABASE}")),
            k8s.core.v1.EnvVarArgs(name="AWS_DEFAULT_REGION", value=args.stack.region),
            k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp"),
            k8s.core.v1.EnvVarArgs(name="MLFLOW_DISABLE_TELEMETRY", value="true"),
        ]
        return k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAME, namespace=NAMESPACE, labels=LABELS,
                annotations={"secret.reloader.stakater.com/reload": DATABASE_SECRET}),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=LABELS),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=LABELS),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=SERVICE_ACCOUNT,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True, run_as_user=1000, run_as_group=1000, fs_group=1000,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")),
                        containers=[k8s.core.v1.ContainerArgs(
                            name="mlflow", image=MLFLOW_IMAGE, command=["mlflow"],
                            args=args.artifacts.bucket_name.apply(lambda b: server_args(b, args.hostname)),
                            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=SERVER_PORT)],
                            env=env,
                            readiness_probe=k8s.core.v1.ProbeArgs(http_get=probe, period_seconds=10),
                            liveness_probe=k8s.core.v1.ProbeArgs(http_get=probe, period_seconds=20,
                                                                 failure_threshold=6),
                            startup_probe=k8s.core.v1.ProbeArgs(http_get=probe, period_seconds=5,
                                                                failure_threshold=60),
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests={"cpu": "200m", "memory": "768Mi"}, limits={"memory": "2Gi"}),
                            security_context=k8s.core.v1.SecurityContextArgs(
                                allow_privilege_escalation=False, read_only_root_filesystem=True,
                                capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"])),
                            # Proxied uploads and downloads spool through a temporary directory.
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
                        )],
                        volumes=[k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                            size_limit="10Gi"))],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(depends_on))))
