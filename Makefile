# One entry point for people, pre-commit and CI.
#   make run    set up on a fresh machine and run the server (embedded SQLite store)
#   make test   set up everything and run the whole test suite

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DASHBOARD_STAMP := src/trackboard/server/dashboard/static/index.html
HOST ?= 127.0.0.1
PORT ?= 5005

.PHONY: run setup dashboard api-types browser ops-tools lint typecheck test test-python test-dashboard bench clean

run: setup dashboard
	$(BIN)/trackboard server --host $(HOST) --port $(PORT)

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements/dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

dashboard/node_modules/.package-lock.json: dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund
	touch $@

dashboard: dashboard/node_modules/.package-lock.json
	cd dashboard && npm run build

# The dashboard's API types, generated from the server's OpenAPI document (a test fails
# when they are stale).
api-types: setup dashboard/node_modules/.package-lock.json
	$(BIN)/python -c "import orjson, sys; from trackboard.server.app import create_app; \
		sys.stdout.buffer.write(orjson.dumps(create_app().openapi()))" > dashboard/openapi.json
	cd dashboard && ./node_modules/.bin/openapi-typescript openapi.json -o src/api/schema.d.ts
	rm dashboard/openapi.json

# Debian's Chromium for the browser tests; never a browser a tool downloads itself.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# promtool (Debian's prometheus package) checks and unit-tests ops/prometheus/alerts.yml.
ops-tools:
	@command -v promtool >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

test-python: setup dashboard browser ops-tools
	$(BIN)/pytest -q -p no:cacheprovider

test-dashboard: dashboard/node_modules/.package-lock.json
	cd dashboard && npm run typecheck && npm run lint && npm test

test: lint typecheck test-dashboard test-python

bench: setup dashboard browser
	$(BIN)/python bench/api.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/client.py
	$(BIN)/python bench/api_gateway.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) dashboard/node_modules src/trackboard/server/dashboard/static
