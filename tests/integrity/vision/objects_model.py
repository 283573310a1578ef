"""A real YOLO11n for tests, built offline from Ultralytics' bundled YAML (random weights).

Weights cannot be downloaded here, so the tests build ``yolo11n.yaml`` with COCO's class names and
save it as ``yolo11n-random.pt`` (not ``yolo11n.pt``: that name is pinned to the official weights'
checksum, which these do not match); the detector then exports it to ONNX and caches the export
exactly as it would official weights. Random weights score every class near zero, which would leave decoding,
NMS and the mapping with nothing to do, so the classification biases of the detection head are set:
the stride-8 scale says "cell phone" (many small boxes: NMS has work), the stride-32 scale says
"person", the stride-16 scale says nothing. Boxes stay random.

Building runs in a child process: importing Ultralytics changes process-wide settings (OpenCV
threads, torch print options) that the other tests should not inherit. Built once per test session
(``functools.cache``) and shared by the unit and integration tests; the export happens once too.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from integrity.vision.yolo_weights import prepare_model

PHONE, PERSON = 67, 0
WEIGHTS = "yolo11n-random.pt"
ONNX = "yolo11n-random.onnx"

_BUILD = """
import sys
from pathlib import Path

import torch
import yaml
import ultralytics
from ultralytics import YOLO

names = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg/datasets/coco.yaml").read_text())["names"]
torch.manual_seed(0)
model = YOLO("yolo11n.yaml")
model.model.names = names
head = model.model.model[-1]
for scale, seq in enumerate(head.cv3):
    bias = seq[-1].bias.data
    bias[:] = -10.0
    if scale == 0:
        bias[{phone}] = 4.0
    elif scale == 2:
        bias[{person}] = 5.0
model.save(sys.argv[1])
"""


def ultralytics_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        YOLO_OFFLINE="1",
        YOLO_AUTOINSTALL="False",
        YOLO_VERBOSE="False",
        YOLO_CONFIG_DIR=str(workdir / "ultralytics-config"),
        RAY_USAGE_STATS_ENABLED="0",
    )
    return env


def _tempdir(prefix: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, directory, True)
    return directory


@functools.cache
def random_yolo_weights() -> Path:
    """A directory holding only ``yolo11n-random.pt`` (random weights, biased head); built once."""
    directory = _tempdir("yolo-pt-")
    target = directory / WEIGHTS
    subprocess.run(
        [sys.executable, "-c", _BUILD.format(phone=PHONE, person=PERSON), str(target)],
        cwd=directory,
        env=ultralytics_env(directory),
        check=True,
        capture_output=True,
        timeout=300,
    )
    shutil.rmtree(directory / "ultralytics-config", ignore_errors=True)
    return target


@functools.cache
def exported_model_dir() -> Path:
    """A ``MODEL_PATH`` with ``yolo11n-random.pt`` and its cached ONNX export (exported once)."""
    directory = _tempdir("yolo-model-")
    shutil.copy2(random_yolo_weights(), directory / WEIGHTS)
    prepared = prepare_model(directory, WEIGHTS)
    assert prepared.exported and prepared.file == directory / ONNX and prepared.file.is_file()
    return directory


def copy_model_dir(target: Path) -> Path:
    """A copy of the exported model directory (times kept, so the cache stays valid)."""
    source = exported_model_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name in (WEIGHTS, ONNX, f"{ONNX}.json"):
        shutil.copy2(source / name, target / name)
    return target
