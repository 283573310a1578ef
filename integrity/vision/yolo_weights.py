"""YOLO weights: where they are, whether they are the right ones, and what runs them.

``YOLO_MODEL`` (a file name under ``MODEL_PATH``, or a path) names a file whose suffix decides the
runtime (``RUNTIMES``):

* ``.pt`` (Ultralytics weights): exported to ONNX once, by Ultralytics in a child process (so torch
  and Ultralytics never load into the serving replica), cached beside it (``yolo11n.pt`` ->
  ``yolo11n.onnx`` + ``yolo11n.onnx.json``) and run by onnxruntime. The JSON records the source's
  size, modification time and SHA-256: while they match, the cached ONNX is used without importing
  Ultralytics or torch at all.
* ``.onnx`` (an Ultralytics ONNX export): onnxruntime.
* ``.tflite`` (an Ultralytics TFLite export): LiteRT (``yolo_tflite.py``). Nothing is written.

A file whose name is listed in a checksum manifest (``models/checksums.sha256`` of the repository,
or ``checksums.sha256`` in ``MODEL_PATH``) must match it, or it is refused (a ``.pt`` is a pickle:
loading it runs code).

``download_weights`` fetches official release weights (``release_url``); the command line around
it (``make models``, ``make run``) is ``serve_app/models_cli.py``. Everything here takes explicit
arguments: nothing reads the environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrity.core.checksums import sha256_of
from integrity.core.paths import REPO_ROOT

REPO_MANIFEST = REPO_ROOT / "models" / "checksums.sha256"
MANIFEST_NAME = "checksums.sha256"
EXPORT_TIMEOUT_S = 600.0
DOWNLOAD_TIMEOUT_S = 60.0
CACHE_FORMAT = 1
EXPORT_SCRIPT = Path(__file__).with_name("_yolo_export.py")

# The file decides the runtime.
ONNXRUNTIME, LITERT = "onnxruntime", "litert"
RUNTIMES = {".pt": ONNXRUNTIME, ".onnx": ONNXRUNTIME, ".tflite": LITERT}

# Official Ultralytics release assets (github.com/ultralytics/assets) by model family.
RELEASES = {"yolo26": "v8.4.0", "yolo11": "v8.3.0", "yolov8": "v8.3.0"}
RELEASE_URL = "https://github.com/ultralytics/assets/releases/download/{tag}/{name}"


class WeightsUnavailable(RuntimeError):
    """No usable model: the message says why, for /health and every response."""


def resolve_weights(model_path: Path, model_name: str) -> Path:
    """``YOLO_MODEL`` as a path if it is one, else a file name under ``MODEL_PATH``."""
    candidate = Path(model_name).expanduser()
    if candidate.is_absolute() or candidate.parent != Path():
        return candidate
    return model_path / candidate


def runtime_for(weights: Path) -> str | None:
    """The runtime the file's suffix asks for; None for a format this service cannot run."""
    return RUNTIMES.get(weights.suffix.lower())


def read_manifest(path: Path) -> dict[str, set[str]]:
    """``sha256sum`` format: ``<hex>  <file name>`` per line, ``#`` comments. Name -> allowed digests."""
    entries: dict[str, set[str]] = {}
    if not path.is_file():
        return entries
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ValueError(f"{path}:{number}: expected '<sha256>  <file name>'")
        entries.setdefault(Path(parts[1].lstrip("*")).name, set()).add(parts[0].lower())
    return entries


def manifests_for(model_path: Path) -> list[Path]:
    found = [REPO_MANIFEST, model_path / MANIFEST_NAME]
    return list(dict.fromkeys(p.resolve() for p in found))


def expected_digests(name: str, manifests: list[Path]) -> set[str]:
    digests: set[str] = set()
    for manifest in manifests:
        digests |= read_manifest(manifest).get(name, set())
    return digests


@dataclass(frozen=True, slots=True)
class PreparedModel:
    file: Path  # what the runtime loads: the cached ONNX export of a .pt, else the source itself
    source: Path  # the weights named by YOLO_MODEL
    runtime: str  # ONNXRUNTIME or LITERT
    sha256: str  # of the source
    exported: bool  # True when this call ran the export (False: cache hit or a file run as it is)
    verified: bool  # the source's checksum matched a manifest entry
    note: str


