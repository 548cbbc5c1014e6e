# The commands README.md gives; .ci/run calls `make test`.
VENV   := venv
PYTHON := $(VENV)/bin/python
STACK  ?= dev

.PHONY: test lint docs up preview clean

# The same virtualenv Pulumi uses (Pulumi.yaml: virtualenv: venv), with the pinned packages.
$(VENV)/installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

test: $(VENV)/installed  ## set up, lint, and run the offline test suite
	$(VENV)/bin/ruff check .
	$(PYTHON) -m pytest

lint: $(VENV)/installed
	$(VENV)/bin/ruff check .

docs: $(VENV)/installed  ## regenerate the README's tables from the code
	$(PYTHON) -m tools.docs

preview: $(VENV)/installed  ## needs the Pulumi CLI and AWS credentials
	pulumi preview --stack $(STACK)

up: $(VENV)/installed  ## needs the Pulumi CLI and AWS credentials
	pulumi up --stack $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
