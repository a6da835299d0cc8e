# make run  - install, migrate, and run web + worker + beat + Flower in the foreground (Ctrl-C stops all)
# make test - install, and run every test against real Postgres, Redis, a Celery worker and Chromium
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install system-deps run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,embedded]'
	@touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
system-deps:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian packages: chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: install
	$(BIN)/python -m common.cli init-env
	$(BIN)/python -m common.embedded up
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m common.cli bootstrap
	PATH="$(CURDIR)/$(BIN):$$PATH" exec $(BIN)/honcho start web worker beat flower

test: install system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	LIBRARY_ADAPTERS=off $(BIN)/python -m pytest -m stock_path $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check common web worker tests migrations bench
	$(BIN)/mypy common web worker

bench: install
	bench/ingest.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
