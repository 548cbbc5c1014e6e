# The commands README.md gives; .ci/run calls `make test`.
VENV   := venv
PYTHON := $(VENV)/bin/python
STACK  ?= dev

.PHONY: test lint plan generate up preview clean

# The same virtualenv Pulumi uses (Pulumi.yaml: virtualenv: venv), with the pinned packages.
$(VENV)/installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

test: $(VENV)/installed  ## set up, lint, type-check, and run the offline test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy components offline tools policies/mlplatform_policies deployments/__main__.py
	$(PYTHON) -m pytest

lint: $(VENV)/installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy components offline tools policies/mlplatform_policies deployments/__main__.py

plan: $(VENV)/installed  ## what STACK creates, its policy verdicts, monthly cost and deploy time; no account needed
	$(PYTHON) -m offline.plan $(STACK) $(PLAN_ARGS)

generate: $(VENV)/installed  ## rewrite what is derived from the code: config schema, README tables, pack catalogue
	$(PYTHON) -m tools.generate

preview: $(VENV)/installed  ## needs the Pulumi CLI and AWS credentials
	pulumi preview --stack $(STACK)

up: $(VENV)/installed  ## needs the Pulumi CLI and AWS credentials
	pulumi up --stack $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
