# SoVei implementation platform: the two commands a newcomer needs are `make run` and
# `make test`. Both create .venv on first use; the launcher (deploy/local.py) uses
# DATABASE_URL / REDIS_URL when set and otherwise starts an embedded PostgreSQL and Redis
# with their data under ./var.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Interpreters tried, in order, for creating .venv (override: make run PYTHON=/path/to/python3.12)
PYTHON ?= python3.13 python3.12 python3.11 python3
PORT   ?= 8000
ARGS   ?=

export PORT

.PHONY: help run test lint migrate demo stop clean chromium

help:
	@echo "make run      start the platform on http://localhost:$(PORT)/ (Ctrl-C stops it)"
	@echo "make test     run the whole test suite (extra pytest arguments: ARGS='-k health');"
	@echo "              as root it installs Debian's chromium for the browser tests if missing"
	@echo "make lint     ruff and mypy"
	@echo "make migrate  migrate the public, municipality and template schemas; import the catalog"
	@echo "make demo     migrate, then load the six pilot municipalities and demo users"
	@echo "make stop     stop embedded PostgreSQL / Redis left running in ./var"
	@echo "make clean    stop them and delete ./var (all local data), staticfiles and caches"

# .venv with Python >= 3.11, re-installed whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@set -e; \
	ok() { "$$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }; \
	if [ -x "$(PY)" ] && ! ok "$(PY)"; then \
		echo "[sovei] $(VENV) has a Python older than 3.11; recreating it"; rm -rf "$(VENV)"; \
	fi; \
	if [ ! -x "$(PY)" ]; then \
		found=; \
		for candidate in $(PYTHON); do \
			if command -v "$$candidate" >/dev/null 2>&1 && ok "$$candidate"; then \
				found="$$candidate"; break; \
			fi; \
		done; \
		if [ -z "$$found" ]; then \
			echo "[sovei] ERROR: no Python 3.11 or newer found (tried: $(PYTHON))." >&2; \
			echo "[sovei] Install Python >= 3.11, or name one: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; \
			exit 1; \
		fi; \
		echo "[sovei] creating $(VENV) with $$found ($$("$$found" -c 'import sys; print(sys.version.split()[0])'))"; \
		"$$found" -m venv "$(VENV)"; \
	fi; \
	echo "[sovei] installing the project and its dependencies into $(VENV)"; \
	"$(PY)" -m pip install --disable-pip-version-check -q -e '.[dev,embedded]'; \
	touch "$@"

run: $(STAMP)
	@$(PY) deploy/local.py run

# The browser tests (tests/browser) drive Debian's chromium: `make test` installs it with
# apt-get when /usr/bin/chromium is missing and it runs as root, and says how otherwise.
test: $(STAMP)
	@$(PY) deploy/local.py test $(ARGS)

chromium: $(STAMP)
	@$(PY) deploy/local.py chromium

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

migrate: $(STAMP)
	@$(PY) deploy/local.py migrate

demo: $(STAMP)
	@$(PY) deploy/local.py demo

stop:
	@if [ -x "$(PY)" ]; then $(PY) deploy/local.py stop; fi

clean: stop
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
