"""The application builder: config validation, GPU share only where GPUs exist, per-deployment scaling."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serve_app.__main__ import app_args_from
from serve_app.app import AppArgs, Autoscaling, DeploymentArgs, _options, build_app
from serve_app.settings import REPO_ROOT


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


def test_builder_wires_four_deployments_with_their_own_scaling() -> None:
    args = app_args_from(REPO_ROOT / "serve_config.yaml")
    args = args.model_copy(update={"settings": {**args.settings, "gaze_placement": "separate"}})
    app = build_app(args)
    ingress = app._bound_deployment
    assert ingress.name == "ingress"
    children = {arg._bound_deployment.name: arg._bound_deployment for arg in ingress.init_args[:3]}
    assert set(children) == {"face", "gaze", "objects"}
    assert children["face"].ray_actor_options["num_cpus"] == pytest.approx(0.5)
    assert "num_gpus" not in children["objects"].ray_actor_options  # no Ray, hence no GPU, here
    assert children["face"]._deployment_config.autoscaling_config.max_replicas == 4


def test_gaze_placed_in_the_face_deployment_makes_no_gaze_deployment() -> None:
    args = app_args_from(REPO_ROOT / "serve_config.yaml")
    args = args.model_copy(update={"settings": {**args.settings, "gaze_placement": "face"}})
    ingress = build_app(args)._bound_deployment
    face, gaze, objects = list(ingress.init_args)[:3]
    assert gaze is None  # the ingress asks the face deployment for both
    assert (face._bound_deployment.name, objects._bound_deployment.name) == ("face", "objects")
    assert face._bound_deployment.init_args[3] is not None  # the face replica holds a GazeAnalyzer
