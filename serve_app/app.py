"""The application builder: ``serve run serve_config.yaml`` and ``python -m serve_app`` both call it.

Resources are decided here, not in the YAML's ``ray_actor_options`` (which would replace the whole
dict: giving only ``num_gpus`` silently resets ``num_cpus``), because a GPU share must fall back to
CPU on a cluster without GPUs: ``num_gpus: 0.25`` there leaves the replica pending forever and
requests to it hang.
"""

# No `from __future__ import annotations` here: Serve inspects the builder's annotation at run time
# to validate the YAML's `args` into AppArgs.

import logging
import secrets
from pathlib import Path
from typing import Any

import ray
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from ray.serve import Application, Deployment

from deployments.face import FaceDeployment
from deployments.gaze import GazeDeployment
from deployments.objects import ObjectDeployment
from integrity.core.paths import CONFIGS, RISK_CONFIG
from integrity.session.risk.config import RiskConfig
from integrity.vision.face import FaceConfig
from integrity.vision.gaze import GazeConfig
from integrity.vision.object_mapping import ObjectsConfig
from serve_app.cluster import DIRECT_INGRESS, THROUGHPUT_OPTIMIZED, direct_ingress_active
from serve_app.ingress import IntegrityIngress
from serve_app.settings import Settings

logger = logging.getLogger(__name__)


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
        description="OpenCV threads per replica (cv2.setNumThreads); null: OpenCV's default, one per core.",
    )
    access_log: bool = Field(
        False, description="Serve's per-request access log lines (a log line per frame and per hop)."
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
        default_factory=lambda: DeploymentArgs(num_cpus=0.25, max_ongoing_requests=4)
    )
    face_config: Path = CONFIGS / "face.yaml"
    gaze_config: Path = CONFIGS / "gaze.yaml"
    objects_config: Path = CONFIGS / "objects.yaml"
    risk_config: Path = Field(RISK_CONFIG, description="Event table, debounce, decay, verdicts, behaviour.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the environment settings (lower-case names)."
    )


def cluster_gpus() -> float:
    if not ray.is_initialized():
        return 0.0
    resources: dict[str, float] = ray.cluster_resources()
    return float(resources.get("GPU", 0.0))


def replica_env(configured: dict[str, str], direct: bool) -> dict[str, str]:
    """The replicas' environment: as configured, with direct ingress as the cluster has it (a replica
    must never open a port of its own behind a controller that does not expect one, nor the reverse).
    Empty stays empty: the replicas then inherit the cluster's environment unchanged."""
    if not configured:
        return {}
    return {**configured, DIRECT_INGRESS: "1" if direct else "0"}


def _options(
    args: DeploymentArgs, gpus_available: float, name: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    actor: dict[str, Any] = {"num_cpus": args.num_cpus}
    if env:
        actor["runtime_env"] = {"env_vars": dict(env)}
    if args.num_gpus > 0:
        if gpus_available > 0:
            actor["num_gpus"] = args.num_gpus
        else:
            logger.warning(
                "%s asks for %.2f GPU but the cluster has none: running on CPU", name, args.num_gpus
            )
    if args.memory_mb is not None:
        actor["memory"] = args.memory_mb * 1024 * 1024
    scaling = args.autoscaling
    return {
        "ray_actor_options": actor,
        "logging_config": {"enable_access_log": args.access_log},
        "max_ongoing_requests": args.max_ongoing_requests,
        "max_queued_requests": args.max_queued_requests,
        "backpressure_config": {"status_code": 503, "retry_after_s": args.retry_after_s},
        "autoscaling_config": {
            "min_replicas": scaling.min_replicas,
            "initial_replicas": max(1, scaling.min_replicas),
            "max_replicas": scaling.max_replicas,
            "target_ongoing_requests": scaling.target_ongoing_requests,
            "upscale_delay_s": scaling.upscale_delay_s,
            "downscale_delay_s": scaling.downscale_delay_s,
        },
    }


def build_app(args: AppArgs) -> Application:
    if not isinstance(args, AppArgs):  # plain dict when called directly
        args = AppArgs.model_validate(args or {})
    settings = Settings(**args.settings)
    if settings.session_token_secret is None:
        # Every ingress replica must verify the tokens any other replica issued: one secret per
        # deployment. Set SESSION_TOKEN_SECRET for tokens that survive a redeploy.
        settings = settings.model_copy(update={"session_token_secret": SecretStr(secrets.token_urlsafe(32))})
    if not settings.api_key_list:
        logger.warning("API_KEYS is not set: anyone who reaches the port can open and end sessions")
    risk_config = RiskConfig.load(args.risk_config)
    gpus = cluster_gpus()
    direct = direct_ingress_active()
    logger.info("building the application (cluster GPUs: %s, direct ingress: %s)", gpus, direct)
    env = replica_env(args.replica_env, direct)

    face = _deployment(FaceDeployment).options(**_options(args.face, gpus, "face", env))
    objects = _deployment(ObjectDeployment).options(**_options(args.objects, gpus, "objects", env))
    ingress_options = _options(args.ingress, gpus, "ingress", env)
    if direct:  # each node's ingress replica serves the node's one direct-ingress port (API_PORT)
        ingress_options["max_replicas_per_node"] = 1
    ingress = _deployment(IntegrityIngress).options(**ingress_options)
    gaze_config = GazeConfig.load(args.gaze_config)
    objects_config = ObjectsConfig.load(args.objects_config)
    relook = objects_config.person_relook
    face_models = (settings.face_models_dir, FaceConfig.load(args.face_config), settings.model_path)
    if settings.gaze_placement == "face":  # gaze inside the face replica's call: no gaze deployment
        face_app, gaze_app = face.bind(*face_models, gaze_config, args.face.cv_threads, relook), None
    else:
        face_app = face.bind(*face_models, None, args.face.cv_threads, relook)
        gaze = _deployment(GazeDeployment).options(**_options(args.gaze, gpus, "gaze", env))
        gaze_app = gaze.bind(gaze_config, args.gaze.cv_threads)
    return ingress.bind(
        face_app,
        gaze_app,
        objects.bind(
            settings.model_path,
            settings.yolo_model,
            settings.confidence_threshold,
            objects_config,
            args.objects.cv_threads,
        ),
        settings,
        risk_config,
        relook,
    )


def _deployment(decorated: object) -> Deployment:
    """``@serve.deployment`` turns a class into a Deployment, which mypy cannot see."""
    assert isinstance(decorated, Deployment)
    return decorated
