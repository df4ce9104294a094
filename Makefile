# Two entry points for a new user on a fresh machine (see README.md):
#   make preview   set up Kavi and make one artwork with a dry-run preview (offline, no GPU)
#   make test      set up Kavi with the test tools and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: preview test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.kavi-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# torch is pinned to the CPU build first, so the neural extra does not pull CUDA packages.
$(VENV)/.kavi-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[neural,dev]"
	touch $@

preview: $(VENV)/.kavi-base
	$(BIN)/python -m bot --post-now --dry-run

test: $(VENV)/.kavi-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.kavi-dev
	$(BIN)/ruff check bot generators storage tests bench
	$(BIN)/mypy bot generators storage

bench: $(VENV)/.kavi-base
	$(BIN)/python bench/bench_offline.py --seeds 10 --size 1024

clean:
	rm -rf $(VENV)
