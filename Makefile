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
WEB_STAMP := web/node_modules/.installed-stamp
BROWSER_STAMP := tests/browser/node_modules/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Editable installs of the project: setuptools would warn, in a box, that folders named like the packages
# may shadow them; here those folders are the packages.
PIP_EDITABLE := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e

.PHONY: up down status secrets test test-unit lint typecheck layers check bench bench-client install jars clean-state help chromium

help:
	@echo "make up      install what is missing, start PostgreSQL, Kafka, Connect+Debezium, worker, edge, simulator"
	@echo "make test    install what is missing, start the services the tests need, run every test"
	@echo "make down    stop everything this project started"
	@echo "make status  each component, its pid and its health"
	@echo "make secrets generate the app secret and metrics token into .env (make up does it too)"

install: $(VENV_STAMP) $(JARS_STAMP)

$(VENV_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(PIP_EDITABLE) '.[dev]'
	@touch $@

jars: $(JARS_STAMP)
$(JARS_STAMP): infra/pom.xml infra/install-jars.sh
	bash infra/install-jars.sh

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 with npm (the dashboard serves pusher-js from web/node_modules)"; exit 1; }
	npm ci --prefix web --no-audit --no-fund
	@touch $@

$(BROWSER_STAMP): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	@touch $@

# Debian's Chromium for the browser tests (a test tool's own browser download cannot work here).
chromium:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the browser tests"; $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

up: install $(WEB_STAMP)
	$(CLI) up
	@$(BIN)/python -m api.pages

down:
	@if [ -x $(CLI) ]; then $(CLI) down; else echo "nothing installed, nothing to stop"; fi

status: $(VENV_STAMP)
	$(CLI) status

# The app secret and the metrics token, generated once into the git-ignored .env (`up` does it too;
# Docker users run this before `docker compose up`).
secrets: $(VENV_STAMP)
	$(CLI) secrets

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 with npm (the tests drive the edge with pusher-js)"; exit 1; }
	npm ci --prefix tests/js --no-audit --no-fund
	@touch $@

test: install $(JS_STAMP) $(WEB_STAMP) $(BROWSER_STAMP) chromium
	bash scripts/test.sh

test-unit: $(VENV_STAMP)
	$(BIN)/pytest -q tests/unit

lint: $(VENV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV_STAMP)
	$(BIN)/mypy

# The import contracts in pyproject.toml: ops > (api | stream) > tables > schemas; nothing imports tests.
layers: $(VENV_STAMP)
	$(BIN)/lint-imports

check: lint typecheck layers

bench: install bench-client
	$(PIP_EDITABLE) '.[bench]'
	$(BIN)/python -m bench

# The fan-out bench's compiled subscribers (Go; gorilla/websocket from the Go module proxy).
bench-client: .run/bench-loadclient
.run/bench-loadclient: bench/loadclient/main.go bench/loadclient/go.mod bench/loadclient/go.sum
	@command -v go >/dev/null || { echo "go not found: install Go >= 1.22 (bench/loadclient)"; exit 1; }
	mkdir -p .run
	cd bench/loadclient && go build -o $(CURDIR)/.run/bench-loadclient .

clean-state: down
	rm -rf .run
