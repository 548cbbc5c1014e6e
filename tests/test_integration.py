"""The ephemeral-stack test: `pulumi up` of a uniquely named stack, `make verify`'s checks against it, `pulumi
destroy`, and nothing tagged as the stack's left in the account. Real AWS, real money (about an hour of a dev stack:
roughly $1-2 in compute and the NAT gateway), so never part of `make test`: it runs only with
MLPLATFORM_INTEGRATION_CONFIG naming a stack file with your account's values (see docs/testing.md), through
`make integration` or the `integration` workflow. Each phase's wall time is printed."""

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml

from offline.engine import ROOT
from verify import teardown

CONFIG = os.environ.get("MLPLATFORM_INTEGRATION_CONFIG")

pytestmark = pytest.mark.skipif(
    not CONFIG, reason="the ephemeral-stack test deploys to AWS: set MLPLATFORM_INTEGRATION_CONFIG to a stack file "
                       "with your account's values and run `make integration`")


def test_up_verify_destroy_leaves_nothing():
    from botocore.session import get_session
    from pulumi import automation

    settings = yaml.safe_load(Path(CONFIG).read_text())["config"]
    name = f"verify-{uuid.uuid4().hex[:6]}"
    cluster = f"mlplatform-{name}"
    stack = automation.create_stack(stack_name=name, work_dir=str(ROOT))
    # Structured values as JSON text, as the program reads them (components/config: _decode).
    stack.set_all_config({key: automation.ConfigValue(value=value if isinstance(value, str) else json.dumps(value))
                          for key, value in settings.items()}, path=False)
    timings: dict[str, float] = {}
    verified = None
    try:
        start = time.monotonic()
        stack.up(on_output=print)
        timings["up"] = time.monotonic() - start
        start = time.monotonic()
        verified = subprocess.run(["make", "verify", f"STACK={name}"], cwd=ROOT, text=True)
        timings["verify"] = time.monotonic() - start
    finally:
        start = time.monotonic()
        stack.destroy(on_output=print)
        timings["destroy"] = time.monotonic() - start
        stack.workspace.remove_stack(name)
        region = settings["aws:region"]
        tagging = get_session().create_client("resourcegroupstaggingapi", region_name=region)
        start = time.monotonic()
        left = teardown.wait_until_gone(tagging, name, cluster)
        timings["teardown check"] = time.monotonic() - start
        print("phase wall times: " + ", ".join(f"{phase} {seconds / 60:.1f} min" for phase, seconds in timings.items()))
    assert verified is not None and verified.returncode == 0, "make verify failed: its lines above say which check"
    assert left == [], f"destroy left {len(left)} resources tagged as the stack's: {left}"
