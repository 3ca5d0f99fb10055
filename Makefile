# Two commands on a fresh Debian machine: `make run` (database, migrations, API) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

LINT_PATHS    := src tests $(wildcard bench)

# gcc and libc6-dev build the orgbase_seal extension (ext/orgbase_seal) that migration 016 needs.
RUN_PACKAGES  := postgresql gcc libc6-dev
TEST_PACKAGES := $(RUN_PACKAGES) postgresql-15-pgtap pgbouncer redis-server

.PHONY: run test lint typecheck unit bench clean

run: $(STAMP)
	scripts/install-deps.sh $(RUN_PACKAGES)
	scripts/build-seal.sh
	$(BIN)/orgbase run

test: $(STAMP)
	scripts/install-deps.sh $(TEST_PACKAGES)
	scripts/build-seal.sh
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS) && $(BIN)/ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's own python3 has no ensurepip until python3-venv is installed (a Python built elsewhere has it).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV) || { scripts/install-deps.sh python3-venv && $(PYTHON) -m venv --clear $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

clean:
	-$(BIN)/orgbase db stop 2>/dev/null
	rm -rf $(VENV) .orgbase-test .mypy_cache .ruff_cache .pytest_cache build
