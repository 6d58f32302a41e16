# make run   — virtualenv, install, demo consortium on SQLite, server on http://127.0.0.1:8000
# make test  — everything the tests need (virtualenv, Chromium), then the whole suite on SQLite and PostgreSQL
# make check — lint (ruff), types (mypy), the tests on SQLite with branch coverage, then on PostgreSQL
# make bench — the SPEC N benchmarks (BENCH_SIZE=S|M|L, default S)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_SIZE ?= S
PYTEST_ARGS ?=

.PHONY: migration install run test test-sqlite test-postgresql check coverage lint types bench chromium wrk clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/consortia demo --host $(HOST) --port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The N-6 benchmark's load generator (a C client, so that the load takes little of the two cores).
wrk:
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) || echo "wrk could not be installed: N-6 uses the Python load loop"

test: install chromium
	$(MAKE) test-sqlite
	$(MAKE) test-postgresql

test-sqlite: install
	CONSORTIA_TEST_DATABASE_URL=sqlite $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# The SQLite run with branch coverage reported (slower: `make check` uses it, CI's `make test` does not).
coverage: install chromium
	CONSORTIA_TEST_DATABASE_URL=sqlite $(BIN)/python -m pytest -n 2 --cov --cov-report=term:skip-covered $(PYTEST_ARGS)

test-postgresql: install
	CONSORTIA_TEST_DATABASE_URL=postgresql $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: install
	$(BIN)/mypy

check: lint types coverage test-postgresql

bench: install wrk
	$(BIN)/python -m bench --size $(BENCH_SIZE)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Regenerate the schema migration from the models (before the first release there is one migration).
migration: install
	rm -f var/migration-scratch.db src/consortia/migrations/versions/0001_*.py
	mkdir -p var
	$(BIN)/alembic -x url=sqlite:///var/migration-scratch.db revision --autogenerate -m "schema" --rev-id 0001 >/dev/null
	$(BIN)/ruff check --fix -q src/consortia/migrations/versions || true
	$(BIN)/ruff format -q src/consortia/migrations/versions
	rm -f var/migration-scratch.db
