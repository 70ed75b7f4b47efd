# titlegen: `make demo` runs the main job offline on the bundled sample; `make test` runs the
# whole suite. Both create the virtual environment (.venv) on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR := data/demo

.PHONY: help demo test lint clean

help:
	@echo "make demo   fetch titles from the bundled sample dump (offline)"
	@echo "make test   install the test extras and run lint and the test suite"
	@echo "make clean  remove the virtual environment and generated files"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamps record which install ran; they are redone when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/titlegen fetch --source data/sample --per-subreddit 100 -o $(DEMO_DIR)/titles.csv
	@echo "First titles of $(DEMO_DIR)/titles.csv:"
	@head -n 11 $(DEMO_DIR)/titles.csv

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
