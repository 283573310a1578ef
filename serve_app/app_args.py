"""The ``args`` of the application (the ``args`` block of serve_config.yaml): per-deployment
resources, config files and setting overrides. Read by the builder (``serve_app.app``) and, through
``serve_app.spec``, by the in-process service."""

# No `from __future__ import annotations` here: Serve validates the YAML's `args` into AppArgs from
# the builder's annotation at run time, and pydantic resolves these models' fields eagerly.

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat

from integrity.core.paths import CONFIGS, IDENTITY_CONFIG, POLICY_CONFIG, RISK_CONFIG
from serve_app.cluster import THROUGHPUT_OPTIMIZED


class Autoscaling(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(2, ge=1)
    target_ongoing_requests: float = Field(2.0, gt=0)
    upscale_delay_s: float = Field(3.0, ge=0)
    downscale_delay_s: float = Field(60.0, ge=0)


class DeploymentArgs(BaseModel):
    """Per-deployment resources: fractional CPUs so all replicas fit on a small box, GPU share opt-in."""

    model_config = ConfigDict(extra="forbid")

    num_cpus: float = Field(0.25, ge=0)
    num_gpus: float = Field(0.0, ge=0, description="Applied only when the cluster has GPUs.")
    memory_mb: int | None = Field(None, ge=1)
    resources: dict[str, NonNegativeFloat] = Field(
        default_factory=dict,
        description='Custom Ray resources each replica asks for (e.g. {"worker": 0.01}): replicas are '
        "placed only on nodes that offer them (`ray start --resources`, a KubeRay group's rayStartParams).",
    )
    max_ongoing_requests: int = Field(8, ge=1)
    max_queued_requests: int = Field(
        -1,
        ge=-1,
        description="Requests a caller may queue for this deployment; beyond, Serve refuses (-1: no bound).",
    )
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    retry_after_s: float = Field(
        1.0, ge=0, description="Retry-After of Serve's own refusals (beyond max_queued_requests)."
    )
    cv_threads: int | None = Field(
        1,
        ge=1,
        description="OpenCV and BLAS threads per replica (cv2.setNumThreads, threadpoolctl); null: the "
        "libraries' defaults, one per core.",
    )
    access_log: bool = Field(
        False, description="Serve's per-request access log lines (a log line per frame and per hop)."
    )
    nice: int = Field(
        0,
        ge=0,
        le=19,
        description="CPU priority of the replica's process, raised like `nice` (0: normal). The objects "
        "replica runs at 10 by default: where it shares cores with the frame path, frames get the CPU "
        "first and object analyses slow down (and are shed) instead.",
    )


# Ray Serve's "throughput optimized" mode for the replicas (Ray 2.60): user code and the router on
# the replica's event loop instead of two extra threads, gRPC between deployments, buffered request
# logs, frozen GC at start. The mode would also turn direct ingress on in the replicas alone; the
# builder pins that to the cluster's own setting (serve_app/cluster.py). Measured in docs/SCALING.md.
THROUGHPUT_ENV = {THROUGHPUT_OPTIMIZED: "1"}


class AppArgs(BaseModel):
    """The ``args`` block of serve_config.yaml."""

    model_config = ConfigDict(extra="forbid")

    replica_env: dict[str, str] = Field(
        default_factory=lambda: dict(THROUGHPUT_ENV),
        description="Environment of every replica process (runtime_env env_vars); {}: Ray's defaults.",
    )

    ingress: DeploymentArgs = Field(
        default_factory=lambda: DeploymentArgs(
            num_cpus=0.25,
            max_ongoing_requests=128,
            autoscaling=Autoscaling(max_replicas=1, target_ongoing_requests=64),
        )
    )
    face: DeploymentArgs = Field(default_factory=lambda: DeploymentArgs(num_cpus=0.5, max_ongoing_requests=4))
    gaze: DeploymentArgs = Field(default_factory=lambda: DeploymentArgs(num_cpus=0.25))
    objects: DeploymentArgs = Field(
        default_factory=lambda: DeploymentArgs(num_cpus=0.25, max_ongoing_requests=4, nice=10)
    )
    identity: DeploymentArgs = Field(
        default_factory=lambda: DeploymentArgs(num_cpus=0.25, max_ongoing_requests=2, nice=10)
    )
    face_config: Path = CONFIGS / "face.yaml"
    gaze_config: Path = CONFIGS / "gaze.yaml"
    objects_config: Path = CONFIGS / "objects.yaml"
    identity_config: Path = Field(IDENTITY_CONFIG, description="The identity watch (IDENTITY_CHANGED).")
    risk_config: Path = Field(RISK_CONFIG, description="Event table, debounce, decay, verdicts, behaviour.")
    policy_config: Path = Field(
        POLICY_CONFIG, description="Interview policies: stakes, allowances, profiles (read again on change)."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the environment settings (lower-case names)."
    )


def app_args_from(config: Path) -> AppArgs:
    """The first application's ``args`` in a Serve config file (serve_config.yaml)."""
    with config.open(encoding="utf-8") as fh:
        raw: dict[str, Any] = yaml.safe_load(fh) or {}
    apps = raw.get("applications") or []
    return AppArgs.model_validate(apps[0].get("args") or {} if apps else {})