def _source_facts(source: Path) -> dict[str, Any]:
    stat = source.stat()
    return {"source": source.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _sidecar(onnx: Path) -> Path:
    return onnx.with_name(onnx.name + ".json")


def cached_onnx_is_current(source: Path, onnx: Path) -> dict[str, Any] | None:
    """The cache record when ``onnx`` is the export of ``source`` as it is now, else None.

    Size and modification time decide in the common case without reading the weights; when only
    the time differs (a copy, a checkout), the SHA-256 decides.
    """
    sidecar = _sidecar(onnx)
    if not (onnx.is_file() and sidecar.is_file()):
        return None
    try:
        record: dict[str, Any] = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("format") != CACHE_FORMAT or record.get("onnx_size") != onnx.stat().st_size:
        return None
    facts = _source_facts(source)
    if record.get("source") != facts["source"] or record.get("size") != facts["size"]:
        return None
    if record.get("mtime_ns") != facts["mtime_ns"] and record.get("sha256") != sha256_of(source):
        return None
    return record


def prepare_model(
    model_path: Path, model_name: str, imgsz: int = 640, cache_dir: Path | None = None
) -> PreparedModel:
    """Find (or, for a ``.pt``, build) the file to run for ``YOLO_MODEL``; raise WeightsUnavailable."""
    source = resolve_weights(model_path, model_name)
    runtime = runtime_for(source)
    if runtime is None:
        raise WeightsUnavailable(
            f"YOLO_MODEL {source} is not a format this service runs (expected {', '.join(sorted(RUNTIMES))})"
        )
    if not source.is_file():
        hint = " (`make models` downloads them where a network exists)" if release_url(source.name) else ""
        raise WeightsUnavailable(f"no YOLO weights at {source}{hint}")
    manifests = manifests_for(model_path)
    if source.suffix.lower() != ".pt":
        digest = sha256_of(source)
        verified = _check_digest(source, digest, manifests)
        kind = "ONNX" if runtime == ONNXRUNTIME else "TFLite"
        return PreparedModel(source, source, runtime, digest, False, verified, f"{kind} model {source.name}")

    onnx = (cache_dir or source.parent) / (source.stem + ".onnx")
    record = cached_onnx_is_current(source, onnx)
    if record is not None:
        digest = str(record.get("sha256") or sha256_of(source))
        verified = _check_digest(source, digest, manifests)
        return PreparedModel(
            onnx, source, runtime, digest, False, verified, f"{source.name}, cached ONNX export"
        )

    digest = sha256_of(source)
    verified = _check_digest(source, digest, manifests)
    try:
        export_cached(source, onnx, imgsz, digest)
    except PermissionError:
        if cache_dir is not None:
            raise
        fallback = Path(tempfile.gettempdir()) / "interview-integrity-onnx"
        fallback.mkdir(parents=True, exist_ok=True)
        return prepare_model(model_path, model_name, imgsz, cache_dir=fallback)
    return PreparedModel(onnx, source, runtime, digest, True, verified, f"{source.name}, exported to ONNX")


def _check_digest(source: Path, digest: str, manifests: list[Path]) -> bool:
    expected = expected_digests(source.name, manifests)
    if not expected:
        return False
    if digest.lower() not in expected:
        raise WeightsUnavailable(
            f"YOLO weights at {source} do not match the checksum listed for {source.name} "
            f"(sha256 {digest[:16]}..., expected {', '.join(sorted(d[:16] + '...' for d in expected))}): "
            "refusing to load them"
        )
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock file, so replicas starting together export once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def export_cached(source: Path, onnx: Path, imgsz: int, digest: str) -> None:
    """Export ``source`` to ``onnx`` in a child process (atomic rename) and write the cache record."""
    if not os.access(onnx.parent, os.W_OK):
        raise PermissionError(f"{onnx.parent} is not writable")
    with _locked(onnx.with_name(onnx.name + ".lock")):
        if cached_onnx_is_current(source, onnx) is not None:
            return  # another replica exported it while this one waited
        with tempfile.TemporaryDirectory(prefix=".export-", dir=onnx.parent) as work:
            staged = Path(work) / onnx.name
            run_export(source, staged, imgsz, config_dir=Path(work) / "ultralytics-config")
            meta = _export_meta(staged)
            staged.replace(onnx)
        record = {
            "format": CACHE_FORMAT,
            **_source_facts(source),
            "sha256": digest,
            "onnx_size": onnx.stat().st_size,
            "imgsz": imgsz,
            "dynamic": True,
            **meta,
        }
        sidecar = _sidecar(onnx)
        tmp = sidecar.with_name(sidecar.name + ".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        tmp.replace(sidecar)


def _export_meta(onnx: Path) -> dict[str, Any]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    meta: dict[str, str] = session.get_modelmeta().custom_metadata_map
    return {"ultralytics": meta.get("version"), "description": meta.get("description", "").strip()}


def run_export(
    source: Path, target: Path, imgsz: int, config_dir: Path, timeout_s: float = EXPORT_TIMEOUT_S
) -> None:
    """Run ``_yolo_export.py`` in a child process: Ultralytics offline, settings in ``config_dir``.

    The script is run by path with ``-P`` (its folder is not put on ``sys.path``), so the child
    needs nothing from this package and inherits the parent's environment unchanged.
    """
    command = [
        sys.executable,
        "-P",
        str(EXPORT_SCRIPT),
        str(source),
        str(target),
        str(imgsz),
        str(config_dir),
    ]
    try:
        done = subprocess.run(
            command, cwd=target.parent, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise WeightsUnavailable(f"ONNX export of {source} took longer than {timeout_s:.0f} s") from exc
    if done.returncode != 0 or not target.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise WeightsUnavailable(
            f"YOLO weights at {source} could not be exported to ONNX (needs ultralytics + torch, "
            f"`make install`): {' | '.join(tail) or f'exit status {done.returncode}'}"
        )


# -- official weights -------------------------------------------------------------------------------
def release_url(name: str) -> str | None:
    """The official Ultralytics download of ``name`` (``yolo11n.pt``...), None when there is none."""
    if Path(name).name != name or not name.endswith(".pt"):
        return None
    family = next((f for f in RELEASES if name.startswith(f)), None)
    return None if family is None else RELEASE_URL.format(tag=RELEASES[family], name=name)


@dataclass(frozen=True, slots=True)
class Fetched:
    path: Path
    sha256: str
    downloaded: bool  # False: the file was there already
    pinned: bool  # its checksum is listed in a manifest (and matched)


def download_weights(
    target: Path, url: str, manifests: list[Path], timeout_s: float = DOWNLOAD_TIMEOUT_S
) -> Fetched:
    """Download ``url`` to ``target`` unless it is there; check it against the manifests.

    Raises WeightsUnavailable when the download fails (offline: the reason says so) or the file
    does not match a listed checksum (it is then removed).
    """
    downloaded = False
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as tmp:
            staged = Path(tmp.name)
            try:
                with urllib.request.urlopen(url, timeout=timeout_s) as response:
                    shutil.copyfileobj(response, tmp)
            except (urllib.error.URLError, OSError) as exc:
                staged.unlink(missing_ok=True)
                reason = getattr(exc, "reason", exc)
                raise WeightsUnavailable(f"could not download {url}: {reason}") from exc
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
        staged.replace(target)
        downloaded = True
    digest = sha256_of(target)
    expected = expected_digests(target.name, manifests)
    if expected and digest not in expected:
        target.unlink()
        raise WeightsUnavailable(
            f"{target.name} from {url}: sha256 {digest} does not match the pinned checksum; file removed"
        )
    return Fetched(target, digest, downloaded, bool(expected))


def pin_digest(name: str, digest: str, manifest: Path = REPO_MANIFEST) -> None:
    """Append ``<digest>  <name>`` to a checksum manifest."""
    with manifest.open("a", encoding="utf-8") as fh:
        fh.write(f"{digest}  {name}\n")
