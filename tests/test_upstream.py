"""Each upstream repository is fetched once per pin, verified, and every build's git reads it from the cache
(tools/upstream.py), tried with real git against repositories made here: no network."""

import os
import re
import shutil
import subprocess

import pytest

from components.versions import JOBSET_RELEASE_ASSET, UPSTREAMS, Upstream
from offline.engine import ROOT
from tools import upstream


def _git(*args, cwd, env=None):
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t.invalid",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t.invalid", **(env or {})})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def sources(tmp_path, monkeypatch):
    """Two repositories as GitHub would serve them: example/tagged (tag v1) and example/pinned (a commit)."""
    made = {}
    for name in ("tagged", "pinned"):
        work = tmp_path / "work" / name
        work.mkdir(parents=True)
        _git("init", "--quiet", cwd=work)
        (work / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
        (work / "cm.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n")
        _git("add", ".", cwd=work)
        _git("commit", "--quiet", "-m", "one", cwd=work)
        _git("tag", "v1", cwd=work)
        shutil.copytree(work / ".git", tmp_path / "source" / f"example+{name}")
        made[name] = _git("rev-parse", "HEAD", cwd=work)
    monkeypatch.setenv("MLPLATFORM_UPSTREAM_SOURCE", str(tmp_path / "source"))
    return (Upstream("https://github.com/example/tagged", "v1", made["tagged"]),
            Upstream("https://github.com/example/pinned", made["pinned"], made["pinned"]))


def test_each_upstream_is_fetched_once_per_pin(sources, tmp_path):
    cache = tmp_path / "cache"
    assert upstream.fetch_all(cache, sources) == list(sources)
    assert upstream.fetch_all(cache, sources) == []  # the cache holds both: nothing to fetch
    assert (cache / "example" / "tagged").is_dir() and (cache / "example" / "pinned").is_dir()


def test_a_tag_that_is_not_its_pinned_commit_is_refused(sources, tmp_path):
    tagged, _ = sources
    moved = Upstream(tagged.repo, tagged.ref, "0" * 40)
    with pytest.raises(upstream.UpstreamError, match=r"example/tagged v1 is [0-9a-f]{40}, not the pinned 0{40}"):
        upstream.fetch(moved, tmp_path / "cache")


def test_builds_read_the_cache_through_gits_own_redirect(sources, tmp_path):
    """What kustomize runs for a remote base (`git fetch --depth=1 <url> <ref>`), with the redirect in its
    environment: served from the cache, offline, for a tag and for a commit."""
    cache = tmp_path / "cache"
    upstream.fetch_all(cache, sources)
    redirect = upstream.redirect(cache, sources)
    for pinned in sources:
        clone = tmp_path / "clone" / pinned.repo.rsplit("/", 1)[1]
        clone.mkdir(parents=True)
        _git("init", "--quiet", cwd=clone)
        _git("fetch", "--depth=1", pinned.repo, pinned.ref, cwd=clone, env=redirect)
        assert _git("rev-parse", "FETCH_HEAD", cwd=clone, env=redirect) == pinned.commit


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl (its embedded kustomize)")
def test_kustomize_builds_a_remote_base_from_the_cache(sources, tmp_path):
    tagged, pinned = sources
    cache = tmp_path / "cache"
    upstream.fetch_all(cache, sources)
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        f"resources:\n- {tagged.repo}//?ref={tagged.ref}\n- {pinned.repo}//?ref={pinned.commit}\n")
    built = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True,
                           env={**os.environ, **upstream.redirect(cache, sources)})
    assert built.returncode == 0, built.stderr
    assert re.findall(r"name: (\w+)", built.stdout) == ["pinned", "tagged"]


def test_every_remote_base_of_the_overlays_is_a_pinned_upstream():
    """Our overlays reference Kubeflow's repository at its pin; nothing else is cloned per build except what
    Kubeflow's own manifests reference (argo-workflows, pinned here) and the JobSet asset (HTTPS)."""
    pinned = {(u.repo, u.ref) for u in UPSTREAMS}
    for overlay in (ROOT / "components").glob("*/overlays/*/kustomization.yaml"):
        for repo, ref in re.findall(r"(https://github\.com/[\w-]+/[\w.-]+?)//[^?\s]*\?ref=(\S+)", overlay.read_text()):
            assert (repo, ref) in pinned, overlay
    for pin in UPSTREAMS:
        assert re.fullmatch(r"[0-9a-f]{40}", pin.commit) and pin.repo.startswith("https://github.com/")
    assert JOBSET_RELEASE_ASSET.endswith("/v0.11.0/manifests.yaml")


def test_the_redirect_names_each_upstreams_cache(tmp_path):
    env = upstream.redirect(tmp_path)
    assert env["GIT_CONFIG_COUNT"] == str(len(UPSTREAMS))
    keys = [env[f"GIT_CONFIG_KEY_{i}"] for i in range(len(UPSTREAMS))]
    assert keys == [f"url.file://{tmp_path}/{u.repo.removeprefix('https://github.com/')}.insteadOf" for u in UPSTREAMS]
    assert [env[f"GIT_CONFIG_VALUE_{i}"] for i in range(len(UPSTREAMS))] == [u.repo for u in UPSTREAMS]
