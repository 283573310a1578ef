"""Serve's cluster-wide switches: which port direct ingress uses, and waiting for it to be free."""

from __future__ import annotations

import socket

from serve_app.cluster import (
    DIRECT_INGRESS,
    DIRECT_INGRESS_MIN_HTTP_PORT,
    direct_ingress_port,
    wait_until_bindable,
)
from tests.conftest import free_port


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
