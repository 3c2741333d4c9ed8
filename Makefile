# Chinook Pulse — the two commands: `make up` and `make test`.
# Everything installs into the project folder: .venv (Python), .cache (jars), .run (state, pids, logs).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLI := $(BIN)/chinook-pulse
VENV_STAMP := $(VENV)/.installed-stamp
JARS_STAMP := .cache/jars/.installed-stamp
JS_STAMP := tests/js/node_modules/.installed-stamp

.PHONY: up down status test test-unit lint typecheck check bench install jars clean-state help

help:
	@echo "make up      install what is missing, start PostgreSQL, Kafka, Connect+Debezium, worker, edge, simulator"
	@echo "make test    install what is missing, start the services the tests need, run every test"
	@echo "make down    stop everything this project started"
	@echo "make status  each component, its pid and its health"

install: $(VENV_STAMP) $(JARS_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

jars: $(JARS_STAMP)
$(JARS_STAMP): infra/pom.xml infra/install-jars.sh
	bash infra/install-jars.sh

up: install
	$(CLI) up

down:
	@if [ -x $(CLI) ]; then $(CLI) down; else echo "nothing installed, nothing to stop"; fi

status: $(VENV_STAMP)
	$(CLI) status

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 with npm (the tests drive the edge with pusher-js)"; exit 1; }
	npm ci --prefix tests/js --no-audit --no-fund
	@touch $@

test: install $(JS_STAMP)
	bash scripts/test.sh

test-unit: $(VENV_STAMP)
	$(BIN)/pytest -q tests/unit

lint: $(VENV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV_STAMP)
	$(BIN)/mypy

check: lint typecheck

bench: install
	$(BIN)/python -m bench

clean-state: down
	rm -rf .run
