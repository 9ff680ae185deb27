# One entry point for people, pre-commit and CI (`make help` lists the targets).
#   make run    set up on a fresh machine and run the server (embedded SQLite store)
#   make test   set up everything and run the whole test suite

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
DASHBOARD_STAMP := src/trackboard/server/dashboard/static/index.html
# What the dashboard build reads: it is rebuilt only when one of these is newer than its
# output, so a second `make run` starts the server without a Vite build.
DASHBOARD_SOURCES := $(shell find dashboard/src dashboard/public -type f 2>/dev/null) \
	dashboard/index.html dashboard/package.json dashboard/vite.config.ts dashboard/tsconfig.json
HOST ?= 127.0.0.1
PORT ?= 5005
# The dev lock pins PyTorch's CPU build (2.13.0+cpu), for the integration tests. Machines of
# this project's kind keep its wheel in /opt/wheels; elsewhere PyTorch's CPU index has it.
TORCH_WHEELS ?= $(if $(wildcard /opt/wheels/torch-*),--find-links /opt/wheels,--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)

.PHONY: docs dist needs help run setup setup-run dashboard api-types browser ops-tools lint typecheck test test-fast test-python test-dashboard bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-15s %s\n", $$1, $$2}'

run: setup-run dashboard ## set up the server's dependencies only and run it (embedded SQLite store)
	$(BIN)/trackboard server --host $(HOST) --port $(PORT)

setup-run: $(RUN_STAMP) ## the runtime environment: the server extra from requirements/server.lock

setup: $(STAMP) ## the development environment: everything in requirements/dev.lock

# The runtime lock pins the same versions as the dev lock (compiled with it as a
# constraint), so a development venv already satisfies it.
$(RUN_STAMP): pyproject.toml requirements/server.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/server.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml requirements/dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python $(TORCH_WHEELS) -r requirements/dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP) $(RUN_STAMP)

dashboard/node_modules/.package-lock.json: dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	touch $@

dashboard: $(DASHBOARD_STAMP) ## build the React dashboard the server serves (when its sources changed)

$(DASHBOARD_STAMP): dashboard/node_modules/.package-lock.json $(DASHBOARD_SOURCES)
	cd dashboard && npm run build

# The wheel carries the built dashboard (pyproject.toml's wheel artifacts), so `pip install
# trackboard[server]` serves it without Node.
dist: setup-run dashboard ## build the sdist and the wheel (with the built dashboard) into dist/
	rm -rf dist
	$(BIN)/uv build --quiet --out-dir dist .

# The dashboard's API types, generated from the server's OpenAPI document (a test fails
# when they are stale).
api-types: setup dashboard/node_modules/.package-lock.json ## regenerate the dashboard's API types from the OpenAPI document
	$(BIN)/python -c "import orjson, sys; from trackboard.server.app import create_app; \
		sys.stdout.buffer.write(orjson.dumps(create_app().openapi()))" > dashboard/openapi.json
	cd dashboard && ./node_modules/.bin/openapi-typescript openapi.json -o src/api/schema.d.ts
	rm dashboard/openapi.json

# Debian's Chromium for the browser tests; never a browser a tool downloads itself.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# promtool (Debian's prometheus package) checks and unit-tests ops/prometheus/alerts.yml;
# Debian's nginx runs deploy/nginx/trackboard.conf in the cluster tests (never as a service).
ops-tools:
	@command -v promtool >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }
	@PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

lint: setup ## ruff, ruff format, import contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: setup ## mypy strict
	$(BIN)/mypy

# Tests keep bytecode caches (gitignored) even where PYTHONDONTWRITEBYTECODE is set, as on
# this project's machines: without them each of the hundreds of server, worker and CLI
# processes the tests start compiles the project and its dependencies again (seconds of CPU
# each), and pytest rewrites every test module on every run.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest

test-python: setup dashboard browser ops-tools ## the whole pytest suite (needs what `make test` says)
	$(PYTEST) -q -p no:cacheprovider

# Left out of test-fast (`make test` runs them): tests that need PostgreSQL, Redis,
# RabbitMQ or a browser, and those that start programs, which cost seconds to minutes each
# on two cores: server processes on a port, an MLflow server, mkdocs, npx, the ML frameworks,
# the schema fuzzer. What is left runs the API in-process over ASGI on SQLite.
SLOW_TESTS := tests/distributed tests/e2e tests/replicas tests/mlflow_compat tests/packaging \
	tests/cache tests/ops tests/readme tests/integrations tests/importer tests/docs \
	tests/api/test_schemathesis.py tests/client/test_real_server.py \
	tests/cli/test_server_logs.py tests/cli/test_export.py tests/notifications/test_client_alert.py \
	tests/gateway/test_bind_address.py tests/gateway/test_body_limit_memory.py \
	tests/gateway/test_id_spellings.py tests/events/test_importer_events.py \
	tests/dashboard/test_api_types.py tests/gateway/test_two_instances.py \
	tests/gateway/test_password_gate_shared.py

# A quick local loop: no browser, no PostgreSQL, Redis or RabbitMQ, no server process.
test-fast: lint typecheck ## lint, types and the in-process SQLite tests, on two workers
	$(PYTEST) -q -p no:cacheprovider -x -n 2 -k "not postgres and not rabbit" \
		$(addprefix --ignore=,$(SLOW_TESTS))

test-dashboard: dashboard/node_modules/.package-lock.json ## tsc, ESLint, Vitest
	cd dashboard && npm run typecheck && npm run lint && npm test

test: needs lint typecheck test-dashboard test-python ## everything CI runs (about 30 minutes)

needs:
	@echo "make test needs: root for apt-get (Debian's chromium, prometheus and nginx, once);"
	@echo "  PostgreSQL on 127.0.0.1:5432 (trust auth, database 'test', its server programs"
	@echo "  initdb and pg_basebackup for the replica tests), Redis on 127.0.0.1:6379 and"
	@echo "  RabbitMQ on 127.0.0.1:5672 (guest/guest, rabbitmqctl for test vhosts);"
	@echo "  PyPI and npm for the first setup, and PyTorch's CPU wheel (torch 2.13.0+cpu,"
	@echo "  pinned by the dev lock) from /opt/wheels or https://download.pytorch.org/whl/cpu."
	@echo "  about 30 minutes on two cores. Tests isolate themselves (own databases, vhosts,"
	@echo "  key prefixes, ports) and never stop the shared services."

bench: setup dashboard browser ## the benchmarks; figures go to docs/benchmarks*.md
	$(BIN)/python bench/api.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/client.py
	$(BIN)/python bench/api_gateway.py
	$(BIN)/python bench/dashboard.py

docs: setup ## build the documentation site into site/ (strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean: ## remove the venv, node_modules and the built dashboard
	rm -rf $(VENV) dashboard/node_modules src/trackboard/server/dashboard/static site
