"""Schemathesis against the live /openapi.json, every check on, credentials included: the service's
real app, models and sessions in process (no Ray), served over HTTP by uvicorn in a thread.

Zero server errors and zero check failures over at least 1000 generated requests (counted from the
HAR report of the run, so the figure is what was really sent).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from serve_app.pipeline import Analyzers
from tests.api.conftest import local_server

pytestmark = pytest.mark.slow

KEY = "fuzz-key-0123456789abcdef"
MIN_REQUESTS = 1000


@pytest.fixture(scope="module")
def base_url(analyzers: Analyzers, no_object_models: dict[str, Any]) -> Iterator[str]:
    with local_server(
        analyzers,
        **no_object_models,
        api_keys=KEY,
        max_concurrent_sessions=10_000,
        session_starts_per_minute=0,
    ) as url:
        yield url


def test_schemathesis_finds_no_server_error_and_no_failure(base_url: str, tmp_path: Path) -> None:
    st = Path(sys.executable).parent / "st"
    command = [
        str(st),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"X-API-Key: {KEY}",
        "--max-examples",
        "200",
        "--seed",
        "20261128",
        "--workers",
        "2",
        "--generation-database",
        "none",
        "--request-timeout",
        "60",
        "--report",
        "har",
        "--report-dir",
        str(tmp_path),
        "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
    output = run.stdout[-6000:] + run.stderr[-2000:]
    (tmp_path / "schemathesis.log").write_text(run.stdout + run.stderr)
    hars = list(tmp_path.glob("har-*.json"))
    assert hars, output
    entries = json.loads(hars[0].read_text())["log"]["entries"]
    statuses = [entry["response"]["status"] for entry in entries]
    print(f"schemathesis sent {len(entries)} requests; statuses {sorted(set(statuses))}")
    assert [s for s in statuses if s >= 500] == [], output
    assert run.returncode == 0, output
    assert len(entries) >= MIN_REQUESTS, output
    assert httpx.get(f"{base_url}/health", timeout=30).status_code == 200
