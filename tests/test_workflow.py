"""The pull-request workflow (.github/workflows/checks.yml): the README's test command, then every stack's plan."""

import os
import subprocess

import yaml

from offline.engine import ROOT, stacks

WORKFLOW = ROOT / ".github" / "workflows" / "checks.yml"


def _steps():
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]


def test_runs_the_readme_test_command_first():
    runs = [s["run"] for s in _steps() if "run" in s]
    assert runs[0] == "make test"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_plans_every_stack_into_the_summary_and_fails_if_any_fails(tmp_path):
    """Run the step's script with `make` replaced by a recorder that fails for the first stack."""
    script = _steps()[-1]["run"]
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    first = stacks()[0]
    (fake / "make").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n[ "$2" != "STACK={first}" ]\n')
    (fake / "make").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    done = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert calls.read_text().splitlines() == [
        f"plan STACK={s} PLAN_ARGS=--summary {tmp_path / 'summary'}" for s in stacks()]
    assert done.returncode == 1  # the first failed, and every other stack was still planned


def test_make_help_lists_every_target():
    phony = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith(".PHONY:"))
    listed = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert sorted(line.split()[1] for line in listed.splitlines()) == sorted(phony.split()[1:])
