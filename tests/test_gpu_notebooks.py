"""GPU notebooks: a form that offers what the stack's GPU groups can run and a guard that refuses the rest, an honest
status while a node comes up, GPU nodes that start fast (one AZ, provisioned volumes, parallel pull, an image cache, an
in-region mirror, warm hours), culling, and the time to kernel the plan reports."""

import base64
import email
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import celpy
import pytest
import yaml

from components.cluster import node_group
from components.cluster.node_group import IMAGE_CACHE_DEVICE, MOUNT_IMAGE_CACHE, NODE_GROUP_LABEL
from components.config import PROJECT, ConfigError, parse_stack_file
from components.kubeflow import notebooks
from components.kubeflow.notebooks import CULLING_CONFIGMAP, GUARD, SPAWNER_CONFIGMAP
from offline import cost, time_to_kernel
from offline.engine import ROOT
from offline.iam_eval import decide
from tests.fixtures import evaluate, stack_config

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
OVERLAY = notebooks.OVERLAY
UPSTREAM_STATUS = Path("/work/.mirror/kubeflow+notebooks/repo")  # a local snapshot of kubeflow/notebooks, if any


def _form(result):
    data = result.one(CONFIG_MAP, "notebooks-spawner").inputs["data"]["spawner_ui_config.yaml"]
    return yaml.safe_load(data)["spawnerFormDefaults"]


def _gpu_groups(result):
    return [g for g in stack_config(result.stack)[f"{PROJECT}:nodeGroups"] if g.get("gpu")]


def _patch(name):
    return yaml.safe_load((OVERLAY / name).read_text())


@pytest.fixture(scope="session")
def before(prod_variant):
    """prod's GPU group (p4d) as GPU groups were before they were made fast, in the second AZ, with no mirror; culling
    off (conftest.py)."""
    return prod_variant


# ---- the form ----------------------------------------------------------------------------------------------

def test_the_form_offers_nvidia_preselected_and_one_choice_per_gpu_group(each_stack):
    form = _form(each_stack)
    assert form["gpus"]["value"]["vendors"] == [{"limitsKey": "nvidia.com/gpu", "uiName": "NVIDIA"}]
    assert form["gpus"]["value"]["vendor"] == "nvidia.com/gpu" and form["gpus"]["readOnly"] is False
    options = form["affinityConfig"]["options"]
    assert [o["configKey"] for o in options] == [g["name"] for g in _gpu_groups(each_stack)]
    for option in options:
        [term] = option["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"]
        assert term["matchExpressions"] == [
            {"key": NODE_GROUP_LABEL, "operator": "In", "values": [option["configKey"]]}]
        # ...the label the group's nodes carry, and that cluster-autoscaler is told they will carry at zero
        group = each_stack.one(NODE_GROUP, f"cluster-{option['configKey']}-ng")
        assert group.inputs["labels"][NODE_GROUP_LABEL] == option["configKey"]
    assert form["affinityConfig"]["value"] == ""  # None: cluster-autoscaler picks the group


def test_the_forms_choices_say_what_each_group_has(prod_variant):
    [option] = _form(prod_variant)["affinityConfig"]["options"]  # its GPU group runs p4d/p4de.24xlarge
    assert option["displayName"] == "GPU node gpu: 8 x NVIDIA A100, 96 vCPU, 1152 GiB (p4d.24xlarge)"


def test_images_come_through_the_mirror_when_the_stack_has_one(dev, prod):
    for image in [i for key in ("image", "imageGroupOne", "imageGroupTwo") for i in _form(dev)[key]["options"]]:
        assert image.startswith("ghcr.io/kubeflow/kubeflow/notebook-servers/")
    mirror = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplatform-prod/ghcr/"
    form = _form(prod)
    images = [i for key in ("image", "imageGroupOne", "imageGroupTwo") for i in [form[key]["value"],
                                                                                 *form[key]["options"]]]
    assert images and all(i.startswith(mirror + "kubeflow/kubeflow/notebook-servers/") for i in images)
    assert any("cuda" in i for i in images)


