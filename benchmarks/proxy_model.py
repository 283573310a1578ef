"""A stand-in for the official YOLO weights where they are absent: YOLO11n, random weights, ONNX 320.

The network is Ultralytics' bundled ``yolo11n.yaml`` with COCO's class names, so it costs what the
official ``yolo11n.pt`` costs (same layers, same input size); only the weights are random (seeded,
so every build is the same network). It is built in a child process (importing Ultralytics changes
process-wide settings: OpenCV threads, torch print options), saved as ``yolo11n-random.pt`` (not
``yolo11n.pt``: that name is pinned to the official checksum) and exported to ONNX by the service's
own exporter (``yolo_weights.prepare_model``: dynamic input, simplified) at the CPU input size of
configs/objects.yaml (``imgsz_cpu``, 320). The files are cached under the virtual environment
(``.venv/.cache/bench-models/``): a second run reuses them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".venv" / ".cache" / "bench-models"
WEIGHTS = "yolo11n-random.pt"
ONNX = "yolo11n-random.onnx"
PROXY_IMGSZ = 320
LABEL = "YOLO11n proxy, random weights, ONNX 320 (same network and cost)"

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
model.save(sys.argv[1])
"""


def _build_weights(target: Path) -> None:
    """``yolo11n-random.pt`` at ``target``, built by Ultralytics in a child process, offline."""
    with tempfile.TemporaryDirectory(prefix="bench-yolo-") as work:
        env = dict(os.environ)
        env.update(
            YOLO_OFFLINE="1",
            YOLO_AUTOINSTALL="False",
            YOLO_VERBOSE="False",
            YOLO_CONFIG_DIR=str(Path(work) / "ultralytics-config"),
        )
        staged = Path(work) / WEIGHTS
        done = subprocess.run(
            [sys.executable, "-c", _BUILD, str(staged)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not staged.is_file():
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            sys.exit(f"could not build the YOLO11n proxy (needs ultralytics + torch): {tail}")
        shutil.move(staged, target)


def random_weights(cache: Path = CACHE) -> Path:
    """The proxy's ``.pt`` (random weights), built on the first call, then reused from ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    weights = cache / WEIGHTS
    if not weights.is_file():
        _build_weights(weights)
    return weights


def proxy_model(cache: Path = CACHE, imgsz: int = PROXY_IMGSZ) -> Path:
    """The proxy's ONNX file (built and exported on the first call, then reused from ``cache``)."""
    from integrity.vision.yolo_weights import WeightsUnavailable, prepare_model

    random_weights(cache)
    try:
        prepared = prepare_model(cache, WEIGHTS, imgsz=imgsz)  # reuses the export while it is current
    except WeightsUnavailable as exc:
        sys.exit(f"could not export the YOLO11n proxy: {exc}")
    return prepared.file


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    print(proxy_model())
