# Two entry points for a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Test processes: pytest-xdist's `auto` is one per core. `make quick` leaves out the slow tests
# and the Chromium ones for a fast local loop; `make test` (and CI) runs every test.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist worksteal

.PHONY: demo test quick lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The nightly job on the embedded demo tenant. Exit 2 means "drift found", which is the story.
demo: $(STAMP)
	$(BIN)/driftguard diff --tenant demo; rc=$$?; test $$rc -eq 0 -o $$rc -eq 2

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(PYTEST)

test: lint typecheck pytest

quick: $(STAMP)
	$(PYTEST) -m "not slow and not chromium"

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist src/*.egg-info
