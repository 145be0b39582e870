# paperex — two commands on a fresh machine with only python3 (3.11+):
#   make run    install into .venv and run the exchange on 127.0.0.1:8080
#   make test   install with the test extras and run the whole suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
DATA   ?= ./paperex-data

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/paperex serve --port $(PORT) --data-dir $(DATA)

test: $(VENV)/.installed-test
	@bash scripts/ensure-postgres.sh
	@bash scripts/ensure-chromium.sh
	$(BIN)/ruff check src tests bench examples
	$(BIN)/python -m pytest -rs

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench examples

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
