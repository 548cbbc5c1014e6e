"""`make renders`: every overlay built as the Kubernetes provider builds it at deploy time, into .renders/<overlay>.yaml
(not committed), for the tests that check the rendered objects (tests/test_rendered.py; they skip without them).

Each overlay is built with `kubectl kustomize` (kustomize v5, as the provider embeds it) under the upstream
redirect of tools/upstream.py: the pinned repositories come from the local cache, fetched once. Needs kubectl, git
and, for a cold cache or the JobSet release asset, github.com.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools import generate, upstream

RENDERS = generate.ROOT / ".renders"


def render(overlay: Path, env: dict[str, str]) -> str:
    built = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, env=env)
    if built.returncode != 0:
        raise RuntimeError(f"{overlay.relative_to(generate.ROOT)}: {built.stderr.strip()[-500:]}")
    return built.stdout


def main() -> int:
    if shutil.which("kubectl") is None:
        print("error: make renders needs kubectl (its embedded kustomize builds the overlays)", file=sys.stderr)
        return 1
    try:
        upstream.fetch_all()
    except upstream.UpstreamError as unavailable:
        print(f"error: {unavailable}", file=sys.stderr)
        return 1
    env = {**os.environ, **upstream.redirect()}
    RENDERS.mkdir(exist_ok=True)
    failed = 0
    for kustomization in generate.overlays():
        overlay = kustomization.parent
        try:
            (RENDERS / f"{overlay.name}.yaml").write_text(render(overlay, env))
            print(f"rendered {overlay.relative_to(generate.ROOT)}")
        except RuntimeError as error:
            failed += 1
            print(f"error: {error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
