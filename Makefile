# `make demo`: set up and run the offline demo. `make test`: set up and run every check.
VENV ?= .venv
PY := $(VENV)/bin/python
CHROMIUM_PATH ?= /usr/bin/chromium

.PHONY: setup chromium demo test bench crawl

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

# Debian's Chromium for scrapy-playwright (Playwright's own browser download is not used).
chromium:
	@test -x $(CHROMIUM_PATH) || (apt-get update -qq && apt-get install -y -qq chromium)

demo: setup
	$(PY) scripts/demo.py

test: setup chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

bench: setup
	$(PY) -m bench

crawl: setup
	$(VENV)/bin/scrapy crawl lpse
