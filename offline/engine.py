"""Evaluate the real program under Pulumi mocks and record everything it registers.

`evaluate(stack)` loads `Pulumi.<stack>.yaml` (optionally changed by the test), runs `__main__.py`
against mocks that return realistic outputs, and returns a `StackResult`: every registered resource
with its inputs and options, the stack exports, and the error if the program failed.

The stack file comes from the program's directory (the stacks an adopter deploys) or from any other
directory (`stack_files=`: the tests' own fixtures). The mocks answer in the stack's own region
(`aws:region`) and in one made-up account, ACCOUNT.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import runpy
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"

# What AWS would answer for "the default version of add-on X" (aws eks describe-addon-versions).
DEFAULT_ADDON_VERSIONS = {
    "vpc-cni": "v1.20.4-eksbuild.2",
    "kube-proxy": "v1.35.0-eksbuild.2",
    "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
    "coredns": "v1.13.1-eksbuild.1",
    "aws-ebs-csi-driver": "v1.53.0-eksbuild.1",
    "aws-efs-csi-driver": "v2.2.0-eksbuild.1",
    "aws-fsx-csi-driver": "v1.9.0-eksbuild.1",
    "metrics-server": "v0.8.1-eksbuild.1",
    "amazon-cloudwatch-observability": "v6.6.0-eksbuild.1",
}
CLUSTER_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"


def cluster_endpoint(region: str) -> str:
    return f"https://0123456789ABCDEF.gr7.{region}.eks.amazonaws.com"


def cluster_oidc_issuer(region: str) -> str:
    return f"https://oidc.eks.{region}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"


def short_region(region: str) -> str:
    """us-east-1 -> use1, ap-southeast-2 -> apse2: the code ElastiCache puts in its endpoints."""
    country, *direction, number = region.split("-")
    codes = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c", "southeast": "se",
             "northeast": "ne", "northwest": "nw", "southwest": "sw", "gov": "gov"}
    return country + "".join(codes.get(d, d[:1]) for d in direction) + number


def rds_master_secret_arn(identifier: str, region: str) -> str:
    """RDS names the secret it manages itself: rds!db-<uuid>."""
    return f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:rds!db-{identifier}-uuid-AbCdEf"


class StackFileError(Exception):
    """A stack file that cannot be read as YAML; the message is one line: file, line, column and the problem."""


@dataclass
class Registered:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    protect: bool
    ignore_changes: list[str]
    custom: bool
    retain_on_delete: bool = False
    plain_strings: list[str] = field(default_factory=list)  # every string input sent without secret marking
    # The inputs as they crossed the wire (protobuf Struct as a dict): secrets marked, preview-time
    # unknowns as the engine's sentinels, numbers as floats. What the policy analyzer is handed.
    wire: dict[str, Any] = field(default_factory=dict)
    alias_names: list[str] = field(default_factory=list)  # names this resource had before (aliases)
    alias_types: list[str] = field(default_factory=list)  # types it had before (a renamed component's token)
    # A multi-language component a provider implements (e.g. kustomize.v2.Directory): one resource here,
    # whose contents the provider creates at deploy time. Like a custom resource, it is something the engine
    # creates; unlike our components, it has no children under mocks.
    remote: bool = False
    providers: dict[str, str] = field(default_factory=dict)  # package -> provider reference (components)

    @property
    def component(self) -> bool:
        """One of the program's own ComponentResources (not a remote component)."""
        return not self.custom and not self.remote

    @property
    def top_level(self) -> bool:
        """Created by __main__.py itself (its parent is the stack), not inside a component."""
        return self.parent.split("::")[2] == "pulumi:pulumi:Stack"


@dataclass
class StackResult:
    stack: str
    resources: list[Registered] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    secret_exports: set[str] = field(default_factory=set)
    error: BaseException | None = None
    findings: list[Any] | None = None  # the pack's findings (default configuration), once computed
    warnings: list[str] = field(default_factory=list)  # what the program logged as warnings (pulumi.log.warn)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)

    def all_dependencies(self, resource: Registered) -> set[str]:
        """The URNs `resource` depends on as recorded, directly or through what it depends on."""
        seen, todo = set(), [resource]
        while todo:
            for urn in todo.pop().dependencies:
                if urn not in seen:
                    seen.add(urn)
                    todo.append(self.by_urn(urn))
        return seen

    def kubernetes_object(self, type_: str, name: str, namespace: str | None = None) -> Registered:
        """The one Kubernetes object of `type_` whose metadata names it `name` in `namespace`."""
        [found] = [r for r in self.of_type(type_) if r.inputs["metadata"]["name"] == name
                   and r.inputs["metadata"].get("namespace") == namespace]
        return found

    def subnet_ids(self, tier: str) -> list[str]:
        """Sorted ids of the network's `tier` ("public", "private", "database") subnets."""
        return sorted(self.ids_of(s) for s in self.of_type("aws:ec2/subnet:Subnet")
                      if s.name.startswith(f"network-{tier}-"))

    def ids_of(self, resource: Registered) -> str:
        """The id the mocks gave a custom resource (how other resources refer to it)."""
        return f"{resource.name}-id"


