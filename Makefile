# beaconhouse — developer entry points. Everything installs into ./.venv with uv.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Superset pins libraries older than the stack's: it gets its own venv (docs/superset.md)
SUPERSET_VENV := .superset-venv
SUPERSET_STAMP := $(SUPERSET_VENV)/.installed
UV = $(shell command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)
# The interpreter of .venv: Debian's python3.11 where there is one. It is built with
# profile-guided optimisation; pyenv's 3.11 on these machines is not: it took 3.49 s
# for `dbt --version` against Debian's 2.69 s (medians of 5), and 1.46-1.75 s for a
# pure-Python loop that Debian's ran in 1.15 s. Override: make install VENV_PYTHON=...
VENV_PYTHON ?= $(shell test -x /usr/bin/python3.11 && echo /usr/bin/python3.11 || command -v python3)

.PHONY: install demo dagster test test-unit test-server bench lint format typecheck clean dbt-docs \
	superset superset-venv superset-up test-superset chromium

install: $(STAMP)

# --compile-bytecode writes every .pyc at install: these machines set PYTHONDONTWRITEBYTECODE,
# so without it each process would compile every module it imports (2 s for a loader).
# uv comes from PATH, or from the interpreter's packages (installed on first use):
# after a pip install a pyenv shim for `uv` may not exist yet, `python3 -m uv` always does.
$(STAMP): pyproject.toml uv.lock
	@if command -v uv >/dev/null 2>&1; then uv sync --frozen --all-groups --compile-bytecode --python $(VENV_PYTHON); \
	else python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check 'uv>=0.5'; \
	     python3 -m uv sync --frozen --all-groups --compile-bytecode --python $(VENV_PYTHON); fi
	@$(PY) -m compileall -q beaconhouse bench tests
	@touch $(STAMP)

demo: install
	$(VENV)/bin/beaconhouse demo

# Dagster's UI on http://127.0.0.1:3000, against the warehouse in beaconhouse.toml (the
# embedded one is started if it does not answer); runs are kept in .beaconhouse/dagster
dagster: install
	$(VENV)/bin/beaconhouse dagster

# Superset's venv from superset/requirements.lock (exact versions; regenerate it with
# `uv pip compile --python 3.11 superset/requirements.in -o superset/requirements.lock`),
# then its metadata (SQLite), admin user and roles under .beaconhouse/superset.
# SUPERSET_SECRET_KEY from the environment, else a generated .beaconhouse/superset/secret_key.
superset: install $(SUPERSET_STAMP)
	$(VENV)/bin/beaconhouse superset setup

# the venv alone: what the tests need (they set Superset up in a home of their own)
superset-venv: $(SUPERSET_STAMP)

$(SUPERSET_STAMP): superset/requirements.lock | $(STAMP)
	$(UV) venv --clear --quiet --python 3.11 $(SUPERSET_VENV)
	VIRTUAL_ENV=$(SUPERSET_VENV) $(UV) pip sync --quiet --compile-bytecode superset/requirements.lock
	@touch $(SUPERSET_STAMP)

# Superset on http://127.0.0.1:8088 against the running warehouse (beaconhouse.toml), provisioned
# from superset/assets; needs superset.database_password (BEACONHOUSE_SUPERSET__DATABASE_PASSWORD)
superset-up: superset
	$(VENV)/bin/beaconhouse superset up

# only the Superset tests (they also run in `make test`)
test-superset: install superset-venv chromium
	$(VENV)/bin/pytest -q tests/superset

# Debian's chromium and its driver, for the Superset dashboard screenshot test
chromium:
	@if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# everything, the Superset test included (it needs Superset's venv and chromium)
test: install superset-venv chromium
	$(VENV)/bin/pytest -q

test-unit: install
	$(VENV)/bin/pytest -q -m unit

test-server: install
	$(VENV)/bin/pytest -q -m server

bench: install
	$(PY) -m bench

# dbt's documentation site (target/index.html, catalog.json) from the warehouse that
# BEACONHOUSE_WAREHOUSE__URL names (default: the embedded one on 127.0.0.1:8123)
dbt-docs: install
	cd dbt_project && DBT_PROFILES_DIR=. ../$(VENV)/bin/dbt docs generate

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf .beaconhouse .pytest_cache .mypy_cache .ruff_cache bench/results $(SUPERSET_VENV)
