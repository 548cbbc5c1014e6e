"""Pins a bot can update: every version the program deploys sits in components/versions.py under the marker the
Renovate config reads, the Kubeflow commit is written there once (make generate copies it into the overlays), and
a package pinned in several requirements files has one version."""

import json
import re

import pytest

from components import versions
from offline.engine import ROOT

RENOVATE = json.loads((ROOT / "renovate.json").read_text())
VERSIONS = (ROOT / "components" / "versions.py").read_text()


def _python(pattern: str) -> re.Pattern[str]:
    """A Renovate (JavaScript) regex as Python's: named groups are (?<name>...) there, (?P<name>...) here."""
    return re.compile(re.sub(r"\(\?<(?=[a-zA-Z])", "(?P<", pattern))


def _renovate_finds(path: str, text: str) -> list[dict[str, str]]:
    found = []
    for manager in RENOVATE["customManagers"]:
        patterns = [_python(p.strip("/")) for p in manager["managerFilePatterns"]]
        if any(p.search(path) for p in patterns):
            for match_string in manager["matchStrings"]:
                found += [{k: v for k, v in m.groupdict().items() if v} for m in _python(match_string).finditer(text)]
    return found


def test_renovate_reads_every_pin_in_versions_py_with_its_current_value():
    read = _renovate_finds("components/versions.py", VERSIONS)
    found = {d["depName"]: d for d in read}
    charts = [v for v in vars(versions).values() if isinstance(v, versions.Chart) and v.repo != versions.ISTIO_REPO]
    for chart in charts:
        assert found[chart.name]["currentValue"] == chart.version and found[chart.name]["registryUrl"] == chart.repo
    assert found["istiod"]["currentValue"] == versions.ISTIO_VERSION
    assert found["https://github.com/kubeflow/community-distribution"]["currentDigest"] == versions.KUBEFLOW_REF
    assert found["public.ecr.aws/docker/library/mysql"]["currentValue"] == versions.MYSQL_CLIENT_IMAGE.rsplit(":")[1]
    # one cluster-autoscaler image per Kubernetes minor
    autoscalers = [d["currentValue"] for d in read if d["depName"] == "registry.k8s.io/autoscaling/cluster-autoscaler"]
    assert autoscalers == [v.cluster_autoscaler_image for v in versions.KUBERNETES_VERSIONS.values()]
    frontend = found["ghcr.io/kubeflow/kfp-frontend"]["currentValue"]
    assert frontend == versions.KFP_FRONTEND_IMAGE.rsplit(":")[1]
    assert found["ghcr.io/mlflow/mlflow"]["currentValue"] == versions.MLFLOW_IMAGE.rsplit(":")[1]
    for image in (versions.VERIFY_AWS_CLI_IMAGE, versions.VERIFY_CUDA_IMAGE):
        assert found[image.rsplit(":", 1)[0]]["currentValue"] == image.rsplit(":", 1)[1]
    assert len(found) == len(charts) + 8
    # every marker is read: one a pattern missed would leave its pin to rot
    markers = [line for line in VERSIONS.splitlines() if line.strip().startswith("# renovate:")]
    assert len(markers) == len(read)


@pytest.mark.parametrize("overlay", sorted((ROOT / "components").glob("*/overlays/*/kustomization.yaml")),
                         ids=lambda p: p.parent.name)
def test_renovate_moves_the_overlays_commit_with_versions_py(overlay):
    """The commit is written in versions.py; the overlays carry it where kustomize reads it, and Renovate updates
    them in the same pull request (make generate rewrites them from versions.py; tests/test_generated.py fails when
    they differ)."""
    refs = [d["currentDigest"] for d in _renovate_finds(str(overlay.relative_to(ROOT)), overlay.read_text())]
    assert refs and set(refs) == {versions.KUBEFLOW_REF}
    assert len(refs) == overlay.read_text().count("?ref=")


def test_a_package_pinned_in_several_requirements_files_has_one_version():
    pins: dict[str, set[str]] = {}
    for path in (ROOT / "requirements.txt", ROOT / "requirements-dev.txt", ROOT / "policies" / "requirements.txt",
                 ROOT / "deployments" / "requirements.txt"):
        for line in path.read_text().splitlines():
            if "==" in line and not line.lstrip().startswith("#"):
                name, version = line.split("#")[0].strip().split("==")
                pins.setdefault(name.lower(), set()).add(version)
    assert {name: found for name, found in pins.items() if len(found) > 1} == {}
    assert "pulumi" in pins and "pulumi-policy" in pins
