"""Schemathesis against the live /openapi.json, every check on, credentials included.

Zero server errors and zero check failures over at least 1000 generated requests (counted from the
HAR report of the run, so the figure is what was really sent).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import running_app

pytestmark = pytest.mark.integration

KEY = "fuzz-key-0123456789abcdef"
MIN_REQUESTS = 1000


@pytest.fixture(scope="module")
def client(serve_port: int) -> Iterator[httpx.Client]:
    with running_app(
        serve_port,
        api_keys=KEY,
        max_concurrent_sessions=10_000,
        session_starts_per_minute=0,
    ) as http:
        yield http


def test_schemathesis_finds_no_server_error_and_no_failure(
    client: httpx.Client, serve_port: int, tmp_path: Path
) -> None:
    st = Path(sys.executable).parent / "st"
    command = [
        str(st),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"http://127.0.0.1:{serve_port}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"X-API-Key: {KEY}",
        "--max-examples",
        "350",
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
    assert client.get("/health").status_code == 200
