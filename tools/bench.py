"""`make bench`: how long the offline program takes, as figures (no test asserts a duration).

For each stack file: evaluating the program under mocks, running the policy pack over it, and the whole of
`make plan`; with renders (`make renders`), the pack over the stack and every rendered object as a preview hands
it over, CRD schemas included; then how evaluation grows with teams (per team, and as a ratio to the stack as it
is). Each figure is the median of a few runs on this machine, so compare ratios across machines, not seconds.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from offline import analyzer, plan, renders
from offline.engine import evaluate, stacks

RUNS = 3


def _median(work: Callable[[], Any], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _with_teams(count: int) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        kubeflow = config.setdefault("mlplatform:kubeflow", {})
        kubeflow["teams"] = list(kubeflow.get("teams", [])) + [
            {"name": f"bench-{i:03d}", "owner": f"lead{i}@bench.invalid"} for i in range(count)]
    return change


def main() -> int:
    evaluate(stacks()[0])  # the first evaluation imports the provider SDKs: not part of any figure
    servicer = analyzer.load_pack()
    print("| Stack | Resources | Evaluate | Policy pack | make plan | Rendered objects | Pack with them |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for stack in stacks():
        result = evaluate(stack)
        if result.error:
            print(f"| `{stack}` | config error: {str(result.error).splitlines()[0]} | | | | | |")
            continue
        evaluating = _median(partial(evaluate, stack))
        analysing = _median(partial(analyzer.analyze, result.resources, servicer))
        planning = _median(partial(plan.build, stack), runs=1)
        children = renders.children(result) if renders.available() else []
        with_children = _median(partial(analyzer.analyze, result.resources + children, servicer), runs=1) \
            if children else None
        print(f"| `{stack}` | {len(result.resources)} | {evaluating:.2f} s | {analysing:.2f} s | {planning:.2f} s "
              f"| {len(children) or 'no renders'} | {f'{with_children:.1f} s' if with_children else ''} |")

    stack = stacks()[0]
    base = _median(partial(evaluate, stack))
    print(f"\nTeams (`{stack}` with more teams):\n")
    print("| Extra teams | Evaluate | Ratio to none | Per extra team |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| 0 | {base:.2f} s | 1.00 | |")
    for count in (10, 50):
        seconds = _median(partial(evaluate, stack, _with_teams(count)))
        print(f"| {count} | {seconds:.2f} s | {seconds / base:.2f} | {(seconds - base) / count * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