def test_the_web_app_reads_the_programs_form_and_the_controller_its_culling():
    [container] = _patch("jupyter-web-app-deployment.yaml")["spec"]["template"]["spec"]["containers"]
    volumes = {v["name"]: v for v in _patch("jupyter-web-app-deployment.yaml")["spec"]["template"]["spec"]["volumes"]}
    # upstream mounts volume config-volume at /etc/config and reads /etc/config/spawner_ui_config.yaml
    assert volumes["config-volume"]["configMap"]["name"] == SPAWNER_CONFIGMAP
    assert {"name": "PYTHONPATH", "value": "/etc/mlplatform/jupyter-web-app"} in container["env"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "status-fix"]
    assert mount["mountPath"] == "/etc/mlplatform/jupyter-web-app"
    assert volumes["status-fix"]["configMap"]["name"] == "jupyter-web-app-status"
    kustomization = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    [generated] = kustomization["configMapGenerator"]
    assert generated["name"] == "jupyter-web-app-status" and generated["files"] == ["sitecustomize.py"]
    controller = _patch("notebook-controller-deployment.yaml")
    assert controller["metadata"]["annotations"]["configmap.reloader.stakater.com/reload"] == CULLING_CONFIGMAP
    [manager] = controller["spec"]["template"]["spec"]["containers"]
    assert {(e["name"], e["valueFrom"]["configMapKeyRef"]["name"], e["valueFrom"]["configMapKeyRef"]["key"])
            for e in manager["env"]} == {(key, CULLING_CONFIGMAP, key) for key in notebooks.culling(60)}


def test_the_form_and_culling_configmaps_exist_before_the_deployments_that_read_them(each_stack):
    overlay = each_stack.one("kubernetes:kustomize/v2:Directory", "notebooks-notebooks")
    for name, configmap in (("notebooks-spawner", SPAWNER_CONFIGMAP), ("notebooks-culling", CULLING_CONFIGMAP)):
        made = each_stack.one(CONFIG_MAP, name)
        assert made.inputs["metadata"] == {"name": configmap, "namespace": "kubeflow"}
        assert made.urn in overlay.dependencies


def test_culling_follows_the_stack(before):
    assert before.one(CONFIG_MAP, "notebooks-culling").inputs["data"] == {"ENABLE_CULLING": "false",
                                                                           "CULL_IDLE_TIME": "1440"}


def test_each_environment_culls_idle_notebooks_by_default(dev, prod):
    assert dev.one(CONFIG_MAP, "notebooks-culling").inputs["data"] == {"ENABLE_CULLING": "true",
                                                                        "CULL_IDLE_TIME": "60"}
    assert prod.one(CONFIG_MAP, "notebooks-culling").inputs["data"]["CULL_IDLE_TIME"] == "240"


# ---- the guard ---------------------------------------------------------------------------------------------

def _notebook(gpus=None, vendor="nvidia.com/gpu", group=None):
    """A Notebook as the web app's form.py writes it (limits on container 0, the affinity option chosen)."""
    container = {"name": "nb", "image": "jupyter", "resources": {"requests": {"cpu": "0.5"}, "limits": {}}}
    if gpus is not None:
        container["resources"]["limits"][vendor] = str(gpus)
    spec = {"containers": [container]}
    if group:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": NODE_GROUP_LABEL, "operator": "In", "values": [group]}]}]}}}
    return {"apiVersion": "kubeflow.org/v1beta1", "kind": "Notebook", "metadata": {"name": "nb", "namespace": "t"},
            "spec": {"template": {"spec": spec}}}


def admit(policy_spec, obj):
    """The policy's verdict on `obj` as the API server reaches it: variables in order, then each validation; the
    messages of those that fail (CEL evaluated by cel-python; the policy keeps to CEL's core)."""
    env = celpy.Environment()
    variables = {}

    def evaluate_cel(expression):
        program = env.program(env.compile(expression))
        return program.evaluate({"object": celpy.json_to_cel(obj), "variables": _cel_map(variables)})

    for variable in policy_spec["variables"]:
        variables[variable["name"]] = evaluate_cel(variable["expression"])
    return [v["message"] for v in policy_spec["validations"] if not evaluate_cel(v["expression"])]


def _cel_map(values):
    return celpy.celtypes.MapType({celpy.celtypes.StringType(k): v for k, v in values.items()})


