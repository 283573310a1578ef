"""Child process of ``yolo_weights.run_export``: Ultralytics loads a ``.pt`` and exports it to ONNX.

    python -P _yolo_export.py SOURCE TARGET IMGSZ CONFIG_DIR

Run by path, never imported by the service: it is the only place that imports Ultralytics (and so
torch). Ultralytics is kept offline (the weights are present, so it needs no network), installs
nothing, and keeps its settings in ``CONFIG_DIR``, set here for this process only.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    source, target, imgsz, config_dir = Path(argv[0]), Path(argv[1]), int(argv[2]), Path(argv[3])
    os.environ.update(
        YOLO_OFFLINE="1", YOLO_AUTOINSTALL="False", YOLO_VERBOSE="False", YOLO_CONFIG_DIR=str(config_dir)
    )
    from ultralytics import YOLO

    # Ultralytics writes the export beside the weights: work on a copy in the target's folder, so
    # the weights' own folder may be read-only.
    local = target.parent / source.name
    if local.resolve() != source.resolve():
        shutil.copy2(source, local)
    model = YOLO(str(local), task="detect")
    produced = Path(model.export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, verbose=False))
    if produced.resolve() != target.resolve():
        shutil.move(produced, target)


if __name__ == "__main__":
    main(sys.argv[1:])
