# One command to set up and serve, one to test, one to lint. See README.md.
PORT ?= 8000
HOST ?= 127.0.0.1
VENV ?= .venv
BIN := $(VENV)/bin
# The first Python 3.11+ found; override with `make run PYTHON=python3.13`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)

.PHONY: run test lint mutation bench screenshots install install-dev check-python

check-python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (set PYTHON=...)." >&2; exit 1; }

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --loop uvloop --http httptools

test: install-dev
	$(BIN)/python -m pytest

# ruff and mypy, as configured in pyproject.toml; no database or Redis needed.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# mutmut on the core modules named in pyproject.toml (not in CI: tens of minutes on two cores); then
# `mutmut results` lists the survivors and `mutmut show <name>` shows one.
mutation: install-dev
	$(BIN)/mutmut run

bench: install-dev
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.costs
	$(BIN)/python -m bench.production

# The admin pictures in docs/screenshots/, taken afresh by the browser test (needs /usr/bin/chromium).
screenshots: install-dev
	BROWSER_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q recommendations/tests/test_browser.py
