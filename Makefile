# The two set-up commands: `make demo` and `make test`. Each brings a fresh Debian 12 (or
# Fedora/EL) machine to a working state by itself: system tools, then a .venv with the project
# installed at the locked versions, then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: all demo test lint typecheck check system-deps venv bench clean

all: test

system-deps:
	@bash scripts/install-system-deps.sh

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: system-deps venv
	$(BIN)/python -m elforge.demo

test: system-deps venv
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy

check: lint typecheck test

bench: system-deps venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .mypy_cache .ruff_cache
