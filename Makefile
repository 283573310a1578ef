# The two commands of the README: `make run` (install + serve on :8000) and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Ultralytics (object model tooling) must never reach out to the network at run time.
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := False
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install run serve test lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned to the local CPU wheel, so nothing later pulls CUDA wheels.
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

install: $(STAMP)

## Install and serve the API on $API_HOST:$API_PORT (default 0.0.0.0:8000), in-memory sessions.
run: install
	$(BIN)/python -m serve_app

## Same application through Ray's CLI and the checked-in config.
serve: install
	$(BIN)/serve run serve_config.yaml

## Install and run the whole test suite.
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy serve_app deployments benchmarks tests

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