def _guard(result):
    policy = result.one(POLICY, "notebooks-gpu-guard")
    binding = result.one(BINDING, "notebooks-gpu-guard")
    assert policy.inputs["metadata"]["name"] == binding.inputs["spec"]["policyName"] == GUARD
    assert binding.inputs["spec"]["validationActions"] == ["Deny"]
    assert policy.inputs["spec"]["matchConstraints"]["resourceRules"] == [{
        "apiGroups": ["kubeflow.org"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
        "resources": ["notebooks"]}]
    assert policy.inputs["spec"]["failurePolicy"] == "Fail"
    return policy.inputs["spec"]


def test_the_guard_admits_what_a_group_can_run(prod):
    guard = _guard(prod)
    assert admit(guard, _notebook()) == []                       # a CPU notebook
    assert admit(guard, _notebook(gpus=1)) == []                 # one GPU, cluster-autoscaler picks the group
    assert admit(guard, _notebook(gpus=1, group="gpu")) == []    # one GPU on the chosen group


@pytest.mark.parametrize("notebook,words", [
    (_notebook(gpus=2), "asks for more NVIDIA GPUs than any node here has: at most 1 per notebook (GPU node groups: "
                        "gpu: 1 x NVIDIA L4, 8 vCPU, 32 GiB (g6.2xlarge))"),
    (_notebook(gpus=8), "at most 1 per notebook"),
    (_notebook(gpus=1, vendor="amd.com/gpu"), "no node has AMD or Intel Gaudi GPUs"),
    (_notebook(gpus=1, vendor="habana.ai/gaudi"), "no node has AMD or Intel Gaudi GPUs"),
    (_notebook(group="gpu"), "runs on GPU node gpu: 1 x NVIDIA L4, 8 vCPU, 32 GiB (g6.2xlarge): ask for 1 to 1 GPUs"),
])
def test_the_guard_refuses_what_no_group_can_run_and_says_what_there_is(prod, notebook, words):
    denied = admit(_guard(prod), notebook)
    assert any(words in message for message in denied), denied


def test_the_guard_follows_the_groups_gpus(prod_variant, dev_variant):
    guard = _guard(prod_variant)  # its GPU group is p4d/p4de.24xlarge: 8 A100s a node
    assert admit(guard, _notebook(gpus=8, group="gpu")) == []
    assert admit(guard, _notebook(gpus=4)) == []
    assert any("at most 8" in m for m in admit(guard, _notebook(gpus=16)))
    # a stack without GPU groups refuses any GPU
    assert admit(_guard(dev_variant), _notebook(gpus=1)) == ["asks for NVIDIA GPUs, but this stack has no GPU node "
                                                             "group"]


def test_the_guard_waits_for_the_cluster_with_everything_else(each_stack):
    guard = each_stack.one(POLICY, "notebooks-gpu-guard")
    spawner = each_stack.one(CONFIG_MAP, "notebooks-spawner")
    assert set(spawner.dependencies) <= set(guard.dependencies)
    assert guard.urn in each_stack.one(BINDING, "notebooks-gpu-guard").dependencies


# ---- an honest status ----------------------------------------------------------------------------------------

# A stand-in for the web app's backend at v1.11.0, as far as the fix relies on it: process_status() calls the module's
# functions through its globals, in upstream's order; the container-state check has upstream's bug (every waiting
# container is a warning) and the conditions check makes any condition with a reason a warning.
STAND_IN = {
    "kubeflow/__init__.py": "", "kubeflow/kubeflow/__init__.py": "",
    "kubeflow/kubeflow/crud_backend/__init__.py": "",
    "kubeflow/kubeflow/crud_backend/status.py": """
        class STATUS_PHASE:
            READY, WAITING, WARNING, ERROR = "ready", "waiting", "warning", "error"
            UNINITIALIZED, UNAVAILABLE, TERMINATING, STOPPED = "uninitialized", "unavailable", "terminating", "stopped"

        def create_status(phase="", message="", state=""):
            return {"phase": phase, "message": message, "state": state}
        """,
    "kubeflow/kubeflow/crud_backend/api.py": """
        import types
        EVENTS = []

        def list_notebook_events(name, namespace):
            return types.SimpleNamespace(items=EVENTS)
        """,
    "apps/__init__.py": "", "apps/common/__init__.py": "",
}
STAND_IN_STATUS = """
    from kubeflow.kubeflow.crud_backend import api, status

    def process_status(notebook):
        for check in (check_ready_nb, get_status_from_container_state, get_status_from_conditions):
            phase, message = check(notebook)
            if phase is not None:
                return status.create_status(phase, message)
        phase, message = get_status_from_events(get_notebook_events(notebook))
        return status.create_status(phase or status.STATUS_PHASE.WARNING, message or "no information")

    def check_ready_nb(notebook):
        ready = notebook.get("status", {}).get("readyReplicas", 0) == 1
        return (status.STATUS_PHASE.READY, "Running") if ready else (None, None)

    def get_status_from_container_state(notebook):
        waiting = notebook.get("status", {}).get("containerState", {}).get("waiting")
        if waiting is None:
            return None, None
        return status.STATUS_PHASE.WARNING, "%s: %s" % (waiting.get("reason"), waiting.get("message", ""))

    def get_status_from_conditions(notebook):
        for condition in notebook.get("status", {}).get("conditions", []):
            if "reason" in condition:
                return status.STATUS_PHASE.WARNING, condition["reason"] + ": " + condition["message"]
        return None, None

    def get_notebook_events(notebook):
        return api.list_notebook_events(notebook["metadata"]["name"], notebook["metadata"]["namespace"]).items

    def get_status_from_events(events):
        for e in sorted(events, key=event_timestamp, reverse=True):
            if e.type == "Warning":
                return status.STATUS_PHASE.WARNING, e.message
        return None, None

    def event_timestamp(event):
        return event.metadata.creation_timestamp.replace(tzinfo=None)
    """

DRIVER = """
    import datetime as dt, json, sys, types
    from kubeflow.kubeflow.crud_backend import api
    from apps.common import status

    def event(minutes_ago, type_, reason, message):
        when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago)
        return types.SimpleNamespace(type=type_, reason=reason, message=message,
                                     metadata=types.SimpleNamespace(creation_timestamp=when))

    out = []
    for case in json.load(sys.stdin):
        api.EVENTS[:] = [event(*e) for e in case["events"]]
        created = (dt.datetime.utcnow() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        notebook = {"metadata": {"name": "nb", "namespace": "team", "creationTimestamp": created},
                    "status": case["status"]}
        out.append(status.process_status(notebook))
    print(json.dumps(out))
    """

UNSCHEDULABLE = {"containerState": {}, "readyReplicas": 0, "conditions": [
    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
     "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]}
SCALE_UP = (1, "Normal", "TriggeredScaleUp", "Reissued from pod/nb-0: pod triggered scale-up: [{gpu 0->1 (max: 2)}]")
NO_SCALE_UP = (0, "Normal", "NotTriggerScaleUp", "Reissued from pod/nb-0: pod didn't trigger scale-up: 2 max node "
                                                 "group size reached")
CASES = [
    # (status, events) -> (phase, words in the message)
    ((UNSCHEDULABLE, [SCALE_UP]), ("waiting", "Starting a node for this notebook")),
    ((UNSCHEDULABLE, []), ("waiting", "Waiting for a GPU node")),
    ((UNSCHEDULABLE, [SCALE_UP, NO_SCALE_UP]),
     ("warning", "No node group can run this notebook: Reissued from pod/nb-0: pod didn't trigger scale-up")),
    (({"containerState": {"waiting": {"reason": "ContainerCreating"}}, "conditions": []}, []),
     ("waiting", "Pulling the notebook's image")),
    (({"containerState": {"waiting": {"reason": "PodInitializing"}}, "conditions": []}, []),
     ("waiting", "Pulling the notebook's image")),
    (({"containerState": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}, "conditions": []}, []),
     ("warning", "ImagePullBackOff: not found")),
    (({"containerState": {}, "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                             "message": "0/3 nodes are available: 3 Insufficient cpu."}]}, []),
     ("warning", "Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.")),
    (({"readyReplicas": 1, "containerState": {"running": {}}, "conditions": []}, []), ("ready", "Running")),
]


def _run_web_app_status(app_dir: Path, with_fix: bool):
    """process_status() for each case, in a Python started as the web app's is (sitecustomize found on PYTHONPATH)."""
    path = [str(OVERLAY)] if with_fix else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, str(app_dir)])}
    cases = [{"status": status, "events": events} for (status, events), _ in CASES]
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(DRIVER)], input=json.dumps(cases), env=env,
                         capture_output=True, text=True, check=True, cwd=app_dir)
    return json.loads(run.stdout)


