# KAM's entry points. `make run` starts KAM; `make test` runs the whole suite. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12, found on PATH or through pyenv (.python-version pins the version).
PYTHON_VERSION := $(shell cat .python-version)
PYTHON ?= $(shell command -v python$(basename $(PYTHON_VERSION)) 2>/dev/null || ls $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(PYTHON_VERSION)/bin/python 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py

# The test suite's services; override to point at others.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kam
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
DEMO_ACCOUNTS ?= 300

.PHONY: help install run test test-fast lint format messages lock bench clean screenshots

help:
	@echo "make install  create .venv and install the pinned dependencies"
	@echo "make run      set up and start KAM on http://127.0.0.1:8000 with demo data"
	@echo "make test     run the whole suite on PostgreSQL and Redis"
	@echo "make test-fast  the same without the slow and browser tests (schemathesis, workers, servers)"
	@echo "make lint     ruff check and format check"
	@echo "make messages rebuild the translation catalogues"
	@echo "make bench    run the benchmarks (BENCH_SCALE=small|full)"

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else "KAM needs Python 3.12; found " + sys.version.split()[0] + " at " + sys.executable + ". Install it (pyenv install 3.12) or set PYTHON=/path/to/python3.12.")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

# Embedded default: SQLite and in-process tasks. With DATABASE_URL and CELERY_BROKER_URL set: the
# real stack (web, worker and beat under honcho, see Procfile).
run: install
	@export KAM_ENV=$${KAM_ENV:-development}; \
	$(MANAGE) compilemessages --ignore=.venv -v0 && \
	$(MANAGE) migrate --noinput && \
	$(MANAGE) seed_demo --if-empty --accounts $(DEMO_ACCOUNTS) && \
	$(MANAGE) recompute_scores --if-stale --no-progress >/dev/null && \
	$(MANAGE) evaluate_alerts --if-stale && \
	$(MANAGE) recompute_kpis --if-stale && \
	if [ -n "$$DATABASE_URL" ] && [ -n "$$CELERY_BROKER_URL" ]; then \
	  echo "Starting web, worker and beat on http://127.0.0.1:8000 (DATABASE_URL and CELERY_BROKER_URL are set)"; \
	  exec $(BIN)/honcho start -f Procfile; \
	else \
	  echo "Starting KAM on http://127.0.0.1:8000 (embedded: SQLite in var/, tasks run in-process)"; \
	  exec $(MANAGE) runserver 127.0.0.1:8000; \
	fi

test: install
	@export KAM_ENV=test DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL); \
	$(BIN)/python -m kam.preflight && \
	$(BIN)/ruff check . && \
	$(BIN)/ruff format --check . && \
	$(MANAGE) compilemessages --ignore=.venv -v0 && \
	$(MANAGE) check --fail-level WARNING && \
	$(MANAGE) makemigrations --check --dry-run && \
	$(BIN)/pytest --create-db $(PYTEST_ARGS)

# While working: everything but the tests that start processes, drive Chromium or fuzz the whole API.
test-fast:
	@$(MAKE) --no-print-directory test PYTEST_ARGS='-m "not slow and not browser" $(PYTEST_ARGS)'

# Benchmarks: BENCH_SCALE=small (10,000 accounts, default) or full (100,000); see docs/benchmarks.md.
BENCH_SCALE ?= small
bench: install
	@DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) $(BIN)/python -m kam.preflight
	$(BIN)/python -m bench --scale $(BENCH_SCALE)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Each app keeps its own catalogue (<app>/locale); the root one (locale/) holds kam/ and templates/.
APPS := accounts tiering service_plans reports web imports integrations
messages: install
	@for app in $(APPS); do \
	  mkdir -p $$app/locale && (cd $$app && PYTHONPATH=.. KAM_ENV=development ../$(BIN)/django-admin makemessages -l zh_Hans --no-obsolete -v0) || exit 1; \
	done
	KAM_ENV=development $(MANAGE) makemessages -l zh_Hans --no-obsolete -v0 --ignore=.venv --ignore=static/vendor --ignore=tests --ignore=bench $(addprefix --ignore=,$(APPS))
	KAM_ENV=development $(MANAGE) compilemessages --ignore=.venv -v0
	@# A reworded msgid (even its capitalisation) loses its entry under --no-obsolete, and msgmerge's
	@# fuzzy matching hands the old translation to the new msgid flagged "#, fuzzy". compilemessages
	@# skips fuzzy entries, so the page silently shows English: say so here instead of later.
	@bad=0; for po in locale/zh_Hans/LC_MESSAGES/django.po $(foreach app,$(APPS),$(app)/locale/zh_Hans/LC_MESSAGES/django.po); do \
	  stats=$$(msgfmt --statistics -o /dev/null $$po 2>&1); \
	  case "$$stats" in *fuzzy*|*untranslated*) echo "$$po: $$stats"; bad=1;; esac; \
	done; \
	if [ $$bad = 1 ]; then \
	  echo "Translate these before committing: 'msgattrib --only-fuzzy FILE' and 'msgattrib --untranslated FILE' list them."; \
	  echo "A fuzzy entry carries the old msgid (#|) and its old translation: check it, then delete the '#, fuzzy' line."; \
	  exit 1; \
	fi

lock:
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev --strip-extras -o requirements.lock pyproject.toml

# The README's screenshots, taken by Playwright with Debian's Chromium on a small demo portfolio.
screenshots: install
	@export KAM_ENV=test KAM_SCREENSHOTS=1 DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL); \
	$(MANAGE) compilemessages --ignore=.venv -v0 && \
	$(BIN)/pytest --create-db -p no:cacheprovider tests/web/test_browser.py -k test_screenshots

clean:
	rm -rf $(VENV) var/staticfiles .pytest_cache .ruff_cache
