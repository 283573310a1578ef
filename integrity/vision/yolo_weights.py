"""YOLO weights: where they are, whether they are the right ones, and their cached ONNX export.

``YOLO_MODEL`` (a file name under ``MODEL_PATH``, or a path) names either Ultralytics weights
(``.pt``) or an ONNX export. A ``.pt`` is exported to ONNX once, by Ultralytics in a child process
(so torch and Ultralytics never load into the serving replica), and the export is cached beside it
(``yolo11n.pt`` -> ``yolo11n.onnx`` + ``yolo11n.onnx.json``). The JSON records the source's size,
modification time and SHA-256: while they match, the cached ONNX is used without importing
Ultralytics or torch at all. A ``.pt`` whose file name is listed in a checksum manifest
(``models/checksums.sha256`` of the repository, or ``checksums.sha256`` in ``MODEL_PATH``) must
match it, or it is refused (a ``.pt`` is a pickle: loading it runs code).

Command line (``make models`` uses it)::

    python -m integrity.vision.yolo_weights fetch yolo11n.pt [--pin]   # download official weights, export
    python -m integrity.vision.yolo_weights export models/yolo11n.pt   # (re)build the cached ONNX
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integrity.core.paths import REPO_ROOT

REPO_MANIFEST = REPO_ROOT / "models" / "checksums.sha256"
MANIFEST_NAME = "checksums.sha256"
EXPORT_TIMEOUT_S = 600.0
CACHE_FORMAT = 1

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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    onnx: Path
    source: Path  # the weights named by YOLO_MODEL
    exported: bool  # True when this call ran the export (False: cache hit or a plain ONNX file)
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


def prepare_onnx(
    model_path: Path, model_name: str, imgsz: int = 640, cache_dir: Path | None = None
) -> PreparedModel:
    """Find or build the ONNX model for ``YOLO_MODEL``; raise WeightsUnavailable with the reason."""
    source = resolve_weights(model_path, model_name)
    manifests = manifests_for(model_path)
    if source.suffix.lower() == ".onnx":
        if not source.is_file():
            raise WeightsUnavailable(f"no YOLO weights at {source}")
        verified = _check_digest(source, sha256_of(source), manifests)
        return PreparedModel(source, source, False, verified, f"ONNX model {source.name}")
    onnx = (cache_dir or source.parent) / (source.stem + ".onnx")
    if not source.is_file():
        raise WeightsUnavailable(f"no YOLO weights at {source}")

    record = cached_onnx_is_current(source, onnx)
    if record is not None:
        verified = _check_digest(source, str(record.get("sha256")), manifests)
        return PreparedModel(onnx, source, False, verified, f"{source.name}, cached ONNX export")

    digest = sha256_of(source)
    verified = _check_digest(source, digest, manifests)
    try:
        export_cached(source, onnx, imgsz, digest)
    except PermissionError:
        if cache_dir is not None:
            raise
        fallback = Path(tempfile.gettempdir()) / "interview-integrity-onnx"
        fallback.mkdir(parents=True, exist_ok=True)
        return prepare_onnx(model_path, model_name, imgsz, cache_dir=fallback)
    return PreparedModel(onnx, source, True, verified, f"{source.name}, exported to ONNX")


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
            run_export(source, staged, imgsz)
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


def run_export(source: Path, target: Path, imgsz: int, timeout_s: float = EXPORT_TIMEOUT_S) -> None:
    """Run ``python -m integrity.vision.yolo_weights _export`` in a child process, offline."""
    env = dict(os.environ)
    env.setdefault("YOLO_OFFLINE", "1")
    env.setdefault("YOLO_AUTOINSTALL", "False")
    env.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "Ultralytics"))
    env.setdefault("YOLO_VERBOSE", "False")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "integrity.vision.yolo_weights", "_export", str(source), str(target)]
    try:
        done = subprocess.run(
            [*command, "--imgsz", str(imgsz)],
            cwd=target.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise WeightsUnavailable(f"ONNX export of {source} took longer than {timeout_s:.0f} s") from exc
    if done.returncode != 0 or not target.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise WeightsUnavailable(
            f"YOLO weights at {source} could not be exported to ONNX (needs ultralytics + torch, "
            f"`make install`): {' | '.join(tail) or f'exit status {done.returncode}'}"
        )


def _export_in_this_process(source: Path, target: Path, imgsz: int) -> None:
    """The child's side: Ultralytics loads the weights (present, so no network) and exports."""
    from ultralytics import YOLO

    model = YOLO(str(source), task="detect")
    produced = Path(model.export(format="onnx", imgsz=imgsz, dynamic=True, simplify=True, verbose=False))
    if produced.resolve() != target.resolve():
        shutil.move(produced, target)


