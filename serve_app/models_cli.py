"""Object-model weights from the command line (``make models``, ``make run``).

    python -m serve_app.models_cli fetch                  # YOLO_MODEL under MODEL_PATH (Settings)
    python -m serve_app.models_cli fetch yolo11n.pt --pin # record the checksum of new weights
    python -m serve_app.models_cli fetch --optional       # `make run`: never fails (offline, say so)
    python -m serve_app.models_cli export models/yolo11n.pt

``fetch`` downloads the official Ultralytics weights when they are not there yet, checks them
against ``models/checksums.sha256`` (a mismatch removes the file) and prepares what the objects
deployment will run (a ``.pt`` is exported to ONNX once and cached), so the first start does not
pay for it. A ``.onnx`` or ``.tflite`` is checked and prepared but never downloaded. Defaults come
from ``Settings`` (``YOLO_MODEL``, ``MODEL_PATH``), the only reader of the environment.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from integrity.core.checksums import sha256_of
from integrity.vision.yolo_weights import (
    REPO_MANIFEST,
    WeightsUnavailable,
    download_weights,
    manifests_for,
    pin_digest,
    prepare_model,
    release_url,
    resolve_weights,
)
from serve_app.settings import Settings


def fetch(name: str, model_path: Path, url: str | None, pin: bool, imgsz: int) -> str:
    """Download (if needed), verify and prepare; return what happened. Raises WeightsUnavailable."""
    target = resolve_weights(model_path, name)
    url = url or release_url(target.name)
    if url is not None:
        fetched = download_weights(target, url, manifests_for(model_path))
        where = f"downloaded from {url}" if fetched.downloaded else "already present"
        if fetched.pinned:
            check = "sha256 matches the pinned checksum"
        elif pin:
            pin_digest(target.name, fetched.sha256, REPO_MANIFEST)
            check = f"sha256 {fetched.sha256} pinned in {REPO_MANIFEST} (review and commit it)"
        else:
            check = f"sha256 {fetched.sha256} is not pinned (to pin it: make models PIN=1)"
        print(f"{target}: {where}; {check}")
    elif not target.is_file():
        raise WeightsUnavailable(f"no YOLO weights at {target}, and no official download for {target.name}")
    prepared = prepare_model(target.parent, target.name, imgsz)
    verified = "checksum verified" if prepared.verified else "checksum not listed"
    print(f"objects: {prepared.note}, {prepared.runtime} runs {prepared.file} ({verified})")
    return prepared.note


def export(weights: Path, imgsz: int) -> None:
    """(Re)build the cached ONNX export of a ``.pt``."""
    onnx = weights.with_suffix(".onnx")
    onnx.with_name(onnx.name + ".json").unlink(missing_ok=True)  # forget the cache record
    prepared = prepare_model(weights.parent, weights.name, imgsz)
    print(f"{prepared.note}: {prepared.file} (sha256 of {weights.name}: {sha256_of(weights)})")


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(
        prog="python -m serve_app.models_cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="download official weights, verify them, prepare them")
    get.add_argument("name", nargs="?", default=settings.yolo_model, help="default: YOLO_MODEL")
    get.add_argument("--model-path", type=Path, default=settings.model_path, help="default: MODEL_PATH")
    get.add_argument("--url", help="download from here instead of the official release")
    get.add_argument("--pin", action="store_true", help="record the checksum in models/checksums.sha256")
    get.add_argument("--imgsz", type=int, default=640, help="input size recorded in a .pt's ONNX export")
    get.add_argument(
        "--optional",
        action="store_true",
        help="report a failure (offline, no export tools) and exit 0: the service then runs without objects",
    )
    exp = commands.add_parser("export", help="(re)build the cached ONNX export of a .pt")
    exp.add_argument("weights", type=Path)
    exp.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            fetch(args.name, args.model_path, args.url, args.pin, args.imgsz)
        else:
            export(args.weights, args.imgsz)
    except (WeightsUnavailable, OSError) as exc:
        if args.command == "fetch" and args.optional:
            print(f"objects: {exc}; the service will run without object detection", file=sys.stderr)
            return 0
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
