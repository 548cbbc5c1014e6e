"""`make upstream`: fetch each upstream repository the overlays build from once, verified, into a local cache,
and point every build's git at it.

Kubernetes' provider builds each overlay at every preview and update with kustomize, which shallow-clones each
remote reference anew: about 19 fetches per run, 15 of them the same Kubeflow commit, each git command limited to
27 s (docs/delivery.md). Instead:

    python -m tools.upstream fetch            # once per pin: each UPSTREAMS repository at its commit, checked
    python -m tools.upstream run -- CMD ...   # fetch, then run CMD with git redirected to the cache
    python -m tools.upstream env              # the redirect as `export` lines, for a shell or a CI step

The redirect is git's own `url.<cache>.insteadOf` setting, passed in the environment (GIT_CONFIG_COUNT/KEY/VALUE,
git 2.31+), which kustomize's git inherits through `pulumi` and its provider; nothing in the overlays changes, and a
build without it fetches from GitHub as before. A commit's hash is the checksum git verifies for every object it
fetches; a tag must still resolve to its pinned commit, or the fetch fails. The JobSet release asset comes over
HTTPS, which git cannot serve: it stays one download per build.

Where: MLPLATFORM_UPSTREAM_CACHE (default ~/.cache/mlplatform/upstream). From where: each repository's URL, or,
with no network, MLPLATFORM_UPSTREAM_SOURCE, a directory holding <owner>+<name> git repositories (or
<owner>+<name>/repo). Behind a proxy, git honours HTTPS_PROXY; keep the cluster's endpoint in NO_PROXY.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from components.versions import UPSTREAMS, Upstream

DEFAULT_CACHE = Path.home() / ".cache" / "mlplatform" / "upstream"


class UpstreamError(Exception):
    """A repository could not be fetched, or is not what its pin says."""


def cache_dir() -> Path:
    return Path(os.environ.get("MLPLATFORM_UPSTREAM_CACHE", DEFAULT_CACHE))


def mirror(upstream: Upstream, cache: Path) -> Path:
    """Where the cache keeps a repository: <cache>/<owner>/<name>, a bare repository."""
    owner, name = upstream.repo.removeprefix("https://github.com/").split("/")[:2]
    return cache / owner / name


def _source(upstream: Upstream) -> str:
    offline = os.environ.get("MLPLATFORM_UPSTREAM_SOURCE")
    if not offline:
        return upstream.repo
    owner, name = upstream.repo.removeprefix("https://github.com/").split("/")[:2]
    for candidate in (Path(offline) / f"{owner}+{name}" / "repo", Path(offline) / f"{owner}+{name}"):
        if candidate.is_dir():
            return str(candidate)
    raise UpstreamError(f"{upstream.repo}: no {owner}+{name} repository in MLPLATFORM_UPSTREAM_SOURCE={offline}")


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # Our own git must not follow the redirect this tool sets up for others.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG_")}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _commit_of(repository: Path, ref: str) -> str | None:
    found = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repository)
    return found.stdout.strip() if found.returncode == 0 else None


def fetch(upstream: Upstream, cache: Path) -> bool:
    """Make sure the cache holds `upstream` at its commit (and its ref, for a tag); True if it had to fetch."""
    repository = mirror(upstream, cache)
    is_commit = upstream.ref == upstream.commit
    ref = upstream.commit if is_commit else f"refs/tags/{upstream.ref}"
    if repository.is_dir() and _commit_of(repository, ref) == upstream.commit:
        return False
    repository.mkdir(parents=True, exist_ok=True)
    _git("init", "--quiet", "--bare", cwd=repository)
    # kustomize asks for the pinned commit itself (?ref=<sha>): let the cache serve any object it holds.
    _git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=repository)
    refspec = f"+{upstream.commit}:refs/pins/{upstream.commit}" if is_commit else f"+{ref}:{ref}"
    done = _git("fetch", "--quiet", "--depth=1", "--no-tags", _source(upstream), refspec, cwd=repository)
    if done.returncode != 0:
        raise UpstreamError(f"could not fetch {upstream.repo} at {upstream.ref}: {done.stderr.strip()}")
    found = _commit_of(repository, ref)
    if found != upstream.commit:
        raise UpstreamError(f"{upstream.repo} {upstream.ref} is {found}, not the pinned {upstream.commit} "
                            "(components/versions.py UPSTREAMS): refusing it")
    return True


def fetch_all(cache: Path | None = None, upstreams: tuple[Upstream, ...] = UPSTREAMS) -> list[Upstream]:
    """Every upstream in the cache at its pin; the ones that had to be fetched."""
    cache = cache or cache_dir()
    return [u for u in upstreams if fetch(u, cache)]


def redirect(cache: Path | None = None, upstreams: tuple[Upstream, ...] = UPSTREAMS) -> dict[str, str]:
    """The environment that sends git's requests for each upstream to its cached copy."""
    cache = (cache or cache_dir()).absolute()  # as given: a symlinked /tmp stays the path the runner sees
    env = {"GIT_CONFIG_COUNT": str(len(upstreams))}
    for index, upstream in enumerate(upstreams):
        env[f"GIT_CONFIG_KEY_{index}"] = f"url.file://{mirror(upstream, cache)}.insteadOf"
        env[f"GIT_CONFIG_VALUE_{index}"] = upstream.repo
    return env


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("fetch", [])
    try:
        if command in ("fetch", "run"):
            fetched = fetch_all()
            print(f"upstream: {len(UPSTREAMS)} repositories at their pins in {cache_dir()} "
                  f"({len(fetched)} fetched now)", file=sys.stderr)
    except UpstreamError as failed:
        print(f"error: {failed}", file=sys.stderr)
        return 1
    if command == "env":
        print("\n".join(f"export {key}={value!r}" for key, value in redirect().items()))
        return 0
    if command == "run":
        args = rest[1:] if rest[:1] == ["--"] else rest
        os.execvpe(args[0], args, {**os.environ, **redirect()})
    if command != "fetch":
        print("usage: python -m tools.upstream fetch | env | run -- COMMAND...", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
