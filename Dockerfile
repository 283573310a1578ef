# Interview-integrity service: one container running a local Ray with the Serve application
# (`python -m serve_app`). The same image also serves as the Ray image of the KubeRay RayService in
# k8s/rayservice.yaml, where KubeRay replaces the command with `ray start ...`.
#
#   docker build -t interview-integrity:0.1.0 .
#   docker run --rm --shm-size=1g --stop-timeout 30 -p 8000:8000 -p 127.0.0.1:8080:8080 \
#       -v iis-models:/app/models interview-integrity:0.1.0
#
# CPU only, linux/amd64 (the platform whose wheels were checked). See docs/DEPLOYMENT.md.

# Debian 12, the distribution the wheels below were checked on; the compiled wheels bundle their own
# libraries and need only glibc, libstdc++ and zlib from the base image.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# tini: PID 1 that forwards SIGTERM to Python and reaps the processes Ray leaves behind.
# wget: KubeRay's liveness/readiness probes exec `wget` inside Ray containers.
# Nothing else: opencv-python-headless, dlib-bin, torch and ray wheels bundle their libraries.
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

# Dependencies first, in the Makefile's order, so that code changes do not reinstall them:
# 1. torch, pinned by constraints.txt, from the CPU-only index (PyPI's Linux wheel pulls CUDA);
# 2. the project's dependencies as listed in pyproject.toml, under the same constraints.
# (The Makefile also upgrades pip unpinned: hadolint DL3013 is waived.)
COPY constraints.txt pyproject.toml ./
# hadolint ignore=DL3013
RUN python -m pip install --upgrade pip \
 && python -m pip install -c constraints.txt \
        --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && python -m pip install -c constraints.txt -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project itself, installed editable as in the Makefile: the code resolves its configs and
# models relative to the source tree (serve_app/settings.py: REPO_ROOT = /app).
COPY README.md LICENSE serve_config.yaml ./
COPY configs/ ./configs/
COPY models/ ./models/
COPY deployments/ ./deployments/
COPY serve_app/ ./serve_app/
RUN python -m pip install --no-deps -c constraints.txt -e . \
 && python -m pip check \
 && chown app:app /app/models

# Runtime defaults (every setting is listed in docs/DEPLOYMENT.md). MODEL_PATH is meant to be a
# mounted volume holding the optional YOLO weights; without them the service runs and reports the
# object model as unavailable.
ENV API_HOST=0.0.0.0 \
    API_PORT=8000 \
    MODEL_PATH=/app/models \
    YOLO_OFFLINE=1 \
    YOLO_AUTOINSTALL=False \
    YOLO_CONFIG_DIR=/tmp/Ultralytics \
    RAY_USAGE_STATS_ENABLED=0

USER 1000:1000

# 8000: API (Serve HTTP proxy). 8080: Prometheus metrics of Ray and the service.
# 8265: Ray dashboard; `python -m serve_app` binds it to 127.0.0.1 inside the container, so
# publishing this port reaches it only where the dashboard listens on 0.0.0.0 (KubeRay head).
EXPOSE 8000 8080 8265

# /health answers 200 with "ok" or "degraded" (degraded is normal without YOLO weights).
# Cold start (Ray + Serve + model loading) took 7-10 s on 2 cores; the start period allows for
# slower hosts.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('API_PORT', '8000'), timeout=8)"]

# SIGTERM stops Serve and Ray in ~10 s: give the container a stop timeout of 20 s or more.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "-m", "serve_app"]
