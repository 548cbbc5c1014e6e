"""The ports of checks.py on a live stack: the Kubernetes client (the stack's kubeconfig, which runs
`aws eks get-token` as the caller), HTTPS from this machine, S3 and the Pipelines SDK with the caller's own AWS
credentials. Nothing here holds a key. Its packages (requirements-verify.txt) live in their own virtualenv: kfp needs
a newer protobuf than Pulumi's SDK.
"""

from __future__ import annotations

import datetime
import http.client
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path

from verify.checks import Certificate, PodOutcome, Response, RunOutcome, Workload

VERIFY_LABEL = {"app.kubernetes.io/managed-by": "mlplatform-verify"}


class LiveKube:
    def __init__(self, kubeconfig: dict):
        from kubernetes import client, config
        config.load_kube_config_from_dict(kubeconfig)
        self.core, self.apps, self.client = client.CoreV1Api(), client.AppsV1Api(), client

    def workloads(self, namespaces: Sequence[str]) -> list[Workload]:
        present = {n.metadata.name for n in self.core.list_namespace().items}
        found = []
        for ns in (n for n in namespaces if n in present):
            for d in self.apps.list_namespaced_deployment(ns).items:
                found.append(Workload("Deployment", ns, d.metadata.name, d.spec.replicas or 0,
                                      d.status.available_replicas or 0))
            for s in self.apps.list_namespaced_stateful_set(ns).items:
                found.append(Workload("StatefulSet", ns, s.metadata.name, s.spec.replicas or 0,
                                      s.status.ready_replicas or 0))
            for d in self.apps.list_namespaced_daemon_set(ns).items:
                found.append(Workload("DaemonSet", ns, d.metadata.name, d.status.desired_number_scheduled or 0,
                                      d.status.number_available or 0))
        return found

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        try:
            return self.core.read_namespaced_config_map(name, namespace).data or {}
        except self.client.ApiException as error:
            if error.status == 404:
                return None
            raise

    def _pod_of(self, namespace: str, deployment: str):
        selector = self.apps.read_namespaced_deployment(deployment, namespace).spec.selector.match_labels
        pods = self.core.list_namespaced_pod(namespace, label_selector=",".join(f"{k}={v}" for k, v in
                                                                                selector.items())).items
        running = [p for p in pods if p.status.phase == "Running"]
        if not running:
            raise RuntimeError(f"no running pod of {namespace}/{deployment}")
        return running[0]

    def logs(self, namespace: str, deployment: str) -> str:
        pod = self._pod_of(namespace, deployment)
        return self.core.read_namespaced_pod_log(pod.metadata.name, namespace,
                                                 container=pod.spec.containers[0].name)

    def token(self, namespace: str, service_account: str) -> str:
        request = self.client.AuthenticationV1TokenRequest(
            spec=self.client.V1TokenRequestSpec(audiences=[], expiration_seconds=900))
        return self.core.create_namespaced_service_account_token(service_account, namespace, request).status.token

    def run_pod(self, namespace: str, name: str, spec: dict, timeout: float) -> PodOutcome:
        """Run a pod to completion (no sidecar: it talks to AWS, not to the mesh), keep its logs, delete it."""
        pod_name = f"{name}-{uuid.uuid4().hex[:6]}"
        body = {"apiVersion": "v1", "kind": "Pod", "spec": spec, "metadata": {
            "name": pod_name, "labels": VERIFY_LABEL, "annotations": {"sidecar.istio.io/inject": "false"}}}
        self.core.create_namespaced_pod(namespace, body)
        deadline, phase, pod = time.monotonic() + timeout, "Pending", None
        try:
            while time.monotonic() < deadline:
                pod = self.core.read_namespaced_pod(pod_name, namespace)
                phase = pod.status.phase
                if phase in ("Succeeded", "Failed"):
                    break
                time.sleep(5)
            logs = self.core.read_namespaced_pod_log(pod_name, namespace) if phase != "Pending" else ""
            return PodOutcome(phase, logs, _seconds_to_running(pod))
        finally:
            self.core.delete_namespaced_pod(pod_name, namespace, grace_period_seconds=0)

    def pod_get(self, namespace: str, deployment: str, port: int, path: str) -> Response:
        """GET from inside a pod's network (a port-forward through the API server, past the mesh)."""
        from kubernetes.stream import portforward
        pod = self._pod_of(namespace, deployment)
        forward = portforward(self.core.connect_get_namespaced_pod_portforward, pod.metadata.name, namespace,
                              ports=str(port))
        sock = forward.socket(port)
        sock.setblocking(True)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        sock.close()
        head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
        return Response(int(head.split()[1]), {}, body)


def _seconds_to_running(pod) -> float | None:
    if pod is None:
        return None
    for status in pod.status.container_statuses or []:
        started = (status.state.running or status.state.terminated)
        if started is not None and started.started_at:
            return (started.started_at - pod.metadata.creation_timestamp).total_seconds()
    return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class LiveWeb:
    def resolve(self, host: str) -> list[str]:
        try:
            return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, 443)})
        except socket.gaierror:
            return []

    def certificate(self, host: str) -> Certificate:
        """The certificate the front door presents, read whoever signed it (dev's may come from a staging CA)."""
        from cryptography import x509
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        with socket.create_connection((host, 443), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
        cert = x509.load_der_x509_certificate(der)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
        return Certificate(names, cert.not_valid_after_utc, cert.issuer.rfc4514_string())

    def get(self, url: str, headers: dict[str, str] | None = None, verify: bool = True) -> Response:
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        opener = urllib.request.build_opener(_NoRedirects, urllib.request.HTTPSHandler(context=context))
        try:
            with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=20) as answer:
                return Response(answer.status, {k.lower(): v for k, v in answer.headers.items()},
                                answer.read(2000).decode(errors="replace"))
        except urllib.error.HTTPError as answer:
            return Response(answer.code, {k.lower(): v for k, v in answer.headers.items()}, "")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            return Response(0, {}, str(error))


class LiveStore:
    def __init__(self, region: str):
        import boto3
        self.s3 = boto3.client("s3", region_name=region)

    def keys(self, bucket: str, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def delete(self, bucket: str, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})


class LivePipelines:
    """One tiny pipeline, compiled with the pinned kfp SDK: a step that writes an artifact."""

    def _client(self, host: str, token: str, verify: bool):
        import kfp
        return kfp.Client(host=f"https://{host}/pipeline", existing_token=token, verify_ssl=verify)

    def run_minimal(self, host: str, token: str, namespace: str, verify: bool, timeout: float) -> RunOutcome:
        from kfp import compiler

        from verify.pipeline import verify_pipeline
        client = self._client(host, token, verify)
        with tempfile.TemporaryDirectory() as tmp:
            package = Path(tmp) / "pipeline.yaml"
            compiler.Compiler().compile(verify_pipeline, str(package))
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
            # No cache: a step skipped as cached would write nothing for this run.
            run = client.create_run_from_pipeline_package(str(package), namespace=namespace,
                                                          experiment_name="mlplatform-verify",
                                                          run_name=f"mlplatform-verify-{stamp}", enable_caching=False)
        done = client.wait_for_run_completion(run.run_id, timeout=int(timeout))
        tasks = (done.run_details.task_details or []) if done.run_details else []
        return RunOutcome(run.run_id, done.state, [int(t.execution_id or 0) for t in tasks])

    def delete_run(self, host: str, token: str, run_id: str, verify: bool) -> None:
        self._client(host, token, verify).delete_run(run_id)
