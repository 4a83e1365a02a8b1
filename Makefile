# Steward: one entry point for running and testing.
#   make demo   - virtualenv, install, migrate a SQLite database, load demo data, serve :5000
#   make test   - install dev dependencies, lint, run the whole test suite

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
# the suite runs in parallel on every core (pytest-xdist); PYTEST_ARGS= runs it in one process
PYTEST_ARGS ?= -n auto
PORT ?= 5000

.PHONY: demo test lint format install serve worker scheduler benchmarks clean translations

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app demo load
	@echo ""
	@echo "Steward is starting on http://$(HOST):$(PORT)  (stop with Ctrl-C)"
	$(BIN)/flask --app app run --host $(HOST) --port $(PORT) --no-reload

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# refresh the French catalogue from the sources (then translate what is new) and compile it
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output -o $(VENV)/messages.pot .
	$(BIN)/pybabel -q update -i $(VENV)/messages.pot -d app/translations -l fr --no-wrap --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel -q compile -d app/translations

worker: install
	$(BIN)/python -m workers worker

scheduler: install
	$(BIN)/python -m workers scheduler

benchmarks: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) instance .pytest_cache