def _stand_in_app(tmp_path: Path, status_source: str) -> Path:
    for name, source in {**STAND_IN, "apps/common/status.py": status_source}.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source))
    return tmp_path


def _assert_honest(results):
    for result, (_, (phase, words)) in zip(results, CASES, strict=True):
        assert result["phase"] == phase and words in result["message"], result


def test_a_notebook_waiting_for_its_gpu_node_or_image_shows_as_waiting(tmp_path):
    app = _stand_in_app(tmp_path, STAND_IN_STATUS)
    _assert_honest(_run_web_app_status(app, with_fix=True))
    # without the fix, the same notebooks read as warnings: what the fix changes is the fix's doing
    before = _run_web_app_status(app, with_fix=False)
    assert [r["phase"] for r in before[:5]] == ["warning"] * 5


@pytest.mark.skipif(not UPSTREAM_STATUS.exists(), reason="no local snapshot of kubeflow/notebooks (fetch it to run)")
def test_the_fix_works_on_the_web_apps_own_status_module_at_the_pin(tmp_path):
    source = subprocess.run(["git", "-C", str(UPSTREAM_STATUS), "show",
                             "v1.11.0:components/crud-web-apps/jupyter/backend/apps/common/status.py"],
                            capture_output=True, text=True, check=True).stdout
    _assert_honest(_run_web_app_status(_stand_in_app(tmp_path, source), with_fix=True))


