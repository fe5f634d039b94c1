# Centinela. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= mixed
EVENTS ?= 80000
RATE ?= 4000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@command -v java >/dev/null || { echo "Java 17+ is required for the local Kafka broker (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven is required to resolve the Kafka jars (apt-get install maven)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP) ## create the virtual environment with the pinned dependencies

kafka-jars: $(STAMP) ## resolve the Apache Kafka broker jars from Maven Central (once)
	$(BIN)/python -c "from centinela.stack.kafka_broker import ensure_jars; print(ensure_jars())"

lint: $(STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint kafka-jars ## everything CI runs: lint, types and the whole suite on a real broker and MLflow
	$(BIN)/pytest $(PYTEST_ARGS)

up: kafka-jars ## start the local stack (Kafka broker from jars, MLflow server)
	$(BIN)/centinela up

down: $(STAMP) ## stop the local stack
	$(BIN)/centinela down

demo: kafka-jars ## the live demo on the embedded defaults (SCENARIO=..., EVENTS=..., RATE=..., KEEP=1)
	$(BIN)/centinela demo --scenario $(SCENARIO) --events $(EVENTS) --rate $(RATE) $(if $(KEEP),--keep,)

EVIDENTLY_VENV := bench/.evidently-venv

$(EVIDENTLY_VENV)/.installed: bench/evidently-constraints.txt
	$(PYTHON) -m venv $(EVIDENTLY_VENV)
	$(EVIDENTLY_VENV)/bin/pip install --quiet -c bench/evidently-constraints.txt evidently
	touch $@

NANNYML_VENV := bench/.nannyml-venv

$(NANNYML_VENV)/.installed: bench/nannyml-constraints.txt
	$(PYTHON) -m venv $(NANNYML_VENV)
	$(NANNYML_VENV)/bin/pip install --quiet -c bench/nannyml-constraints.txt nannyml statsmodels "pandas<3"
	touch $@

nannyml-venv: $(NANNYML_VENV)/.installed ## NannyML's own environment for bench/bench_cbpe_nannyml.py

bench: kafka-jars $(EVIDENTLY_VENV)/.installed $(NANNYML_VENV)/.installed ## every benchmark target beside its baseline; writes docs/benchmarks.md
	$(BIN)/python -m bench.run_all

format: $(STAMP) ## format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: ## re-pin every dependency into constraints.txt from a fresh resolve
	rm -rf /tmp/centinela-lock && $(PYTHON) -m venv /tmp/centinela-lock
	/tmp/centinela-lock/bin/pip install --quiet -e ".[dev]"
	{ echo "# Exact versions tested; the Makefile installs with -c constraints.txt. Regenerate: make lock"; \
	  /tmp/centinela-lock/bin/pip freeze --exclude-editable; } > constraints.txt

clean: ## remove the environment, the jars and the local stack's data
	rm -rf $(VENV) infra/kafka/target .centinela

.PHONY: help venv kafka-jars lint test up down demo nannyml-venv bench format lock clean