# -- command line -----------------------------------------------------------------------------------
def fetch(name: str, model_path: Path, pin: bool, url: str | None = None) -> Path:
    """Download official weights into ``model_path``, checked against the manifest when listed."""
    target = model_path / name
    if url is None:
        family = next((f for f in RELEASES if name.startswith(f)), None)
        if family is None:
            raise SystemExit(f"no known release for {name}: pass --url")
        url = RELEASE_URL.format(tag=RELEASES[family], name=name)
    model_path.mkdir(parents=True, exist_ok=True)
    if not target.is_file():
        print(f"downloading {url}")
        with tempfile.NamedTemporaryFile(dir=model_path, prefix=f".{name}.", delete=False) as tmp:
            staged = Path(tmp.name)
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    shutil.copyfileobj(response, tmp)
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
        staged.replace(target)
    digest = sha256_of(target)
    expected = expected_digests(name, manifests_for(model_path))
    if expected and digest not in expected:
        target.unlink()
        raise SystemExit(f"{name}: sha256 {digest} does not match {REPO_MANIFEST.name}; file removed")
    if expected:
        print(f"{name}: sha256 {digest} matches the manifest")
    elif pin:
        with REPO_MANIFEST.open("a", encoding="utf-8") as fh:
            fh.write(f"{digest}  {name}\n")
        print(f"{name}: sha256 {digest} pinned in {REPO_MANIFEST} (review and commit it)")
    else:
        print(f"{name}: sha256 {digest} is not pinned; to pin it: make models PIN=1")
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m integrity.vision.yolo_weights", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="download official weights, verify them, export to ONNX")
    get.add_argument("name", nargs="?", default=os.environ.get("YOLO_MODEL", "yolo11n.pt"))
    get.add_argument(
        "--model-path", type=Path, default=Path(os.environ.get("MODEL_PATH", REPO_ROOT / "models"))
    )
    get.add_argument("--url", help="download from here instead of the official release")
    get.add_argument("--pin", action="store_true", help="record the checksum in models/checksums.sha256")
    get.add_argument("--imgsz", type=int, default=640)
    exp = commands.add_parser("export", help="(re)build the cached ONNX export of a .pt")
    exp.add_argument("weights", type=Path)
    exp.add_argument("--imgsz", type=int, default=640)
    child = commands.add_parser("_export")  # the child process of run_export
    child.add_argument("source", type=Path)
    child.add_argument("target", type=Path)
    child.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args(argv)

    if args.command == "_export":
        _export_in_this_process(args.source, args.target, args.imgsz)
        return
    if args.command == "fetch":
        weights = fetch(args.name, args.model_path, args.pin, args.url)
        model_path, name = args.model_path, weights.name
    else:
        model_path, name = args.weights.parent, args.weights.name
        _sidecar(args.weights.with_suffix(".onnx")).unlink(missing_ok=True)
    try:
        prepared = prepare_onnx(model_path, name, args.imgsz)
    except WeightsUnavailable as exc:
        raise SystemExit(str(exc)) from None
    print(f"{prepared.note}: {prepared.onnx}")


if __name__ == "__main__":
    main()