# ---- fast GPU nodes ------------------------------------------------------------------------------------------

def _template(result, group):
    return result.one("aws:ec2/launchTemplate:LaunchTemplate", f"cluster-{group}-lt")


def _user_data(template):
    message = email.message_from_bytes(base64.b64decode(template.inputs["userData"]))
    assert message.is_multipart()
    return {part.get_content_type(): part.get_payload() for part in message.get_payload()}


def test_a_gpu_group_runs_in_the_zone_it_names(before):
    group = before.one(NODE_GROUP, "cluster-gpu-ng")
    assert group.inputs["subnetIds"] == ["network-private-us-east-1b-id"]


def test_a_gpu_group_that_pulls_its_images_pulls_them_in_parallel_on_a_fast_root_volume(prod):
    template = _template(prod, "gpu")
    [root] = template.inputs["blockDeviceMappings"]
    assert root["ebs"]["throughput"] == 1000 and root["ebs"]["iops"] == 16000
    parts = _user_data(template)
    assert list(parts) == ["application/node.eks.aws"]
    config = yaml.safe_load(parts["application/node.eks.aws"])
    assert config == {"apiVersion": "node.eks.aws/v1alpha1", "kind": "NodeConfig",
                      "spec": {"featureGates": {"FastImagePull": True}}}
    assert "userData" not in _template(prod, "system").inputs  # CPU groups boot as EKS makes them


def test_a_gpu_group_with_an_image_cache_mounts_it_where_containerd_keeps_images(dev):
    template = _template(dev, "gpu-xlarge")
    root, cache = template.inputs["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    assert cache == {"deviceName": IMAGE_CACHE_DEVICE, "ebs": {
        "snapshotId": "snap-0a1b2c3d4e5f60718", "volumeType": "gp3", "iops": 3000, "throughput": 300,
        "encrypted": "true", "deleteOnTermination": "true", "volumeInitializationRate": 300}}
    parts = _user_data(template)
    assert list(parts) == ["text/x-shellscript"]  # no parallel pull: its snapshotter would not see the cache
    script = parts["text/x-shellscript"]
    assert script == MOUNT_IMAGE_CACHE.read_text()
    assert f"device={IMAGE_CACHE_DEVICE} " in script and "store=/var/lib/containerd" in script
    assert 'mount -o noatime "$device" "$store"' in script
    subprocess.run(["bash", "-n", str(MOUNT_IMAGE_CACHE)], check=True)


