"""Where evidence images are kept: a local folder by default, any fsspec URL by configuration
(``s3://bucket/prefix`` with s3fs installed, ``gs://``, ``memory://`` in tests), for a retention
period after which they are deleted.

Layout: ``<root>/<session id>/<event id>.jpg``. Ids are checked against a strict pattern before
they reach a path, so a request cannot step out of its session's folder. Age is the file's
modification time as the filesystem reports it; an image past the retention is never served, even
before a sweep has deleted it. Blocking calls: the service runs them in a thread.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

logger = logging.getLogger(__name__)

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
SUFFIX = ".jpg"


def safe_id(value: str) -> bool:
    return bool(SAFE_ID.match(value))


class EvidenceStore:
    def __init__(
        self,
        url: str,
        retention_s: float,
        storage_options: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.retention_s = retention_s
        self.clock = clock
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)
        if self.local:
            self.fs.makedirs(self.root, exist_ok=True)

    def _folder(self, session_id: str) -> str:
        if not safe_id(session_id):
            raise ValueError(f"not a valid session id for evidence: {session_id!r}")
        return f"{self.root}/{session_id}"

    def _path(self, session_id: str, event_id: str) -> str:
        if not safe_id(event_id):
            raise ValueError(f"not a valid event id for evidence: {event_id!r}")
        return f"{self._folder(session_id)}/{event_id}{SUFFIX}"

    # -- writing ----------------------------------------------------------------------------------
    def put(self, session_id: str, event_id: str, jpeg: bytes) -> None:
        path = self._path(session_id, event_id)
        if self.local:
            self.fs.makedirs(self._folder(session_id), exist_ok=True)
        self.fs.pipe_file(path, jpeg)

    # -- reading ----------------------------------------------------------------------------------
    def get(self, session_id: str, event_id: str) -> bytes | None:
        """The image, or None when there is none or it is past the retention (then it is deleted)."""
        if not (safe_id(session_id) and safe_id(event_id)):
            return None
        path = self._path(session_id, event_id)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        if self._expired(info):
            self._remove(path)
            return None
        try:
            data: bytes = self.fs.cat_file(path)
        except FileNotFoundError:
            return None
        return data

    def events(self, session_id: str) -> set[str]:
        """Ids of the session's events that have an image within the retention (one listing)."""
        if not safe_id(session_id):
            return set()
        folder = self._folder(session_id)
        self.fs.invalidate_cache(folder)  # object stores cache listings; other replicas write too
        try:
            entries = self.fs.ls(folder, detail=True)
        except FileNotFoundError:
            return set()
        found = set()
        for info in entries:
            name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if info.get("type") == "file" and name.endswith(SUFFIX) and not self._expired(info):
                found.add(name[: -len(SUFFIX)])
        return found

    # -- retention --------------------------------------------------------------------------------
    def sweep(self) -> int:
        """Delete every image past the retention (and, locally, the emptied session folders)."""
        self.fs.invalidate_cache(self.root)
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return 0
        removed = 0
        for path, info in found.items():
            if str(path).endswith(SUFFIX) and self._expired(info):
                removed += self._remove(str(path))
        if self.local:
            self._drop_empty_folders()
        return removed

    def _expired(self, info: dict[str, Any]) -> bool:
        written = modified_at(info)
        return written is not None and self.clock() - written >= self.retention_s

    def _remove(self, path: str) -> int:
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return 0
        return 1

    def _drop_empty_folders(self) -> None:
        try:
            folders = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return
        for info in folders:
            if info.get("type") == "directory":
                try:
                    if not self.fs.ls(info["name"]):
                        self.fs.rmdir(info["name"])
                except OSError:  # written to meanwhile, or gone: leave it
                    continue


def modified_at(info: dict[str, Any]) -> float | None:
    """A file's last-write time (Unix seconds) from an fsspec info dict, whatever the backend names it
    (local: mtime; s3: LastModified; memory: created; gcs: updated)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created", "mtime_ns"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value) / 1e9 if key == "mtime_ns" else float(value)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None
