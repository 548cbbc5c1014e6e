# The commands README.md gives; .ci/run calls `make test`. `make help` lists them.
VENV    := venv
PYTHON  := $(VENV)/bin/python
PYTHON3 ?= python3
STACK   ?= dev
# The Python the venv is made from, and the venv's own: a venv made by another Python is made again.
PYTHON_VERSION := $(shell $(PYTHON3) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
INSTALLED      := $(VENV)/installed-python$(PYTHON_VERSION)
NEEDS_PULUMI   := command -v pulumi >/dev/null || { echo "error: the Pulumi CLI is not installed. Install it (https://www.pulumi.com/docs/install/: curl -fsSL https://get.pulumi.com | sh), then log in to a state backend: pulumi login (Pulumi Cloud) or pulumi login s3://<bucket>" >&2; exit 1; }; pulumi whoami >/dev/null 2>&1 || { echo "error: the Pulumi CLI is not logged in to a state backend: pulumi login (Pulumi Cloud) or pulumi login s3://<bucket>" >&2; exit 1; }

.PHONY: help test lint plan generate upgrade bench upstream renders preview up verify integration clean
.DEFAULT_GOAL := help

help:  ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Python 3.11 or newer, checked before anything is made. The same virtualenv Pulumi uses (Pulumi.yaml:
# virtualenv: venv), with the pinned packages.
$(INSTALLED): requirements.txt requirements-dev.txt
	@$(PYTHON3) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python 3.11 or newer is needed; $(PYTHON3) is " + sys.version.split()[0] + ". Install one, or name it: make PYTHON3=python3.12 <target>")' \
		|| exit 1
	@if [ -d $(VENV) ] && [ "$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$(PYTHON_VERSION)" ]; then \
		echo "$(VENV) was made by another Python (or is broken): making it again with $(PYTHON3) $(PYTHON_VERSION)"; rm -rf $(VENV); fi
	$(PYTHON3) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/installed-python*
	touch $@

test: $(INSTALLED)  ## set up, lint, type-check, and run the offline test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy components offline tools verify policies/mlplatform_policies deployments/__main__.py
	$(PYTHON) -m pytest

lint: $(INSTALLED)  ## lint and type-check only
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy components offline tools verify policies/mlplatform_policies deployments/__main__.py

plan: $(INSTALLED)  ## what STACK creates, its policy verdicts, monthly cost and deploy time; no account needed
	$(PYTHON) -m offline.plan $(STACK) $(PLAN_ARGS)

generate: $(INSTALLED)  ## rewrite what is derived from the code and the stack files: schema, docs, plans
	$(PYTHON) -m tools.generate

upgrade: $(INSTALLED)  ## rehearse STACK's Kubernetes upgrade to TO (e.g. TO=1.36): what changes, in order
	$(PYTHON) -m offline.upgrade $(STACK) $(TO)

bench: $(INSTALLED)  ## how long evaluating, the policy pack and make plan take, per stack and per team
	$(PYTHON) -m tools.bench

upstream: $(INSTALLED)  ## fetch, once per pin and verified, the upstream repositories the overlays build from
	$(PYTHON) -m tools.upstream fetch

renders: $(INSTALLED)  ## build every overlay as the provider would, into .renders/ (for tests/test_rendered.py)
	$(PYTHON) -m tools.render

# Through tools.upstream: the overlays' remote bases come from the local cache, not one clone each per run.
preview:  ## what `pulumi up` would change in STACK (needs the Pulumi CLI and AWS credentials)
	@$(NEEDS_PULUMI)
	@$(MAKE) --no-print-directory $(INSTALLED)
	$(PYTHON) -m tools.upstream run -- pulumi preview --stack $(STACK)

up:  ## deploy STACK (needs the Pulumi CLI and AWS credentials)
	@$(NEEDS_PULUMI)
	@$(MAKE) --no-print-directory $(INSTALLED)
	$(PYTHON) -m tools.upstream run -- pulumi up --stack $(STACK)

# make verify's packages (kfp, the Kubernetes client, boto3) in a virtualenv of their own: kfp needs a newer protobuf
# than Pulumi's SDK.
VERIFY_VENV      := venv-verify
VERIFY_INSTALLED := $(VERIFY_VENV)/installed-python$(PYTHON_VERSION)
$(VERIFY_INSTALLED): requirements-verify.txt
	$(PYTHON3) -m venv $(VERIFY_VENV)
	$(VERIFY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-verify.txt
	rm -f $(VERIFY_VENV)/installed-python*
	touch $@

verify:  ## check deployed STACK end to end (Pulumi CLI, an admin's AWS credentials; VERIFY_ARGS=--gpu starts a GPU node)
	@$(NEEDS_PULUMI)
	@$(MAKE) --no-print-directory $(VERIFY_INSTALLED)
	$(VERIFY_VENV)/bin/python -m verify $(STACK) $(VERIFY_ARGS)

integration: $(INSTALLED) $(VERIFY_INSTALLED)  ## up, verify, destroy an ephemeral stack (real AWS; MLPLATFORM_INTEGRATION_CONFIG=<stack file>)
	@$(NEEDS_PULUMI)
	MLPLATFORM_INTEGRATION_CONFIG="$(MLPLATFORM_INTEGRATION_CONFIG)" $(PYTHON) -m pytest -n 0 -s tests/test_integration.py

clean:  ## remove the virtualenvs and the tools' caches
	rm -rf $(VENV) $(VERIFY_VENV) .pytest_cache .ruff_cache .mypy_cache