@pytest.mark.parametrize("change,words", [
    ({"fastImagePull": True, "imageCacheSnapshotId": "snap-0a1b2c3d4e5f60718"}, "use one or the other"),
    ({"fastImagePull": True, "diskThroughputMiBps": 300}, "FastImagePull needs at least 600 MiB/s"),
    ({"imageCacheSnapshotId": "snapshot-1"}, "is not an EBS snapshot ID"),
    ({"diskIops": 20000}, "diskIops"),
    ({"warmHours": {"start": "19:00", "stop": "08:00"}}, "warmHours.stop: 08:00 is not after start (19:00)"),
    ({"warmHours": {"start": "8am", "stop": "19:00"}}, "is not a time of day HH:MM"),
    ({"warmHours": {"start": "08:00", "stop": "19:00", "days": "weekdays"}}, "is not days of the week as cron "
                                                                             "writes them"),
])
def test_gpu_group_settings_are_validated(change, words):
    result = evaluate("prod", lambda c: c[f"{PROJECT}:nodeGroups"][1].update(change))
    assert isinstance(result.error, ConfigError) and result.resources == [], result.error
    assert words in str(result.error)


def test_only_a_gpu_group_has_warm_hours_or_a_cpu_small_for_parallel_pull():
    def system(**change):
        return lambda c: c[f"{PROJECT}:nodeGroups"][0].update(change)

    result = evaluate("prod", system(warmHours={"start": "08:00", "stop": "19:00"}))
    assert "nodeGroups[system].warmHours: only a GPU group" in str(result.error)
    result = evaluate("prod", system(instanceTypes=["m6i.large"], fastImagePull=True, diskThroughputMiBps=600))
    assert "nodeGroups[system].fastImagePull: nodeadm ignores it below 4 vCPU and 7 GiB (m6i.large has 2 vCPU" \
        in str(result.error)


def test_warm_hours_raise_the_groups_minimum_and_never_touch_its_desired_size(prod):
    group = prod.one(NODE_GROUP, "cluster-gpu-ng")
    actions = {s.name: s for s in prod.of_type(SCHEDULE)}
    assert sorted(actions) == ["cluster-gpu-warm-start", "cluster-gpu-warm-stop"]
    for name, (minimum, hour) in {"cluster-gpu-warm-start": (1, 8), "cluster-gpu-warm-stop": (0, 19)}.items():
        action = actions[name]
        assert action.inputs["minSize"] == minimum and action.inputs["recurrence"] == f"0 {hour} * * MON-FRI"
        assert action.inputs["maxSize"] == -1 and action.inputs["desiredCapacity"] == -1  # -1: unchanged
        assert action.inputs["timeZone"] == "Europe/Berlin"
        assert action.property_dependencies["autoscalingGroupName"] == [group.urn]
    assert node_group.warm_hours_actions(_config_group("prod", "system")) == {}


def _config_group(stack, name):
    return next(g for g in parse_stack_file(stack_config(stack), stack).node_groups if g.name == name)


# ---- the in-region mirror --------------------------------------------------------------------------------------

def test_the_mirror_caches_ghcr_under_the_stacks_prefix_and_nodes_fill_it_with_their_own_role(prod, dev):
    [rule] = prod.of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert rule.inputs == {"ecrRepositoryPrefix": "mlplatform-prod/ghcr", "upstreamRegistryUrl": "ghcr.io",
                           "credentialArn": stack_config("prod")[f"{PROJECT}:cluster"]["registryMirror"][
                               "ghcrCredentialArn"]}
    policy = prod.one("aws:iam/rolePolicy:RolePolicy", "cluster-registry-mirror-node-import")
    assert policy.inputs["role"] == "cluster-node"
    document = json.loads(policy.inputs["policy"])
    mine = "arn:aws:ecr:us-east-1:123456789012:repository/mlplatform-prod/ghcr/kubeflow/kubeflow/notebook-servers/x"
    for action in ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository"):
        assert decide(document, action, mine) == "Allow"
        assert decide(document, action, "arn:aws:ecr:us-east-1:123456789012:repository/other/x") == "ImplicitDeny"
    assert decide(document, "ecr:PutImage", mine) == "ImplicitDeny"
    assert not dev.of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")


