# The README's two commands are `make demo` and `make test`; both bootstrap uv and the locked environment.
SHELL := /bin/bash
# uv from PATH, else the copy pip installs into this python (bootstrapped by the `uv` target).
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: help uv install demo dev test test-slow test-reliability test-all lint format bench bench-dbt dbt-parse dbt-build dbt-docs clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv

.venv/.synced: pyproject.toml uv.lock | uv
	$(UV) sync --frozen
	@touch $@

install: .venv/.synced  ## create the virtualenv from uv.lock

demo: install  ## run the demo on the bundled CRM simulator
	@mkdir -p $(DAGSTER_HOME) && cp -n dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true
	$(RUN) acctwh demo --scale demo --days 1

dev: install  ## Dagster UI on the same setup (http://127.0.0.1:3000)
	@mkdir -p $(DAGSTER_HOME) && cp -n dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true
	$(RUN) dagster dev -w workspace.yaml

lint: install  ## ruff
	$(RUN) ruff check .

format: install
	$(RUN) ruff check --fix .

test: install  ## ruff + the fast test suite (< 10 min)
	$(RUN) ruff check .
	$(RUN) pytest -q -n 2 --dist loadfile --no-loadscope-reorder

test-slow: install  ## slow suites (large-scale generation)
	$(RUN) pytest -q -m slow

# The secret, PII and erasure scans run over what `make demo` runs (demo preset, initial load + one night).
test-reliability: install  ## the whole fault matrix and the 200-kill harness, with a summary
	ACCTWH_SEC_DEMO_SCALE=demo ACCTWH_SEC_DEMO_DAYS=1 $(RUN) pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not slow" tests/reliability tests/connectors/test_kill_resume.py

test-all: install
	$(RUN) pytest -q -m ""

BENCH_ARGS ?= --scale large
bench: install  ## every stage on the simulator, targets, JSON in bench/results (BENCH_ARGS="--scale large --reps 3")
	$(RUN) acctwh bench $(BENCH_ARGS)

bench-dbt: install  ## dbt build benchmark on a landed dataset (DBT_BENCH_ARGS="--scale large --reps 3" or "--raw FILE")
	$(RUN) python bench/dbt_bench.py $(DBT_BENCH_ARGS)

# dbt on the working DuckDB: ACCTWH_DUCKDB_PATH if set, else <ACCTWH_HOME or ./warehouse>/working.duckdb (absolute,
# so the profile does not resolve it against dbt_project/). AS_OF_DATE=YYYY-MM-DD pins the dbt var as_of_date.
DBT_DB = $(or $(ACCTWH_DUCKDB_PATH),$(abspath $(or $(ACCTWH_HOME),warehouse))/working.duckdb)
DBT = ACCTWH_DUCKDB_PATH=$(DBT_DB) $(RUN) dbt
DBT_DIRS = --project-dir dbt_project --profiles-dir dbt_project
DBT_VARS = $(if $(AS_OF_DATE),--vars '{"as_of_date": "$(AS_OF_DATE)"}')

dbt-parse: install  ## write dbt_project/target/manifest.json (the code location also does this when it is stale)
	$(DBT) parse $(DBT_DIRS) --quiet

dbt-build: install  ## dbt build on the working DuckDB (needs ACCTWH_PERSON_KEY_SECRET; AS_OF_DATE=YYYY-MM-DD optional)
	@mkdir -p $(dir $(DBT_DB))
	$(DBT) build $(DBT_DIRS) $(DBT_VARS) $(DBT_ARGS)

dbt-docs: install  ## dbt docs as one static page: dbt_project/target/static_index.html
	$(DBT) docs generate --static $(DBT_DIRS) $(DBT_VARS)

clean:
	rm -rf .venv .pytest_cache .ruff_cache warehouse .dagster_home
