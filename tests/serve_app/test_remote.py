"""Calls on a deployment's class run inside this process (``InProcessHandle``): awaited like a
DeploymentHandle's, one at a time on the handle's own thread, errors raised as themselves."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from integrity.vision.imaging import ImageDecodeError
from serve_app.remote import InProcessHandle, unwrap


class Model:
    """Not thread-safe on purpose: counts the calls that overlap."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.threads: set[str] = set()

    def work(self, value: int, *, delay: float = 0.02) -> int:
        self.running += 1
        self.most = max(self.most, self.running)
        self.threads.add(threading.current_thread().name)
        time.sleep(delay)
        self.running -= 1
        return value * 2

    def broken(self, data: bytes) -> None:
        raise ImageDecodeError(f"{len(data)} bytes are no image")


def test_calls_run_one_at_a_time_off_the_event_loop_and_return_in_order() -> None:
    model = Model()
    handle = InProcessHandle(model, "face")

    async def go() -> tuple[list[int], float]:
        loop_thread = threading.current_thread().name
        ticks = 0

        async def ticker() -> None:  # the loop keeps running while the model works
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        beat = asyncio.create_task(ticker())
        results = await asyncio.gather(*(unwrap(handle.work.remote(i, delay=0.02)) for i in range(5)))
        beat.cancel()
        assert loop_thread not in model.threads
        return list(results), ticks

    results, ticks = asyncio.run(go())
    assert results == [0, 2, 4, 6, 8]
    assert model.most == 1  # never two calls at once in the model
    assert len(model.threads) == 1 and next(iter(model.threads)).startswith("face")
    assert ticks >= 5  # 5 x 20 ms of work did not block the loop


def test_an_error_in_the_model_is_raised_as_itself() -> None:
    handle = InProcessHandle(Model(), "face")

    async def go() -> None:
        await unwrap(handle.broken.remote(b"xyz"))

    with pytest.raises(ImageDecodeError, match="3 bytes are no image"):
        asyncio.run(go())