@pytest.mark.parametrize("change,words", [
    ({"registryMirror": {"ghcrCredentialArn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:"
                                              "ecr-pullthroughcache/ghcr-AbCdEf"}},
     "cluster.registryMirror.ghcrCredentialArn: the secret is in eu-west-1, the stack in us-east-1"),
    ({"registryMirror": {"ghcrCredentialArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:github-token"}},
     "a Secrets Manager secret named ecr-pullthroughcache/<name>"),
    ({"name": "mlplatform-production-east"}, "cluster.registryMirror: the mirror's ECR prefix is <cluster.name>/ghcr"),
])
def test_mirror_settings_are_validated(change, words):
    result = evaluate("prod", lambda c: c[f"{PROJECT}:cluster"].update(change))
    assert isinstance(result.error, ConfigError) and result.resources == [], result.error
    assert words in str(result.error)


# ---- time to kernel ---------------------------------------------------------------------------------------------

def test_a_cached_gpu_group_starts_a_notebook_cold_in_two_and_a_half_minutes_warm_in_twenty_seconds(dev):
    groups = {g.group: g for g in time_to_kernel.of_stack(dev.resources, "dev")}
    smallest = groups["gpu-xlarge"]
    assert smallest.image == "from the image cache (an EBS snapshot)"
    assert smallest.cold_seconds <= 150 and smallest.warm_seconds <= 20
    steps = {s.key for s in smallest.cold}
    assert {"scale_up", "boot", "device_plugin", "image_cached"} <= steps and "pull" not in steps


def test_today_s_configuration_estimated_the_same_way_takes_minutes(before):
    group = {g.group: g for g in time_to_kernel.of_stack(before.resources, "prod")}["gpu"]
    [pull] = [s for s in group.cold if s.key == "pull"]
    assert pull.seconds == round(10 * 1000 / 61)  # 10 GB at 61 MB/s from ghcr.io (the root volume's 131 MB/s is more)
    assert group.cold_seconds == 119 + pull.seconds > 240


def test_parallel_pull_from_the_mirror_is_capped_by_the_root_volume():
    assert time_to_kernel.pull_step(mirror=True, parallel=True, root_mibps=1000).seconds == round(10_000 / 181)
    capped = time_to_kernel.pull_step(mirror=True, parallel=True, root_mibps=125)
    assert capped.seconds == round(10_000 / (125 * 1.048576))
    assert "capped at the root volume's 125 MiB/s" in capped.source


def test_the_plan_prices_the_warm_node_of_the_hours_configured(prod):
    [group] = time_to_kernel.of_stack(prod.resources, "prod")
    assert group.warm_hours_month == pytest.approx(11 * 5 * 730 / 168)
    estimate = cost.estimate(prod.resources, "prod")
    [line] = [line for line in estimate.lines if "warm node" in line.item]
    assert line.idle == line.max == pytest.approx(group.warm_node_month)
    assert line.item.startswith("cluster-gpu-warm-start: 1 warm node, 239 h a month (g6.2xlarge on-demand")


def test_every_step_says_where_its_time_comes_from():
    table = time_to_kernel.table()
    for key, row in table["steps"].items():
        assert row["basis"] in {"doc", "derived", "unverified"} and row["source"] and row["what"], key
    for key, row in table["pull_mb_per_s"].items():
        assert row["value"] > 0 and row["source"], key


def test_the_image_cache_is_built_from_the_images_the_form_offers(prod):
    form = _form(prod)
    assert notebooks.notebook_images(notebooks.spawner_form([_config_group("prod", "gpu")], "r.example/ghcr")) == [
        i.replace("123456789012.dkr.ecr.us-east-1.amazonaws.com/mlplatform-prod/ghcr", "r.example/ghcr")
        for key in ("image", "imageGroupOne", "imageGroupTwo") for i in form[key]["options"]]


def test_the_docs_say_how_to_build_the_cache_and_measure_time_to_kernel():
    docs = (ROOT / "docs" / "kubeflow.md").read_text()
    for words in ("### The image cache", "### Time to kernel", "notebook_images", "ecr-pullthroughcache/"):
        assert words in docs
