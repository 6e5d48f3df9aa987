# Joist — one command to run it, one to test it. `make help` lists the targets.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: help venv run test test-e2e lint protos check-protos bench-contact bench-gateway bench-records bench-auth clean

help:
	@echo "make run            start every service (SQLite, embedded NATS) on this machine"
	@echo "make test           run the whole test suite (needs PostgreSQL on 127.0.0.1:5432)"
	@echo "make lint           ruff + import-linter contracts"
	@echo "make protos         regenerate the Python stubs from protos/"
	@echo "make bench-contact  Contact Us throughput, latency and POST-to-email latency"
	@echo "make bench-gateway  gateway vs direct gRPC vs a bare gRPC echo (needs wrk)"
	@echo "make bench-records  records creates vs raw Peewee, lists on 1M rows (SQLite + PostgreSQL)"
	@echo "make bench-auth     token verification cost per call, login throughput vs Argon2id"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

run: venv
	$(BIN)/joist run

test: venv
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check services tests bench protos
	$(BIN)/ruff format --check services tests bench protos
	$(BIN)/lint-imports

protos: venv
	$(BIN)/python protos/generate.py

bench-contact: venv
	$(BIN)/python -m bench.contact

bench-gateway: venv
	$(BIN)/python -m bench.gateway

bench-records: venv
	$(BIN)/python -m bench.records $(ARGS)

bench-auth: venv
	$(BIN)/python -m bench.auth

clean:
	rm -rf $(VENV) var
