"""Every file the Dockerfile's stages import is copied into them (issue 23): a new import cannot
break the image silently again, as ``integrity.core.checksums`` once broke the face-models stage.
Reads the Dockerfile, .dockerignore and the sources; builds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.dockerfile_imports import DockerIgnore, RepoModules, missing_files, stage_entries

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile").read_text()


def serve_import_modules() -> list[str]:
    """Modules Serve imports in the image (the image is also KubeRay's Ray image): serve_config.yaml's
    import paths, which k8s/rayservice.yaml's serveConfigV2 repeats verbatim."""
    config = yaml.safe_load((REPO / "serve_config.yaml").read_text())
    return [app["import_path"].split(":")[0] for app in config["applications"]]


def test_every_stage_has_the_files_it_imports() -> None:
    assert missing_files(DOCKERFILE, REPO, serve_import_modules()) == []


def test_the_check_sees_what_each_stage_runs() -> None:
    """The check is only as good as the entry points it finds: one per stage at least."""
    runs = {(e.stage, m) for e in stage_entries(DOCKERFILE, REPO, serve_import_modules()) for m in e.modules}
    assert ("objects-model", "serve_app.models_cli") in runs
    assert ("face-models", "integrity.vision.model_files") in runs
    final = {m for stage, m in runs if stage not in ("objects-model", "face-models")}
    assert {"serve_app", "serve_app.app"} <= final
    needed = RepoModules(REPO).needed(["serve_app"], run_as_main=True)
    # python -m serve_app runs serve_app/__main__.py, which builds the app from deployments/.
    assert {"serve_app/__main__.py", "deployments/face.py", "integrity/core/checksums.py"} <= needed.keys()


def test_catches_the_original_failure() -> None:
    """The face-models stage as it was: model_files.py imports integrity.core.checksums, which the
    stage did not copy (ModuleNotFoundError in the build)."""
    line = (
        "COPY integrity/core/__init__.py integrity/core/paths.py integrity/core/checksums.py"
        " ./integrity/core/"
    )
    assert line in DOCKERFILE
    before = DOCKERFILE.replace(
        line, "COPY integrity/core/__init__.py integrity/core/paths.py ./integrity/core/"
    )
    problems = missing_files(before, REPO, serve_import_modules())
    assert len(problems) == 1, problems
    assert "face-models" in problems[0]
    assert "integrity/core/checksums.py (imported by integrity/vision/model_files.py)" in problems[0]
    assert "/build/integrity/core/checksums.py" in problems[0]


def test_catches_a_package_left_out_of_the_runtime_stage() -> None:
    problems = missing_files(
        DOCKERFILE.replace("COPY deployments/ ./deployments/", ""), REPO, serve_import_modules()
    )
    assert any("deployments/face.py (imported by serve_app/app.py)" in p for p in problems), problems
    assert all("objects-model" not in p and "face-models" not in p for p in problems)


def test_catches_a_file_that_dockerignore_keeps_out() -> None:
    ignore = (REPO / ".dockerignore").read_text() + "\nintegrity/core/paths.py\n"
    problems = missing_files(DOCKERFILE, REPO, serve_import_modules(), dockerignore=ignore)
    stages = {p.split("'")[1] for p in problems if "integrity/core/paths.py" in p}
    assert {"objects-model", "face-models"} <= stages


def test_relative_and_type_checking_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "main.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import helper\n"
        "from .sub.deep import VALUE\n"
        "if TYPE_CHECKING:\n"
        "    from pkg import typing_only\n"
        "def later() -> None:\n"
        "    import pkg.lazy\n"
    )
    for name in ("helper", "typing_only", "lazy"):
        (pkg / f"{name}.py").write_text("import os\n")
    (pkg / "sub").mkdir()
    (pkg / "sub" / "__init__.py").write_text("from ..helper import os\n")
    (pkg / "sub" / "deep.py").write_text("VALUE = 1\n")
    dockerfile = (
        "FROM base AS one\nWORKDIR /w\nCOPY pkg/__init__.py pkg/main.py ./pkg/\nRUN python -m pkg.main\n"
    )
    problems = missing_files(dockerfile, tmp_path)
    missing = sorted(p.split(" needs ")[1].split(" ")[0] for p in problems)
    assert missing == ["pkg/helper.py", "pkg/lazy.py", "pkg/sub/__init__.py", "pkg/sub/deep.py"]
    complete = dockerfile.replace("COPY pkg/__init__.py pkg/main.py ./pkg/", "COPY pkg/ ./pkg/")
    assert missing_files(complete, tmp_path) == []
    # A WORKDIR other than the one the files were copied under: python -m finds nothing there.
    assert missing_files(complete.replace("RUN python", "WORKDIR /elsewhere\nRUN python"), tmp_path)


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("models/face_landmark.tflite", True),
        ("models/MANIFEST.md", False),
        ("models/image-object-model/yolov8n_int8.tflite", False),
        ("serve_app/__pycache__/app.cpython-311.pyc", True),
        ("clients/python/setup.py", True),
        ("clients/javascript/src/index.js", False),
        ("integrity/core/checksums.py", False),
        ("tests/conftest.py", True),
    ],
)
def test_dockerignore_rules(path: str, excluded: bool) -> None:
    assert DockerIgnore((REPO / ".dockerignore").read_text()).excluded(path) is excluded
