"""The stacks the tests own: tests/stacks/Pulumi.<stack>.yaml (and deployments/Pulumi.bootstrap.yaml).

Tests that assert exact values (a name, a size, a region, an ARN) evaluate these fixtures, never the stack files
at the project root: those belong to whoever deploys the platform, and tests/test_stack_files.py checks them
only for what must hold in any valid configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline import engine
from offline.engine import ROOT, StackResult

FIXTURES = Path(__file__).parent / "stacks"
DEPLOYMENTS = ROOT / "deployments"
REGION = "us-east-1"  # the fixtures' aws:region
CLUSTER_ENDPOINT = engine.cluster_endpoint(REGION)
CLUSTER_OIDC_ISSUER = engine.cluster_oidc_issuer(REGION)


def stack_config(stack: str) -> dict[str, Any]:
    directory = FIXTURES / "deployments" if stack == "bootstrap" else FIXTURES
    return engine.stack_config(stack, stack_files=directory)


def evaluate(stack: str, change: Callable[[dict[str, Any]], None] | None = None, program: Path = ROOT,
             preview: bool = False, caller: str | None = None) -> StackResult:
    directory = FIXTURES / "deployments" if program == DEPLOYMENTS else FIXTURES
    return engine.evaluate(stack, change, program=program, preview=preview, stack_files=directory, caller=caller)


def rds_master_secret_arn(identifier: str) -> str:
    return engine.rds_master_secret_arn(identifier, REGION)
