"""The application builder: config validation, GPU share only where GPUs exist, per-deployment scaling."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from deployments.face import FaceArgs
from integrity.core.results import ModelStatus
from serve_app.analyzers import remote_analyzers
from serve_app.app import _options, build_app
from serve_app.app_args import AppArgs, Autoscaling, DeploymentArgs, app_args_from
from serve_app.cluster import (
    CLUSTER_ENV,
    DIRECT_INGRESS,
    SLOW_NODE_ENV,
    THROUGHPUT_OPTIMIZED,
    direct_ingress_active,
    serve_cluster_env,
)
from serve_app.settings import REPO_ROOT, Settings
from tests.conftest import RAY_SLOW_NODE_ENV


@pytest.fixture
def weights(tmp_path: Path) -> str:
    """A YOLO weights file where the application is built (the builder only looks whether it is there)."""
    found = tmp_path / "yolo11n.onnx"
    found.write_bytes(b"onnx")
    return str(found)


def with_settings(args: AppArgs, **settings: object) -> AppArgs:
    return args.model_copy(update={"settings": {**args.settings, **settings}})


def test_checked_in_serve_config_is_valid() -> None:
    args = app_args_from(REPO_ROOT / "serve_config.yaml")
    assert args.objects.num_gpus == pytest.approx(0.25)  # a GPU share, used only where there is a GPU
    assert args.face.autoscaling.max_replicas >= 1
    with pytest.raises(ValidationError):
        AppArgs.model_validate({"face": {"num_cpus": 1, "num_gpu": 0.5}})  # typo: refused, not ignored


def test_gpu_share_applies_only_on_a_cluster_with_gpus() -> None:
    args = DeploymentArgs(
        num_cpus=0.5, num_gpus=0.25, autoscaling=Autoscaling(min_replicas=0, max_replicas=3)
    )
    on_cpu = _options(args, gpus_available=0.0, name="objects")
    on_gpu = _options(args, gpus_available=1.0, name="objects")
    # Both keep the CPU share: giving only num_gpus would silently reset num_cpus to 1.
    assert on_cpu["ray_actor_options"] == {"num_cpus": 0.5}
    assert on_gpu["ray_actor_options"] == {"num_cpus": 0.5, "num_gpus": 0.25}
    scaling = on_gpu["autoscaling_config"]
    assert (scaling["min_replicas"], scaling["initial_replicas"], scaling["max_replicas"]) == (0, 1, 3)


def test_custom_resources_place_replicas_only_on_nodes_that_offer_them() -> None:
    pinned = DeploymentArgs(num_cpus=0.5, resources={"face_slot": 1, "worker": 0.01})
    actor = _options(pinned, gpus_available=0.0, name="face")["ray_actor_options"]
    assert actor == {"num_cpus": 0.5, "resources": {"face_slot": 1.0, "worker": 0.01}}
    assert "resources" not in _options(DeploymentArgs(), 0.0, "face")["ray_actor_options"]  # none: anywhere
    args = AppArgs.model_validate({"ingress": {"resources": {"head": 0.01}}})
    assert args.ingress.resources == {"head": 0.01}
    with pytest.raises(ValidationError):
        DeploymentArgs(resources={"worker": -1})


def test_builder_wires_four_deployments_with_their_own_scaling(weights: str) -> None:
    args = app_args_from(REPO_ROOT / "serve_config.yaml")
    args = with_settings(args, gaze_placement="separate", yolo_model=weights)
    app = build_app(args)
    ingress = app._bound_deployment
    assert ingress.name == "ingress"
    children = {arg._bound_deployment.name: arg._bound_deployment for arg in ingress.init_args[:3]}
    assert set(children) == {"face", "gaze", "objects"}
    assert children["face"].ray_actor_options["num_cpus"] == pytest.approx(0.5)
    assert "num_gpus" not in children["objects"].ray_actor_options  # no Ray, hence no GPU, here
    assert children["face"]._deployment_config.autoscaling_config.max_replicas == 4


def test_gaze_placed_in_the_face_deployment_makes_no_gaze_deployment(weights: str) -> None:
    args = app_args_from(REPO_ROOT / "serve_config.yaml")
    args = with_settings(args, gaze_placement="face", yolo_model=weights)
    ingress = build_app(args)._bound_deployment
    face, gaze, objects = list(ingress.init_args)[:3]
    assert gaze is None  # the ingress asks the face deployment for both
    assert (face._bound_deployment.name, objects._bound_deployment.name) == ("face", "objects")
    assert face._bound_deployment.init_args[3] is not None  # the face replica holds a GazeAnalyzer


def test_direct_ingress_puts_the_ingress_replica_on_the_api_port_and_the_proxy_beside_it() -> None:
    direct = Settings(api_port=8000, direct_ingress=True)
    env = serve_cluster_env(direct)
    assert env[DIRECT_INGRESS] == "1"
    # One port per node, the API's (Serve's range excludes its upper end), and the proxy elsewhere.
    ports = (env["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"], env["RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"])
    assert ports == ("8000", "8001")
    assert direct.serve_proxy_port == 8010
    assert Settings(api_port=8000, direct_ingress=True, proxy_port=9100).serve_proxy_port == 9100
    with pytest.raises(ValidationError):
        Settings(api_port=8000, direct_ingress=True, proxy_port=8000)

    proxied = Settings(api_port=8000, direct_ingress=False)
    assert serve_cluster_env(proxied) == {**CLUSTER_ENV, DIRECT_INGRESS: "0"}
    assert proxied.serve_proxy_port == 8000


def test_the_tests_ray_gets_the_slow_node_settings_the_service_gets() -> None:
    assert RAY_SLOW_NODE_ENV == SLOW_NODE_ENV


def test_direct_ingress_is_read_as_serve_reads_it() -> None:
    assert not direct_ingress_active({})
    assert direct_ingress_active({DIRECT_INGRESS: "1"})
    assert direct_ingress_active({THROUGHPUT_OPTIMIZED: "1"})  # the mode turns it on unless told not to
    assert not direct_ingress_active({THROUGHPUT_OPTIMIZED: "1", DIRECT_INGRESS: "0"})


@pytest.mark.parametrize("cluster", ["1", "0"])
def test_builder_follows_the_clusters_direct_ingress(
    cluster: str, monkeypatch: pytest.MonkeyPatch, weights: str
) -> None:
    monkeypatch.setenv(DIRECT_INGRESS, cluster)
    args = with_settings(app_args_from(REPO_ROOT / "serve_config.yaml"), yolo_model=weights)
    ingress = build_app(args)._bound_deployment
    objects = list(ingress.init_args)[2]._bound_deployment
    for deployment in (ingress, objects):  # replicas never disagree with the controller about it
        options = deployment.ray_actor_options or {}
        env_vars = options["runtime_env"]["env_vars"]
        assert env_vars == {THROUGHPUT_OPTIMIZED: "1", DIRECT_INGRESS: cluster}
    # One ingress replica per node: each serves its node's one API port.
    assert ingress._replica_config.max_replicas_per_node == (1 if cluster == "1" else None)

    monkeypatch.delenv(DIRECT_INGRESS)
    plain = AppArgs(replica_env={})  # Ray's defaults: the replicas inherit the cluster's environment
    assert "runtime_env" not in (build_app(plain)._bound_deployment.ray_actor_options or {})


@pytest.mark.parametrize(
    ("placement", "direct", "inside"),
    [
        ("auto", "1", True),  # one ingress replica per node (python -m serve_app): the node's face stage
        ("auto", "0", False),  # behind Serve's proxy (KubeRay, serve run): a deployment of its own
        ("ingress", "0", True),
        ("deployment", "1", False),
    ],
)
def test_face_stage_placed_inside_the_ingress_or_in_its_own_deployment(
    placement: str, direct: str, inside: bool, monkeypatch: pytest.MonkeyPatch, weights: str
) -> None:
    monkeypatch.setenv(DIRECT_INGRESS, direct)
    args = app_args_from(REPO_ROOT / "serve_config.yaml")
    args = with_settings(args, face_placement=placement, yolo_model=weights)
    ingress = build_app(args)._bound_deployment
    face, gaze, objects = list(ingress.init_args)[:3]
    assert gaze is None and objects._bound_deployment.name == "objects"
    cpus = (ingress.ray_actor_options or {})["num_cpus"]
    if inside:  # the ingress builds the face class itself, from the same arguments, with both CPU shares
        assert isinstance(face, FaceArgs) and face.gaze_config is not None
        assert cpus == pytest.approx(args.ingress.num_cpus + args.face.num_cpus)
    else:
        assert face._bound_deployment.name == "face"
        assert FaceArgs(*face._bound_deployment.init_args).gaze_config is not None
        assert cpus == pytest.approx(args.ingress.num_cpus)
    with pytest.raises(ValidationError):
        Settings(face_placement="proxy")


async def test_no_objects_replica_without_weights_and_the_ingress_says_why(tmp_path: Path) -> None:
    """No YOLO weights where the application is built: no objects deployment (an idle replica that
    could only say so); the ingress answers for it with the replica's own words."""
    args = with_settings(app_args_from(REPO_ROOT / "serve_config.yaml"), model_path=str(tmp_path))
    ingress = build_app(args)._bound_deployment
    objects = list(ingress.init_args)[2]
    assert isinstance(objects, ModelStatus) and not objects.available
    assert objects.detail is not None and f"no YOLO weights at {tmp_path}" in objects.detail
    watched = remote_analyzers(object(), None, objects).objects
    assert await watched.missing() == objects and await watched.status() == objects
    assert (await watched.analyze(b"jpeg")).status == objects  # nothing sampled, nothing analysed
