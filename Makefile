# Accountability — the two commands a newcomer needs are `make run` and `make test`.
# Both work on a fresh machine: they create .venv and install the locked dependencies.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Local development defaults; production sets these in the environment instead.
DEV_ENV := DEBUG=$${DEBUG:-true}

.PHONY: help install run web test test-fast lint format bench vendor lock check-deploy clean

help:
	@echo "make run    — install, migrate, load demo data, start web + worker + beat on http://$(HOST):$(PORT)"
	@echo "make test   — install and run the whole test suite"
	@echo "make lint | bench | vendor | lock | check-deploy | clean"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when a lock changes. requirements.lock is the runtime set (the Docker
# image installs only that); requirements-dev.lock adds the test and lint tools.
$(VENV)/.installed: requirements.lock requirements-dev.lock | $(PY)
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

run: install
	@mkdir -p var
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py seed_demo
	@echo
	@echo "  Accountability is starting on http://$(HOST):$(PORT)  (Ctrl-C stops web, worker and beat)"
	@echo "  Demo logins (password demo-pass-2026): leader@summit.example, manager@summit.example,"
	@echo "  producer@summit.example, leader@northwind.example"
	@echo
	$(DEV_ENV) HOST=$(HOST) PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile.dev start

# The web process alone (no worker/beat), for quick template work.
web: install
	$(DEV_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# Whole suite. With DATABASE_URL (PostgreSQL) and REDIS_URL set it runs on both, with a
# real Celery worker; without them on SQLite, skipping only the tests that need Redis.
test: install
	@if [ -z "$$REDIS_URL" ]; then echo "REDIS_URL is not set: tests marked 'redis' (real broker, real worker) will be skipped."; fi
	@echo "Database: $${DATABASE_URL:-SQLite (embedded default)}"
	$(BIN)/pytest -n auto --dist loadfile -q

test-fast: install
	$(BIN)/pytest -q -x --ff

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	@set -e; found=0; for f in bench/*.py; do [ -e "$$f" ] || continue; found=1; echo "== $$f"; $(DEV_ENV) $(PY) "$$f"; done; \
	  [ $$found = 1 ] || echo "No benchmarks yet."

# Copy the pinned front-end files (package.json / package-lock.json) into static/vendor/.
vendor:
	bash tools/vendor.sh

# Regenerate the full dependency lock from pyproject.toml's pinned direct dependencies.
lock:
	bash tools/lock.sh

check-deploy: install
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=accountability.example.com $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf var/celery-broker var/celerybeat-schedule* .pytest_cache
