"""Maintainer tools: `make generate` (generate.py, with the docs tables from docs.py) and `make bench` (bench.py)."""
