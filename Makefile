# MiniHub: `make run` serves the API on the embedded default; `make test` runs lint + every test;
# `make check` runs lint + the tests that need only MariaDB and Redis.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: run test check lint format install install-dev services lock bench clean help \
	start stop status reload audit
ENV ?= test

help:
	@echo "make run      serve the API on http://127.0.0.1:8000 (SQLite, in-process jobs, fake WeChat)"
	@echo "make test     lint + every test against real MariaDB and Redis"
	@echo "make check    lint + the tests that need only MariaDB and Redis (the edit loop)"
	@echo "make bench    load benchmark with report and plots (QUICK=1 for a 2-minute smoke run)"
	@echo "make lock     re-resolve dependencies into uv.lock"
	@echo "make start|stop|status|reload ENV=test|master   the supervised runtime"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 (apt-get install python3.11 python3.11-venv)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/pip install -q "uv==$(UV_VERSION)"

# --inexact keeps uv itself (installed by pip above) in the venv.
install: $(UV)
	$(UV) sync -q --frozen --inexact

install-dev: $(UV)
	scripts/ensure-system-packages.sh build
	$(UV) sync -q --frozen --inexact --extra dev --extra mysqlclient --extra bench

run: install
	$(BIN)/python scripts/run_local.py

services:
	scripts/ensure-services.sh
	scripts/ensure-system-packages.sh system

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Known vulnerabilities in the locked dependencies fail the build.
audit: install-dev
	$(BIN)/python scripts/audit_dependencies.py

test: install-dev services lint audit
	scripts/run-tests.sh

# The edit loop: no system tests (those start gunicorn, supervisord, nginx or sshd).
check: install-dev lint
	scripts/ensure-services.sh
	scripts/run-tests.sh -m "not system and not slow"

# Production-like processes under supervisor: make start ENV=test|master
start stop status reload: install
	deploy/supervisor/minihubctl $(ENV) $@

# The load benchmark: make bench [QUICK=1] [PROFILE=1]
bench: install-dev services
	$(BIN)/python -m bench $(if $(QUICK),--quick) $(if $(PROFILE),--profile)

lock: $(UV)
	$(UV) lock --python 3.11

clean:
	rm -rf $(VENV) var .pytest_cache
