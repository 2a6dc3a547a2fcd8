# gamepipe — `make help` lists the targets. Variables can be overridden: make demo USERS=500 DAYS=30
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13: the Lambda runtime the package targets (chalice packages for the Python it
# runs on; python3.11 functions can no longer be created on Lambda since July 2026).
PYTHON313 ?= $(or $(lastword $(wildcard /root/.pyenv/versions/3.13.*/bin/python3.13)),$(shell command -v python3.13))
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Fake credentials for the local emulators only: prefixed to local targets, never exported,
# so `make deploy`, `TARGET=aws` and the CLI keep using your own profile and region.
LOCAL_AWS := env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=test \
	AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=$(or $(AWS_DEFAULT_REGION),us-east-1)
# TARGET=aws talks to your AWS account: no fake credentials then.
TARGET_AWS = $(if $(filter aws,$(TARGET)),,$(LOCAL_AWS))
STAGE ?= dev

USERS ?= 100
EVENTS ?= 1000
SEED ?= 42
TARGET ?= embedded
API_PORT ?= 8000
LOCALSTACK_PORT ?= 4566
EVENTS_PER_DAY ?= 100M

.PHONY: help install browser lint test test-unit test-functional test-e2e test-localstack \
        demo demo-localstack api generate answers report compact schema package deploy clean \
        stack-up stack-down stack-status localstack-install localstack-start localstack-stop \
        localstack-run deploy-localstack bench bench-full bench-consumer bench-queries \
        bench-freshness bench-e2e bench-instructions cost faults

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^##@/ {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ The two commands
demo: $(STAMP) ## THE main job: local stack, generate, ingest, consume, answer, report
	$(TARGET_AWS) $(BIN)/gamepipe demo --target $(TARGET) --stage $(if $(filter aws,$(TARGET)),$(STAGE),local) --users $(USERS) --events $(EVENTS) --seed $(SEED) $(if $(DAYS),--days $(DAYS))

test: $(STAMP) browser ## THE test command: lint, unit, functional and end-to-end tests
	$(MAKE) lint
	$(LOCAL_AWS) $(BIN)/pytest -q tests/unit tests/functional
	$(LOCAL_AWS) $(BIN)/pytest -q tests/e2e

##@ Setup
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "python3.13 not found: install it (pyenv install 3.13) or make PYTHON313=/path/to/python3.13" >&2; exit 2; }
	@# a venv of another Python (an older checkout's 3.11) is rebuilt, not patched
	if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then rm -rf $(VENV); fi
	test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(PY) -m pip install -q -r requirements-dev.txt -e .
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install everything (pinned)

browser: ## Install Debian's chromium for the report browser test (when missing and root)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not installed (needs root): sudo apt-get install chromium"

localstack-install: ## Create localstack/.venv (Python 3.13, pinned localstack-core) + kinesis-mock
	localstack/run.sh install

##@ Checks
lint: $(STAMP) ## ruff lint + format check, mypy on chalicelib
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy chalicelib app.py

test-unit: $(STAMP) ## Unit tests only
	$(LOCAL_AWS) $(BIN)/pytest -q tests/unit

test-functional: $(STAMP) ## Functional tests (moto, chalice test client)
	$(LOCAL_AWS) $(BIN)/pytest -q tests/functional

test-e2e: $(STAMP) ## End-to-end tests over real HTTP
	$(LOCAL_AWS) $(BIN)/pytest -q tests/e2e

test-localstack: $(STAMP) ## LocalStack end-to-end tests only (pytest -m localstack)
	$(LOCAL_AWS) $(BIN)/pytest -q -m localstack tests/e2e

##@ Running locally
demo-localstack: $(STAMP) ## The demo on LocalStack host mode (first run installs localstack/.venv, ~45 s)
	$(LOCAL_AWS) $(BIN)/gamepipe demo --target localstack --users $(USERS) --events $(EVENTS) --seed $(SEED)

stack-up: $(STAMP) ## Background local stack: emulator + chalice local + consumer (TARGET=embedded|localstack)
	$(LOCAL_AWS) $(BIN)/gamepipe stack up --target $(TARGET)
	@echo 'eval "$$($(BIN)/gamepipe stack env)"  # to use it from this shell'

stack-down: $(STAMP) ## Stop the background local stack
	$(BIN)/gamepipe stack down

stack-status: $(STAMP) ## Processes, ports and endpoints of the background stack
	$(BIN)/gamepipe stack status

localstack-start: $(STAMP) ## Background stack on LocalStack (+ moto for Glue/Athena, API, consumer)
	$(LOCAL_AWS) $(BIN)/gamepipe stack up --target localstack

localstack-stop: $(STAMP) ## Stop the background stack (any target)
	$(BIN)/gamepipe stack down

