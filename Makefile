# `make demo`: set up and run the offline demo. `make test`: set up and run every check.
VENV ?= .venv
PY := $(VENV)/bin/python
CHROMIUM_PATH ?= /usr/bin/chromium

.PHONY: setup chromium postgresql demo test coverage bench crawl

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

# Debian's Chromium for scrapy-playwright (Playwright's own browser download is not used).
chromium:
	@test -x $(CHROMIUM_PATH) || (apt-get update -qq && apt-get install -y -qq chromium)

# Debian's PostgreSQL server binaries: the PostgreSQL tests start a private cluster with them.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq postgresql)

demo: setup
	$(PY) scripts/demo.py

# The whole suite twice: on SQLite, then on PostgreSQL (a private cluster the tests start).
test: setup chromium postgresql
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest
	TEST_DATABASE=postgres $(PY) -m pytest

# Line coverage of lpse_crawler/ and bot/, the processes the tests start included (pyproject.toml).
# The whole suite by default; `make coverage PYTEST_ARGS='-m "not slow"'` for the fast set.
coverage: setup chromium postgresql
	rm -rf data/coverage
	$(VENV)/bin/coverage run -m pytest $(PYTEST_ARGS); status=$$?; \
	$(VENV)/bin/coverage combine -q && $(VENV)/bin/coverage report; exit $$status

bench: setup
	$(PY) -m bench

crawl: setup
	$(VENV)/bin/scrapy crawl lpse
