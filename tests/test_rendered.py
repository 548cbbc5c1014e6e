"""What the overlays render, checked object by object (.renders/, made by `make renders`: every overlay built as
the provider builds it; the tests skip without them, e.g. on a machine with no kubectl or network)."""

import pytest

from components import versions
from components.addons import reloader
from components.kubeflow import upstream
from offline import renders

WEBHOOK_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
DEPENDS_ON = "config.kubernetes.io/depends-on"

pytestmark = pytest.mark.skipif(not renders.available(),
                                reason="no renders: run `make renders` (needs kubectl and the upstream repositories)")


def _plurals(objects: list[dict]) -> dict[tuple[str, str], str]:
    return {(crd["spec"]["group"], crd["spec"]["names"]["kind"]): crd["spec"]["names"]["plural"]
            for crd in objects if crd["kind"] == "CustomResourceDefinition"}


def _admits(webhook: dict, plurals: dict[tuple[str, str], str], obj: dict) -> bool:
    """Whether a webhook is called when `obj` is created (its rules; namespace and object selectors aside, as no
    webhook of these overlays selects what they render)."""
    group = obj["apiVersion"].rpartition("/")[0]
    kind = obj["kind"].lower()
    plural = plurals.get((group, obj["kind"])) or (kind[:-1] + "ies" if kind.endswith("y") else
                                                  kind + ("es" if kind.endswith("s") else "s"))
    return any(("*" in r.get("apiGroups", []) or group in r.get("apiGroups", []))
               and ("*" in r.get("resources", []) or plural in r.get("resources", []))
               and ("*" in r.get("operations", []) or "CREATE" in r.get("operations", []))
               for r in webhook.get("rules") or [])


def _reference(obj: dict) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    namespace = obj["metadata"].get("namespace")
    return f"{group}/namespaces/{namespace}/{obj['kind']}/{obj['metadata']['name']}" if namespace else \
        f"{group}/{obj['kind']}/{obj['metadata']['name']}"


def _depends_on(obj: dict) -> set[str]:
    value = (obj["metadata"].get("annotations") or {}).get(DEPENDS_ON, "")
    return {v for v in value.split(",") if v}


def test_every_object_a_webhook_admits_waits_for_its_configuration():
    """A failurePolicy Fail webhook that is not serving yet refuses what it admits, and the provider does not retry
    that: each object an overlay's own webhook admits waits for that webhook's configuration, which waits for the
    Deployment serving it and for its CA (pulumi.com/waitFor)."""
    checked = 0
    for objects in renders.load().values():
        plurals = _plurals(objects)
        configurations = [o for o in objects if o["kind"] in WEBHOOK_KINDS]
        for configuration in configurations:
            admitted = [o for o in objects if o["kind"] not in ("CustomResourceDefinition", *WEBHOOK_KINDS)
                        and any(w.get("failurePolicy", "Fail") == "Fail" and _admits(w, plurals, o)
                                for w in configuration["webhooks"])]
            for obj in admitted:
                assert _reference(configuration) in _depends_on(obj), (obj["kind"], obj["metadata"]["name"])
                checked += 1
            if admitted:
                annotations = configuration["metadata"].get("annotations") or {}
                assert annotations.get("pulumi.com/waitFor") == "jsonpath={.webhooks[0].clientConfig.caBundle}"
                [server] = _depends_on(configuration)
                assert server.startswith("apps/namespaces/") and "/Deployment/" in server
                assert any(_reference(o) == server for o in objects)  # in the same overlay, or the build fails
    assert checked >= 21  # Knative's certificate, Trainer's 8 runtimes, KServe's 12


def test_no_webhook_configuration_sets_the_ca_its_injector_fills():
    """A caBundle in the manifest is a field Pulumi would own: refresh shows drift once cainjector (or the
    webhook) fills it, and an update would conflict or blank it."""
    for name, objects in renders.load().items():
        for configuration in (o for o in objects if o["kind"] in WEBHOOK_KINDS):
            for webhook in configuration["webhooks"]:
                assert "caBundle" not in (webhook.get("clientConfig") or {}), (name, webhook["name"])


def test_every_cert_manager_object_is_in_an_overlay_that_waits_for_cert_manager(prod):
    """Certificates and Issuers are admitted by cert-manager's webhook, in another release: the overlay that holds
    them waits for cert-manager (its ClusterIssuer, after the chart) through depends_on."""
    issuer = prod.one("kubernetes:cert-manager.io/v1:ClusterIssuer")
    directories = {r.inputs["directory"].rsplit("/", 1)[1]: r
                   for r in prod.of_type("kubernetes:kustomize/v2:Directory")}
    holders = {name for name, objects in renders.load().items()
               if any(o["apiVersion"].startswith("cert-manager.io/") for o in objects)}
    assert {"dashboard", "katib", "pipelines", "notebooks", "kserve"} <= holders
    for name in holders:
        assert issuer.urn in prod.all_dependencies(directories[name]), name


