"""Serve's cluster-wide switches: which port direct ingress uses, and waiting for it to be free."""

from __future__ import annotations

import socket
import subprocess
import sys

from serve_app.cluster import (
    DIRECT_INGRESS,
    DIRECT_INGRESS_MIN_HTTP_PORT,
    direct_ingress_port,
    wait_until_bindable,
)
from tests.conftest import REPO, free_port


def test_direct_ingress_port_only_in_direct_ingress_mode() -> None:
    assert direct_ingress_port({}) is None
    assert direct_ingress_port({DIRECT_INGRESS: "0", DIRECT_INGRESS_MIN_HTTP_PORT: "8000"}) is None
    assert direct_ingress_port({DIRECT_INGRESS: "1", DIRECT_INGRESS_MIN_HTTP_PORT: "8000"}) == 8000
    assert direct_ingress_port({DIRECT_INGRESS: "1"}) == 30000  # Serve's own default


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1


def test_a_free_port_is_not_waited_for() -> None:
    fake = FakeTime()
    assert wait_until_bindable(free_port(), 90.0, fake.sleep, fake.clock) == 0.0
    assert fake.sleeps == 0


def test_a_port_in_use_is_waited_for_until_it_is_free() -> None:
    port = free_port()
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))  # as a lingering socket holds it: Serve's bind would fail
    fake = FakeTime()

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        if fake.sleeps == 3:
            holder.close()

    try:
        assert wait_until_bindable(port, 90.0, sleep, fake.clock) == 3.0
    finally:
        holder.close()


def test_waiting_ends_at_the_timeout() -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        fake = FakeTime()
        assert wait_until_bindable(port, 5.0, fake.sleep, fake.clock) == 5.0


# Serve's own start of a replica's HTTP server, on a port whose last connection lingers in TIME_WAIT,
# in a child process (the patch changes the process's Ray modules). Prints "bound" or the error.
BIND_LINGERING = """
import asyncio, sys
from ray.serve._private import replica
from ray.serve.config import HTTPOptions
from serve_app.cluster import reuse_address_for_direct_ingress

async def app(scope, receive, send):
    pass

async def main(port, patch):
    if patch:
        assert reuse_address_for_direct_ingress()
    try:
        task, server = await replica.start_asgi_http_server(
            app, HTTPOptions(host="0.0.0.0", port=port), event_loop=asyncio.get_running_loop()
        )
    except RuntimeError as exc:
        print("failed:", exc.__cause__)
        return
    print("bound")
    server.should_exit = True
    await task

asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "patch"))
"""


def linger(port: int) -> None:
    """Leave ``port`` with a connection in TIME_WAIT on its own side: the server closes first."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the side that closes first keeps TIME_WAIT
        client.close()


def test_serve_binds_a_port_in_time_wait_only_with_reuse_address() -> None:
    """The direct-ingress restart fix in isolation: Ray 2.60's replica server cannot bind a port whose
    connection lingers in TIME_WAIT; patched (``reuse_address_for_direct_ingress``), it can."""
    port = free_port()
    linger(port)

    def start(mode: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", BIND_LINGERING, str(port), mode],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]

    assert start("plain").startswith("failed:"), "the port did not linger: nothing to show"
    assert start("patch") == "bound"