def _urns_for_refs(value: Any) -> Any:
    # The stock MockMonitor re-hydrates resource references on a worker thread, which fails at
    # random with "Future attached to a different loop"; the URN is all a test needs.
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_resource_sig:
            return value.get("urn")
        return {k: _urns_for_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_urns_for_refs(v) for v in value]
    return value


class RecordingMonitor(MockMonitor):
    """Records every registration; like the engine, refuses a default provider that the stack disabled
    (`pulumi:disable-default-providers`), which the stock mock monitor would silently allow."""

    def __init__(self, mocks: PlatformMocks, disabled_default_providers: list[str] | None = None):
        super().__init__(mocks)
        self.recorded: list[Registered] = []
        self._lock = threading.Lock()
        self.disabled = set(disabled_default_providers or [])

    def _require_explicit_provider(self, token: str, provider: str) -> None:
        package = token.split(":", 1)[0]
        if not provider and (package in self.disabled or "*" in self.disabled) and package != "pulumi":
            # The engine's own words (pulumi/pulumi#9060, #13071).
            raise Exception(f"Default provider for '{package}' disabled. '{token}' must use an explicit provider.")

    def Invoke(self, request):
        self._require_explicit_provider(request.tok, request.provider)
        return super().Invoke(request)

    def RegisterResource(self, request):
        if request.custom:
            self._require_explicit_provider(request.type, request.provider)
        if request.remote:
            package = request.type.split(":", 1)[0]
            self._require_explicit_provider(request.type, request.providers.get(package, ""))
        plain_strings: list[str] = []
        plain: dict[str, Any] = {}
        if request.type != "pulumi:pulumi:Stack":
            plain = _urns_for_refs(json_format.MessageToDict(request.object))
            _collect_plain_strings(plain, plain_strings)
            request.object.Clear()
            request.object.update(plain)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object)
        record = Registered(
            type=request.type,
            name=request.name,
            urn=response.urn,
            inputs=_plain(inputs),
            parent=request.parent,
            dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider,
            protect=bool(request.protect),
            ignore_changes=list(request.ignoreChanges),
            custom=bool(request.custom),
            retain_on_delete=bool(request.retainOnDelete),
            plain_strings=plain_strings,
            wire=plain,
            alias_names=[a.spec.name for a in request.aliases if a.spec.name],
            alias_types=[a.spec.type for a in request.aliases if a.spec.type],
            remote=bool(request.remote),
            providers=dict(request.providers),
        )
        with self._lock:
            self.recorded.append(record)
        return response


