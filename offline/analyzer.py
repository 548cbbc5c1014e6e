"""The policy pack as `pulumi preview --policy-pack policies` runs it.

The pack's own entry point (policies/__main__.py) builds its `PolicyPack`; instead of serving gRPC, the
analyzer servicer it creates is captured and called the way the engine calls it: `Analyze` for each
resource and `AnalyzeStack` for the whole stack, with `analyzer_pb2` requests whose properties are
protobuf Structs. Policies therefore see exactly what they see under the CLI: read-only Mapping/Sequence
proxies, numbers as floats, secrets unwrapped, and (in a preview) unknown values that raise when read.
An exception in a policy propagates out of these calls, as it fails a real preview.
"""

from __future__ import annotations

import io
import json
import runpy
import sys
from dataclasses import dataclass
from typing import Any
from unittest import mock

from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import EnforcementLevel
from pulumi_policy import policy as pulumi_policy_module

from offline.engine import ROOT, Registered, StackResult

PACK_DIR = ROOT / "policies"
PACK_ENTRY_POINT = PACK_DIR / "__main__.py"
# The pack imports its rules as a top-level package, as `pulumi preview --policy-pack policies` runs it.
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))
LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
PREVIEW_SKIP = "during preview"  # how the servicer words a policy that read an unknown value


@dataclass(frozen=True)
class Finding:
    policy: str
    level: str     # "mandatory" or "advisory"
    message: str   # the policy's description, a newline, then what the policy reported
    urn: str

    @property
    def report(self) -> str:
        """What the policy itself reported (without the description the servicer puts first)."""
        return self.message.split("\n", 1)[-1]


class _NoServer:
    def add_insecure_port(self, address: str) -> int:
        return 0

    def start(self) -> None:
        pass

    def stop(self, _grace) -> None:
        pass


def _stop_serving(_seconds: float) -> None:
    raise KeyboardInterrupt  # PolicyPack's serving loop stops the server and returns on this


def load_pack():
    """Run policies/__main__.py and return the analyzer servicer its PolicyPack builds."""
    captured: dict[str, Any] = {}
    with mock.patch.object(pulumi_policy_module.grpc, "server", lambda *a, **k: _NoServer()), \
            mock.patch.object(pulumi_policy_module.analyzer_pb2_grpc, "add_AnalyzerServicer_to_server",
                              lambda servicer, _server: captured.update(servicer=servicer)), \
            mock.patch.object(pulumi_policy_module.time, "sleep", _stop_serving), \
            mock.patch.object(pulumi_policy_module.sys, "stdout", io.TextIOWrapper(io.BytesIO())):
        # (stdout: where the pack announces its port to the engine)
        runpy.run_path(str(PACK_ENTRY_POINT), run_name="__main__")
    return captured["servicer"]


def configure(servicer, config: dict[str, dict[str, Any]]) -> None:
    """Policy config as the engine passes it (the policy's own enforcement level with its properties)."""
    from mlplatform_policies import ALL_POLICIES

    levels = {p.name: p.enforcement_level for p in ALL_POLICIES}
    wire_levels = {EnforcementLevel.ADVISORY: analyzer_pb2.ADVISORY, EnforcementLevel.MANDATORY: analyzer_pb2.MANDATORY}
    servicer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        name: analyzer_pb2.PolicyConfig(enforcementLevel=wire_levels[levels[name]], properties=_struct(properties))
        for name, properties in config.items()}), None)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(value, struct_pb2.Struct())


def _options(resource: Registered) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect, ignoreChanges=resource.ignore_changes,
                                                parent=resource.parent)


def _provider(resource: Registered, by_urn: dict[str, Registered]) -> analyzer_pb2.AnalyzerProviderResource | None:
    urn = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
    provider = by_urn.get(urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=provider.type, properties=_struct(provider.wire),
                                                 urn=provider.urn, name=provider.name)


def _findings(response, analyzed_urn: str = "") -> list[Finding]:
    # A resource policy's diagnostic carries no URN: the engine attributes it to the resource analyzed.
    return [Finding(d.policyName, LEVELS[d.enforcementLevel], d.message, d.urn or analyzed_urn)
            for d in response.diagnostics]


def analyze(resources: list[Registered], servicer=None) -> list[Finding]:
    """Every finding of the pack for these resources: each one through Analyze, then all through
    AnalyzeStack."""
    servicer = servicer or load_pack()
    by_urn = {r.urn: r for r in resources}
    findings: list[Finding] = []
    for r in resources:
        request = analyzer_pb2.AnalyzeRequest(type=r.type, properties=_struct(r.wire), urn=r.urn, name=r.name,
                                              options=_options(r), provider=_provider(r, by_urn))
        findings += _findings(servicer.Analyze(request, None), r.urn)
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.wire), urn=r.urn, name=r.name, options=_options(r),
            provider=_provider(r, by_urn), parent=r.parent, dependencies=r.dependencies,
            propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                                  for k, v in r.property_dependencies.items()})
        for r in resources])
    findings += _findings(servicer.AnalyzeStack(stack, None))
    return findings


def stack_findings(result: StackResult, servicer=None) -> list[Finding]:
    """The pack's findings for an evaluated stack; with the pack's default configuration they are computed once
    per StackResult (the analysis is the costly part of a plan)."""
    if servicer is not None:
        return analyze(result.resources, servicer)
    if result.findings is None:
        result.findings = analyze(result.resources)
    return list(result.findings)


# ---- resources written by a test ---------------------------------------------------------------------

def urn(stack: str, resource_type: str, name: str) -> str:
    return f"urn:pulumi:{stack}::mlplatform::{resource_type}::{name}"


def resource(resource_type: str, name: str, props: dict[str, Any], stack: str = "dev", protect: bool = False,
             property_dependencies: dict[str, list[Registered]] | None = None,
             provider: Registered | None = None) -> Registered:
    """A resource as the engine would register it, for a policy test case."""
    return Registered(
        type=resource_type, name=name, urn=urn(stack, resource_type, name), inputs=props,
        parent=urn(stack, "pulumi:pulumi:Stack", f"mlplatform-{stack}"), dependencies=[],
        property_dependencies={k: [d.urn for d in v] for k, v in (property_dependencies or {}).items()},
        provider=f"{provider.urn}::{provider.name}-id" if provider else "", protect=protect, ignore_changes=[],
        custom=True, wire=props)


def aws_provider(stack: str, production: bool) -> Registered:
    """The AWS provider the program creates, tagging every resource `production: "true"|"false"` (provider
    inputs reach the engine with nested values as JSON text)."""
    tags = json.dumps({"tags": {"environment": "x", "production": "true" if production else "false"}})
    return resource("pulumi:providers:aws", "aws", {"region": "us-east-1", "defaultTags": tags}, stack=stack)