def test_the_pipelines_ui_runs_the_server_that_checks_namespaces_and_reads_no_secret():
    """The UI Deployment as rendered runs the 2.17 UI server with its ownership check on the teams' prefix, and no
    Role or ClusterRole bound to its service account reads Secrets (a crafted request could otherwise make it read
    any Secret in any namespace)."""
    objects = [o for overlay in renders.load().values() for o in overlay]
    [ui] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "ml-pipeline-ui"]
    [container] = ui["spec"]["template"]["spec"]["containers"]
    assert container["image"] == versions.KFP_FRONTEND_IMAGE
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["ARTIFACT_NAMESPACE_OWNERSHIP_MODE"], env["ARTIFACT_NAMESPACE_KEY_PREFIX"]) == (
        "mlmd-then-prefix", upstream.ARTIFACT_PREFIX)
    account = ui["spec"]["template"]["spec"]["serviceAccountName"]
    bound = {(b["roleRef"]["kind"], b["metadata"].get("namespace"), b["roleRef"]["name"]) for b in objects
             if b["kind"] in ("RoleBinding", "ClusterRoleBinding") and any(
                 s["kind"] == "ServiceAccount" and s["name"] == account and s.get("namespace") == "kubeflow"
                 for s in b.get("subjects") or [])}
    assert {("ClusterRole", None, "ml-pipeline-ui"), ("Role", "kubeflow", "ml-pipeline-ui")} <= bound
    roles = {(o["kind"], o["metadata"].get("namespace") if o["kind"] == "Role" else None, o["metadata"]["name"]): o
             for o in objects if o["kind"] in ("Role", "ClusterRole")}
    for kind, namespace, name in bound:
        role = roles[(kind, namespace if kind == "Role" else None, name)]
        for rule in role.get("rules") or []:
            if "" in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", []):
                assert not {"secrets", "*"} & set(rule.get("resources", [])), (kind, name, rule)


def _reads(pod: dict) -> tuple[set[str], set[str]]:
    """The Secrets and ConfigMaps a pod spec reads: environment, envFrom, volumes."""
    secrets, config_maps = set(), set()
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            secrets |= {source["secretKeyRef"]["name"]} if "secretKeyRef" in source else set()
            config_maps |= {source["configMapKeyRef"]["name"]} if "configMapKeyRef" in source else set()
        for env in container.get("envFrom") or []:
            secrets |= {env["secretRef"]["name"]} if "secretRef" in env else set()
            config_maps |= {env["configMapRef"]["name"]} if "configMapRef" in env else set()
    for volume in pod.get("volumes") or []:
        secrets |= {volume["secret"]["secretName"]} if "secret" in volume else set()
        config_maps |= {volume["configMap"]["name"]} if "configMap" in volume else set()
    return secrets, config_maps


def test_every_reader_of_what_the_program_writes_restarts_when_it_changes(prod):
    """A Deployment reads its Secrets and ConfigMaps at start: each one that reads an object the program writes (a
    Secret, a Secret external-secrets syncs, a ConfigMap) names it in its Reloader annotation, so a rotation or a
    changed endpoint reaches its pods."""
    written: dict[str, set[tuple[str, str]]] = {"Secret": set(), "ConfigMap": set()}
    for r in prod.resources:
        metadata = r.inputs.get("metadata") or {}
        if r.type == "kubernetes:core/v1:Secret" or r.type == "kubernetes:external-secrets.io/v1:ExternalSecret":
            name = r.inputs.get("spec", {}).get("target", {}).get("name", metadata.get("name"))
            written["Secret"].add((metadata.get("namespace"), name))
        elif r.type == "kubernetes:core/v1:ConfigMap":
            written["ConfigMap"].add((metadata.get("namespace"), metadata.get("name")))
    checked = 0
    for objects in renders.load().values():
        for deployment in (o for o in objects if o["kind"] == "Deployment"):
            namespace = deployment["metadata"].get("namespace")
            annotations = deployment["metadata"].get("annotations") or {}
            secrets, config_maps = _reads(deployment["spec"]["template"]["spec"])
            for kind, names, key in (("Secret", secrets, reloader.SECRET_ANNOTATION),
                                     ("ConfigMap", config_maps, reloader.CONFIG_MAP_ANNOTATION)):
                ours = {n for n in names if (namespace, n) in written[kind]}
                named = set(filter(None, annotations.get(key, "").split(",")))
                assert ours <= named, (deployment["metadata"]["name"], kind, ours - named)
                checked += len(ours)
    assert checked >= 10
