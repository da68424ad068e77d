# One obvious command per task. The first use sets up .venv with the pinned dependencies.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo run test lint bench docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,bench]'
	# google-reader (tests/api) declares Python 3.12 but runs on 3.11; see pyproject's dev extra
	$(PY) -m pip install -q --ignore-requires-python google-reader==0.0.3
	touch $@

demo: $(VENV)/.installed  ## serve a bundled sample news site, collect it, open the reader (no network needed)
	$(VENV)/bin/newsdesk demo

run: $(VENV)/.installed   ## the scheduler plus the web reader, on SQLite in ~/.local/share/newsdesk
	$(VENV)/bin/newsdesk run

test: $(VENV)/.installed  ## the whole test suite (starts its own local HTTP/SMTP servers; needs PostgreSQL on 127.0.0.1)
	scripts/ensure-test-services
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(PY) bench/poll.py
	$(PY) bench/extract.py

docs: $(VENV)/.installed  ## regenerate the generated reference docs
	$(VENV)/bin/newsdesk settings --markdown > docs/settings.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
