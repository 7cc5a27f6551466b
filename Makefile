# The two commands of the README: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
# mypy in its own environment: mypy 2 needs pathspec>=1, dbt-core pins pathspec<0.13
MYPY_VERSION := 2.4.1
TOOLS := .venv-tools
DEMO_CONTRACTS ?= 3000
DEMO_DAYS ?= 6
# the book is migrated DEMO_DAYS + 1 days ago, so the cycle runs the last days up to yesterday (Asia/Shanghai)
DEMO_AS_OF ?= $(shell TZ=Asia/Shanghai date -d '$(DEMO_DAYS) days ago 1 day ago' +%F)
DEMO_SEED ?= 7
BENCH_N ?= 1000000

.PHONY: install demo test bench ui api lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	# with the bytecode compiled once here: uv does not compile by default, and where PYTHONDONTWRITEBYTECODE
	# is set (as on this workplace's machines) every process compiled ~700 modules from source, 2-4 s of a night
	$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(TOOLS)/.installed: Makefile $(STAMP)
	$(BIN)/uv venv -q --allow-existing --python $(BIN)/python $(TOOLS)
	$(BIN)/uv pip install -q --python $(TOOLS)/bin/python "mypy==$(MYPY_VERSION)"
	touch $@

## demo: a fresh demo book on the embedded SQLite store (data/autofin.db), then the nightly cycle (with a day of the collections team half-way)
## over the last DEMO_DAYS business dates with the simulated banks answering, then the summary.
demo: install
	rm -rf data/autofin.db data/autofin.db-wal data/autofin.db-shm data/exports bank_files/outbound bank_files/inbound \
		bank_files/archive bank_files/quarantine bank_files/remote
	$(BIN)/autofin db upgrade
	$(BIN)/autofin products sync
	$(BIN)/autofin demo seed --contracts $(DEMO_CONTRACTS) --as-of $(DEMO_AS_OF) --seed $(DEMO_SEED)
	$(BIN)/autofin demo cycle --days $$(( $(DEMO_DAYS) / 2 ))
	$(BIN)/autofin demo collections
	$(BIN)/autofin demo cycle --days $$(( $(DEMO_DAYS) - $(DEMO_DAYS) / 2 ))
	$(BIN)/autofin cycle status
	$(BIN)/autofin demo summary --as-of $$(TZ=Asia/Shanghai date -d 'yesterday' +%F)
	$(BIN)/autofin reports build --date $$(TZ=Asia/Shanghai date -d 'yesterday' +%F)
	$(BIN)/autofin reports docs

## ui: the Dagster UI on http://127.0.0.1:3000 with the nightly cycle (DAGSTER_HOME is the project root).
ui: install
	DAGSTER_HOME=$(CURDIR) AUTOFIN_DAGSTER_STORAGE=$(CURDIR)/.dagster_home $(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m pipelines.definitions

## api: the entry API on http://127.0.0.1:8000 (OpenAPI at /docs) over the configured store.
api: install
	$(BIN)/autofin api --host 127.0.0.1 --port 8000

## test: ruff and mypy (their settings in pyproject.toml), then the whole suite, SQLite and a real
## PostgreSQL server started on loopback.
test: install $(TOOLS)/.installed
	$(BIN)/ruff check autofin pipelines tests bench
	$(TOOLS)/bin/mypy
	$(BIN)/python -m pytest

## bench: the scale benchmark (BENCH_N contracts, default 1,000,000; BENCH_WORST=0, BENCH_MONTHS=0 leave books out); appends to bench/results.md.
bench: install
	$(BIN)/python -m bench.run --contracts $(BENCH_N)

## lock: re-resolve requirements.lock after a change of dependencies in pyproject.toml.
lock:
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

## clean: removes what install, demo, ui, api and test made (the environments, the store, bank files, reports,
## the warehouse, Dagster's home, caches); the sources stay.
clean:
	rm -rf $(VENV) $(TOOLS) .dagster_home data/*.db data/*.db-wal data/*.db-shm data/exports data/dbt data/duckdb_extensions \
		data/warehouse*.duckdb data/documents bank_files/*/ reports/*/ dbt_project/target dbt_project/logs \
		.pytest_cache .hypothesis .mypy_cache .ruff_cache autofin.egg-info
