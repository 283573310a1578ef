# The two commands of the README: `make run` (install + serve on :8000) and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Ultralytics (object model tooling) must never reach out to the network at run time.
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := False
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install run serve test lint format bench models clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned to the local CPU wheel, so nothing later pulls CUDA wheels.
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,export]"
	# Ultralytics (ONNX export of YOLO weights) without its declared dependencies: they would pull
	# opencv-python (GUI build: overwrites the headless cv2, needs libGL) and a CUDA torchvision.
	# Its real ones are the `export` extra; torchvision is there only for its version number.
	$(BIN)/python -m pip install -q --no-deps -c constraints.txt ultralytics torchvision
	@if $(BIN)/python -m pip show -q opencv-python >/dev/null 2>&1; then \
	  echo "opencv-python (GUI build) is installed: this project needs opencv-python-headless only" >&2; \
	  exit 1; fi
	$(BIN)/python -c "import cv2, onnxruntime; assert cv2.getBuildInformation()"
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

## ruff, mypy --strict and the import contracts (layers; the library imports neither ray nor fastapi).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy integrity serve_app deployments benchmarks tests
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/objects_latency.py

## Download the official YOLO weights (YOLO_MODEL, default yolo11n.pt) into MODEL_PATH, check them
## against models/checksums.sha256 and export them to ONNX. Needs a network. PIN=1 records the
## checksum of weights not listed yet.
models: install
	$(BIN)/python -m integrity.vision.yolo_weights fetch $(if $(YOLO_MODEL),$(YOLO_MODEL),yolo11n.pt) $(if $(PIN),--pin)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
