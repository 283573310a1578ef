"""Per-replica runtime settings (deployments/runtime.py), in a child process: nice is not undone."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

CHILD = """
import concurrent.futures, os, threading
from deployments.runtime import lower_priority
started = threading.Event(); release = threading.Event()
def wait(): started.set(); release.wait()
before = threading.Thread(target=wait); before.start(); started.wait()
lower_priority(10)
pool = concurrent.futures.ThreadPoolExecutor(1)
later = pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
print(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
      os.getpriority(os.PRIO_PROCESS, before.native_id), later)
release.set()
"""


def test_lower_priority_lowers_every_thread_and_the_threads_started_after() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    base = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert [int(v) for v in out] == [min(19, base + 10)] * 3