localstack-run: ## LocalStack alone in the foreground on LOCALSTACK_PORT (Ctrl-C stops it)
	localstack/run.sh start $(LOCALSTACK_PORT)

api: $(STAMP) ## Ingest API via chalice local on 127.0.0.1:API_PORT (8000); AWS calls go to AWS_ENDPOINT_URL
	$(LOCAL_AWS) $(BIN)/chalice local --host 127.0.0.1 --port $(API_PORT) --stage local --no-autoreload

generate: $(STAMP) ## Send generated events: make generate URL=http://127.0.0.1:8000 (or kinesis://<stream>)
	$(BIN)/gamepipe generate --target $(or $(URL),http://127.0.0.1:$(API_PORT)) --users $(USERS) --events $(EVENTS) --seed $(SEED)

answers: $(STAMP) ## Print the 7 answers from the lake (GAMEPIPE_QUERY_ENGINE=local|athena)
	@for q in q1 q2 q3 q4 q5 q6 q7; do $(BIN)/gamepipe query $$q; echo; done

report: $(STAMP) ## Render + publish the 3 reports (DATE=YYYY-MM-DD, default today UTC) and write them to out/reports
	$(BIN)/gamepipe report $(if $(DATE),--date $(DATE)) --out out/reports

compact: $(STAMP) ## Merge each dirty lake partition's batch files into one (any date, today's too)
	$(BIN)/gamepipe compact $(if $(TABLE),--table $(TABLE),) $(if $(DT),--dt $(DT),)

schema: $(STAMP) ## Regenerate chalicelib/contract/event_schema.json from the models
	$(BIN)/gamepipe schema --write

##@ Deploying
package: $(STAMP) ## Deployable SAM template + zip into build/package/STAGE (STAGE=dev|prod; REGION=)
	AWS_DEFAULT_REGION=$(or $(REGION),$(AWS_DEFAULT_REGION),us-east-1) \
	  $(PY) -m gamepipe.infra.package $(STAGE) build/package/$(STAGE)

deploy: $(STAMP) ## Package and deploy STAGE to AWS with your credentials (stack gamepipe-STAGE)
	$(BIN)/gamepipe stack deploy --stage $(STAGE)

deploy-localstack: $(STAMP) localstack-install ## CloudFormation data plane on a throwaway LocalStack
	$(LOCAL_AWS) SKIP_INIT=1 localstack/run.sh run $(LOCALSTACK_PORT) -- infrastructure/deploy.sh --stage $(STAGE) --resources-only --skip-type AWS::Glue::Database --skip-type AWS::Athena::WorkGroup --skip-type AWS::DynamoDB::Table

##@ Speed and cost
bench: $(STAMP) ## Quick benchmark suite (CI-sized), writes BENCHMARKS.md
	$(LOCAL_AWS) $(PY) -m bench.run --quick

bench-full: $(STAMP) ## Full benchmark suite, writes BENCHMARKS.md
	$(LOCAL_AWS) $(PY) -m bench.run

bench-consumer: $(STAMP) ## Consumer core events/s vs DuckDB read_json->Parquet ceiling (QUICK=1: 100k events)
	$(LOCAL_AWS) $(PY) -m bench.consumer $(if $(QUICK),--quick,)

bench-queries: $(STAMP) ## Query benchmark: 1M+10M, local+emulated S3, compacted+live (QUICK=1: 1M local, 100k S3)
	$(LOCAL_AWS) $(PY) -m bench.queries $(if $(QUICK),--quick,)

bench-freshness: $(STAMP) ## Freshness p50/p95 (API 200 -> visible to a query) on both targets
	$(LOCAL_AWS) $(PY) -m bench.freshness $(if $(QUICK),--quick,)

bench-e2e: $(STAMP) ## End-to-end events/s through the local pipeline on both targets
	$(LOCAL_AWS) $(PY) -m bench.e2e $(if $(QUICK),--quick,)

bench-instructions: $(STAMP) ## Consumer core in instructions/event (valgrind; stable on a noisy machine)
	$(LOCAL_AWS) $(PY) -m bench.instructions $(if $(QUICK),--quick,)

faults: $(STAMP) ## The fault table: 7 faults, then replay + compaction (also in make test)
	$(LOCAL_AWS) $(PY) -m bench.faults

cost: $(STAMP) ## AWS cost per million events: make cost EVENTS_PER_DAY=1B (docs/cost.md)
	$(BIN)/gamepipe cost --events-per-day $(EVENTS_PER_DAY) --preset recommended
	$(BIN)/gamepipe cost --events-per-day $(EVENTS_PER_DAY) --levers

clean: ## Remove build outputs (keeps .venv)
	rm -rf build out .pytest_cache .ruff_cache .mypy_cache
