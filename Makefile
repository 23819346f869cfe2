# beaconhouse — developer entry points. Everything installs into ./.venv with uv.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV ?= $(shell command -v uv 2>/dev/null || echo $(VENV)/../.uv-bootstrap/bin/uv)
STAMP := $(VENV)/.installed

.PHONY: install demo test test-unit test-server bench lint format typecheck clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	uv sync --frozen --all-groups
	@touch $(STAMP)

demo: install
	$(VENV)/bin/beaconhouse demo

test: install
	$(VENV)/bin/pytest -q

test-unit: install
	$(VENV)/bin/pytest -q -m unit

test-server: install
	$(VENV)/bin/pytest -q -m server

bench: install
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf .beaconhouse .pytest_cache .mypy_cache .ruff_cache bench/results
