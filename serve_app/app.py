"""The application builder: ``serve run serve_config.yaml`` and ``python -m serve_app`` both call it.

Resources are decided here, not in the YAML's ``ray_actor_options`` (which would replace the whole
dict: giving only ``num_gpus`` silently resets ``num_cpus``), because a GPU share must fall back to
CPU on a cluster without GPUs: ``num_gpus: 0.25`` there leaves the replica pending forever and
requests to it hang.
"""

# No `from __future__ import annotations` here: Serve inspects the builder's annotation at run time
# to validate the YAML's `args` into AppArgs.

import logging
from typing import Any

import ray
from ray.serve import Application, Deployment

from deployments.face import FaceArgs, FaceDeployment
from deployments.gaze import GazeDeployment
from deployments.identity import IdentityDeployment
from deployments.objects import ObjectDeployment
from integrity.core.results import ModelStatus
from integrity.vision.objects import ObjectAnalyzer
from integrity.vision.yolo_weights import resolve_weights
from serve_app.app_args import AppArgs, DeploymentArgs
from serve_app.cluster import DIRECT_INGRESS, direct_ingress_active
from serve_app.ingress import IntegrityIngress
from serve_app.spec import AppSpec

logger = logging.getLogger(__name__)


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
    if args.resources:
        actor["resources"] = dict(args.resources)
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
    spec = AppSpec.from_args(args)
    args, settings = spec.args, spec.settings
    if not settings.api_key_list:
        logger.warning("API_KEYS is not set: anyone who reaches the port can open and end sessions")
    gpus = cluster_gpus()
    direct = direct_ingress_active()
    face_inside = face_in_ingress(settings.face_placement, direct)
    logger.info(
        "building the application (cluster GPUs: %s, direct ingress: %s, face stage inside the ingress: %s)",
        gpus,
        direct,
        face_inside,
    )
    env = replica_env(args.replica_env, direct)

    face = _deployment(FaceDeployment).options(**_options(args.face, gpus, "face", env))
    objects = _deployment(ObjectDeployment).options(**_options(args.objects, gpus, "objects", env))
    ingress_args = args.ingress
    if face_inside:  # the ingress replica does the face replica's work too: it asks for both CPU shares
        shares = args.ingress.num_cpus + args.face.num_cpus
        ingress_args = ingress_args.model_copy(update={"num_cpus": shares})
    ingress_options = _options(ingress_args, gpus, "ingress", env)
    if direct:  # each node's ingress replica serves the node's one direct-ingress port (API_PORT)
        ingress_options["max_replicas_per_node"] = 1
    ingress = _deployment(IntegrityIngress).options(**ingress_options)
    if settings.gaze_placement == "face":  # gaze inside the face replica's call: no gaze deployment
        face_args = FaceArgs(*spec.face_models, spec.gaze_config, args.face.cv_threads, spec.relook)
        gaze_app = None
    else:
        face_args = FaceArgs(*spec.face_models, None, args.face.cv_threads, spec.relook)
        gaze = _deployment(GazeDeployment).options(**_options(args.gaze, gpus, "gaze", env))
        gaze_app = gaze.bind(spec.gaze_config, args.gaze.cv_threads)
    # Inside the ingress, each ingress replica builds the face class from its arguments itself.
    face_app = face_args if face_inside else face.bind(*face_args)
    # No weights where the application is built: no objects replica (it could only say so, and every
    # idle replica costs CPU); the ingress reports the model's absence with the replica's own words.
    absent = absent_object_model(spec)
    if absent is None:
        objects_app: Any = objects.bind(*spec.object_model, args.objects.cv_threads, args.objects.nice)
    else:
        objects_app = absent
    identity_app = None
    if spec.identity_config.enabled:
        identity = _deployment(IdentityDeployment).options(**_options(args.identity, gpus, "identity", env))
        identity_app = identity.bind(spec.identity_config, args.identity.cv_threads, args.identity.nice)
    return ingress.bind(
        face_app,
        gaze_app,
        objects_app,
        settings,
        spec.risk_config,
        spec.relook,
        spec.objects_config.sampling,
        args.policy_config,
        identity_app,
        spec.identity_config,
    )


def absent_object_model(spec: AppSpec) -> ModelStatus | None:
    """The object model's status where its weights file is missing here (None: it is there). The
    weights are looked for where the application is built: a cluster whose nodes differ keeps them
    on the head node too (the image carries them on every node)."""
    model_path, model_name, *_ = spec.object_model
    if resolve_weights(model_path, model_name).is_file():
        return None
    absent = ObjectAnalyzer(*spec.object_model)
    absent.load()  # no file: says so at once, in the words a replica would use
    return absent.status


def face_in_ingress(placement: str, direct: bool) -> bool:
    """Whether the face stage runs inside the ingress replicas: as configured, and with ``auto``
    where direct ingress is on (one ingress replica per node, each analysing its own node's frames:
    a local cluster of ``python -m serve_app``), not behind Serve's proxy (KubeRay, ``serve run``),
    where the face deployment scales on its own."""
    return placement == "ingress" or (placement == "auto" and direct)


def _deployment(decorated: object) -> Deployment:
    """``@serve.deployment`` turns a class into a Deployment, which mypy cannot see."""
    assert isinstance(decorated, Deployment)
    return decorated