class _Recorder(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


def _recording(into: list[str]) -> logging.Logger:
    """A logger for the mock engine that keeps the program's warnings (and nothing reaches the terminal)."""
    logger = logging.getLogger(f"offline.engine.{id(into)}")
    logger.propagate = False
    logger.handlers = [_Recorder(into)]
    return logger


def secret_value(value: Any) -> Any:
    """The value inside a recorded input that was sent as a secret; fails if it was sent in the clear."""
    assert isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig, \
        f"not sent as a secret: {value!r}"
    return value["value"]


def _collect_plain_strings(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return  # sent as a secret: encrypted in state, masked in output
        for item in value.values():
            _collect_plain_strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _collect_plain_strings(item, out)
    elif isinstance(value, str):
        out.append(value)


def _plain(value: Any) -> Any:
    # Numbers cross the wire as floats; make whole ones ints so tests compare naturally.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _named(name: str, inputs: dict, region: str) -> dict:
    return {"name": inputs.get("name", name)}  # what the engine's auto-naming would give


def _rds_instance(name: str, inputs: dict, region: str) -> dict:
    identifier = inputs.get("identifier", name)
    outputs: dict[str, Any] = {"address": f"{identifier}.abcdefghijkl.{region}.rds.amazonaws.com"}
    if inputs.get("manageMasterUserPassword"):
        outputs["masterUserSecrets"] = [{"secretArn": rds_master_secret_arn(identifier, region),
                                         "secretStatus": "active", "kmsKeyId": inputs.get("masterUserSecretKmsKeyId")}]
    return outputs


def _secret(value: str) -> dict[str, Any]:
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


# What AWS (and the random provider) would add to each kind of resource: type -> (name, inputs, region) -> outputs.
COMPUTED_OUTPUTS: dict[str, Callable[[str, dict, str], dict]] = {
    "aws:iam/role:Role": lambda n, i, r: {"name": i.get("name", n),
                                          "arn": f"arn:aws:iam::{ACCOUNT}:role/{i.get('name', n)}"},
    "aws:kms/key:Key": lambda n, i, r: {"keyId": f"{n}-key", "arn": f"arn:aws:kms:{r}:{ACCOUNT}:key/{n}-key"},
    "aws:cloudwatch/logGroup:LogGroup": lambda n, i, r: {
        "name": i.get("name", n), "arn": f"arn:aws:logs:{r}:{ACCOUNT}:log-group:{i.get('name', n)}"},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda n, i, r: {"latestVersion": 1},
    "aws:eks/cluster:Cluster": lambda n, i, r: {
        "arn": f"arn:aws:eks:{r}:{ACCOUNT}:cluster/{i['name']}", "endpoint": cluster_endpoint(r),
        "certificateAuthority": {"data": CLUSTER_CA}, "identities": [{"oidcs": [{"issuer": cluster_oidc_issuer(r)}]}]},
    "aws:eks/nodeGroup:NodeGroup": lambda n, i, r: {
        "nodeGroupName": n, "resources": [{"autoscalingGroups": [{"name": f"eks-{n}-asg"}]}]},
    "aws:rds/subnetGroup:SubnetGroup": _named,
    "aws:rds/parameterGroup:ParameterGroup": _named,
    "aws:elasticache/subnetGroup:SubnetGroup": _named,
    # The provider marks `result` secret (additionalSecretOutputs); the engine does that, so the mocks must too.
    "random:index/randomPassword:RandomPassword": lambda n, i, r: {
        "result": _secret(f"mock-{n}-{'x' * 8}"), "bcryptHash": _secret(f"$2a$10$mock{n}")},
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda n, i, r: {"primaryEndpointAddress":
                                                                          f"master.{i.get('replicationGroupId', n)}"
                                                                          f".abc123.{short_region(r)}.cache.amazonaws.com"},
    "aws:s3/bucket:Bucket": lambda n, i, r: {"arn": f"arn:aws:s3:::{i.get('bucket', n)}"},
    "aws:secretsmanager/secret:Secret": lambda n, i, r: {
        "arn": f"arn:aws:secretsmanager:{r}:{ACCOUNT}:secret:{i.get('name', n)}-AbCdEf"},
    "aws:iam/policy:Policy": lambda n, i, r: {"arn": f"arn:aws:iam::{ACCOUNT}:policy/{i.get('name', n)}"},
    "pulumiservice:index:AgentPool": lambda n, i, r: {"agentPoolId": f"{n}-pool-id",
                                                      "tokenValue": _secret(f"mock-{n}-token")},
}


class PlatformMocks(Mocks):
    """Realistic outputs for what the program registers and invokes.

    In preview (a first `pulumi preview` of a new stack), nothing exists yet: each resource echoes its
    inputs and every computed output (ids, ARNs, endpoints) is unknown, so inputs built from them reach
    the engine, and the policy pack, as unknowns.
    """

    def __init__(self, region: str, preview: bool = False, caller: str | None = None) -> None:
        self.region = region
        self.preview = preview
        # Who runs Pulumi (sts:GetCallerIdentity's ARN). The account id stays ACCOUNT, in which every ARN the
        # program builds is made, so the tests' expected ARNs do not depend on the stack file's account.
        self.caller = caller or f"arn:aws:iam::{ACCOUNT}:role/deployer"

    def new_resource(self, args: MockResourceArgs):
        name, inputs = args.name, dict(args.inputs)
        if self.preview:
            return "", inputs
        computed = COMPUTED_OUTPUTS.get(args.typ)
        outputs = computed(name, inputs, self.region) if computed else {
            "arn": inputs.get("arn", f"arn:aws:mock:{self.region}:{ACCOUNT}:{args.typ.split(':')[-1]}/{name}")}
        return f"{name}-id", {**inputs, **outputs}

    def call(self, args: MockCallArgs):
        if args.token == "aws:eks/getAddonVersion:getAddonVersion":
            addon = args.args["addonName"]
            return {"id": addon, "addonName": addon, "kubernetesVersion": args.args["kubernetesVersion"],
                    "version": DEFAULT_ADDON_VERSIONS[addon]}
        if args.token == "aws:lb/getLoadBalancer:getLoadBalancer":
            # What the load balancer controller made for a Service named by aws-load-balancer-name.
            name = args.args["name"]
            return {"id": name, "name": name, "arn": f"arn:aws:elasticloadbalancing:{self.region}:{ACCOUNT}:"
                    f"loadbalancer/net/{name}/0123456789abcdef", "arnSuffix": f"net/{name}/0123456789abcdef"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com"}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"id": ACCOUNT, "accountId": ACCOUNT, "arn": self.caller, "userId": "AROAEXAMPLE:mlplatform"}
        raise NotImplementedError(f"no mock for invoke {args.token}")


def stacks(program: Path = ROOT) -> list[str]:
    """The stacks that have a Pulumi.<stack>.yaml next to `program`'s __main__.py."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in program.glob("Pulumi.*.yaml"))


def stack_file(stack: str, directory: Path = ROOT) -> Path:
    return directory / f"Pulumi.{stack}.yaml"


def stack_config(stack: str, program: Path = ROOT, stack_files: Path | None = None) -> dict[str, Any]:
    """The config of Pulumi.<stack>.yaml (in `stack_files`, by default the program's directory) as
    {key: value}, e.g. {"mlplatform:network": {...}}. A file that is not valid YAML raises StackFileError."""
    path = stack_file(stack, stack_files or program)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{_shown(path)}:{mark.line + 1}:{mark.column + 1}" if mark else _shown(path)
        raise StackFileError(f"{where}: {error.problem or error.context}") from None
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise StackFileError(f"{_shown(path)}: no `config:` map; see Pulumi.dev.yaml for the shape of a stack file")
    return copy.deepcopy(config)


def _session(config: dict[str, Any]) -> str | None:
    """An assumed-role session of the role a stack's deploys run as: its deploy role, else its first admin."""
    cluster = config.get("mlplatform:cluster")
    if not isinstance(cluster, dict):
        return None
    admins = cluster.get("adminRoleArns")
    role = cluster.get("deployRoleArn") or (admins[0] if isinstance(admins, list) and admins else None)
    if not isinstance(role, str) or role.count(":") < 5:
        return None
    account, name = role.split(":")[4], role.rsplit("/", 1)[-1]
    return f"arn:aws:sts::{account}:assumed-role/{name}/mlplatform"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def evaluate(stack: str, change: Callable[[dict[str, Any]], None] | None = None,
             program: Path = ROOT, preview: bool = False, stack_files: Path | None = None,
             caller: str | None = None) -> StackResult:
    """Run `program`/__main__.py for `stack` under mocks; `change` may edit the config first. The stack file is
    `stack_files`/Pulumi.<stack>.yaml (default: the program's own).

    `preview=True` evaluates it as the first `pulumi preview` of the stack: computed outputs unknown. `caller` is
    who runs it (an ARN); by default a session of the stack's deploy role, or of its first admin role."""
    project = yaml.safe_load((program / "Pulumi.yaml").read_text())["name"]
    config = stack_config(stack, program, stack_files)
    if change:
        change(config)
    as_strings = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}

    # The language host runs a program from its directory, so the program imports its own modules.
    if str(program) not in sys.path:
        sys.path.insert(0, str(program))
    region = config.get("aws:region")
    mocks = PlatformMocks(region if isinstance(region, str) else "us-east-1", preview, caller or _session(config))
    disabled = config.get("pulumi:disable-default-providers") or []
    monitor = RecordingMonitor(mocks, disabled if isinstance(disabled, list) else json.loads(disabled))
    settings.ROOT.set(None)  # a fresh stack resource for each evaluation
    pulumi.runtime.set_all_config(as_strings, [])
    result = StackResult(stack=stack)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor,
                             logger=_recording(result.warnings))

    @pulumi.runtime.test
    def run():
        runpy.run_path(str(program / "__main__.py"), run_name="__main__")
        root: Any = settings.get_root_resource()  # the Stack resource, which holds the exports
        outputs = {k: pulumi.Output.from_input(v) for k, v in root.outputs.items()}

        async def secret_keys():
            return {k for k, out in outputs.items() if await out.is_secret()}

        def record(both: list[Any]) -> None:
            result.exports.update(both[0])
            result.secret_exports.update(both[1])

        secrets = pulumi.Output.from_input(asyncio.ensure_future(secret_keys()))
        return pulumi.Output.all(pulumi.Output.all(**outputs), secrets).apply(record)

    try:
        run()
    except Exception as err:  # the test decides whether an error was expected
        result.error = err
    result.resources = list(monitor.recorded)
    return result
