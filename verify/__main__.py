"""python -m verify <stack> [--gpu]: run every check against a deployed stack, one line each; exit 1 if any fails,
2 if the stack cannot be reached at all."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from verify import checks


def stack_outputs(stack: str) -> dict[str, Any]:
    """`pulumi stack output` of the stack, secrets included (the kubeconfig is one)."""
    run = subprocess.run(["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise LookupError(run.stderr.strip() or f"pulumi stack output --stack {stack} failed")
    return json.loads(run.stdout or "{}")


def target_of(stack: str, outputs: dict[str, Any]) -> checks.Target:
    """What the checks need, from the outputs the program exports (__main__.py)."""
    missing = [k for k in ("kubeflow_url", "artifact_bucket", "kubeconfig", "teams", "applications", "production")
               if k not in outputs]
    if missing:
        raise LookupError(f"stack {stack} has no output {', '.join(missing)}: is it deployed, with this version of "
                          "the program? (`pulumi stack output`)")
    hostname = outputs["kubeflow_url"].removeprefix("https://").rstrip("/")
    return checks.Target(stack, hostname, outputs["artifact_bucket"], outputs["teams"], outputs["applications"],
                         outputs["production"])


def live_ports(outputs: dict[str, Any]) -> checks.Ports:
    from verify import live
    config = outputs["kubeconfig"]
    config = json.loads(config) if isinstance(config, str) else config
    exec_args = config["users"][0]["user"]["exec"]["args"]  # aws eks get-token ... --region <region>
    region = exec_args[exec_args.index("--region") + 1]
    return checks.Ports(live.LiveKube(config), live.LiveWeb(), live.LiveStore(region), live.LivePipelines())


def main(argv: list[str], outputs_of: Callable[[str], dict[str, Any]] = stack_outputs,
         ports_of: Callable[[dict[str, Any]], checks.Ports] = live_ports) -> int:
    parser = argparse.ArgumentParser(prog="make verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack")
    parser.add_argument("--gpu", action="store_true", help="also start a GPU node from zero (costs about 10 minutes "
                                                           "of the smallest GPU instance)")
    args = parser.parse_args(argv)
    try:
        outputs = outputs_of(args.stack)
        target = target_of(args.stack, outputs)
        ports = ports_of(outputs)
    except (LookupError, ValueError, KeyError, OSError) as error:
        print(f"FAIL  stack {args.stack}: {error}")
        return 2
    results = checks.run(target, ports, with_gpu=args.gpu)
    for result in results:
        print(result.line())
    failed = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} checks passed on {target.hostname}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
