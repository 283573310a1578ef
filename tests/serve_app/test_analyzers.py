"""The DeploymentHandle adapters, over stand-in handles (no Ray)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from integrity.core.results import ModelStatus, ObjectAnalysis
from serve_app.analyzers import RemoteObjects

NO_WEIGHTS = ModelStatus(available=False, detail="no YOLO weights")


async def _value(value: Any) -> Any:
    return value


class Method:
    def __init__(self, answer: Callable[..., Any]) -> None:
        self.answer = answer
        self.calls = 0

    def remote(self, *args: Any) -> Awaitable[Any]:
        self.calls += 1
        return _value(self.answer(*args))


class ObjectsHandle:
    def __init__(self, model: ModelStatus, frame: ObjectAnalysis) -> None:
        self.model = model
        self.analyze = Method(lambda data: frame)
        self.status = Method(lambda: self.model)


async def test_a_replica_without_a_model_is_not_asked_again_until_the_recheck() -> None:
    now = [0.0]
    handle = ObjectsHandle(NO_WEIGHTS, ObjectAnalysis(status=NO_WEIGHTS))
    objects = RemoteObjects(handle, recheck_s=30.0, clock=lambda: now[0])
    assert await objects.missing() == NO_WEIGHTS  # known before any frame is sampled
    for _ in range(5):
        assert (await objects.analyze(b"jpeg")).status == NO_WEIGHTS
    assert handle.analyze.calls == 0 and handle.status.calls == 1  # answered here, as "not looked at"
    handle.model = ModelStatus(available=True)  # redeployed with the weights
    handle.analyze = Method(lambda data: ObjectAnalysis(status=handle.model))
    now[0] = 31.0
    assert await objects.missing() is None
    await objects.analyze(b"jpeg")
    assert handle.analyze.calls == 1 and handle.status.calls == 2


async def test_a_status_that_cannot_be_asked_leaves_the_frames_sampled() -> None:
    def refuse() -> ModelStatus:
        raise RuntimeError("objects deployment overloaded")

    handle = ObjectsHandle(ModelStatus(available=True), ObjectAnalysis(status=ModelStatus(available=True)))
    handle.status = Method(refuse)
    objects = RemoteObjects(handle)
    assert await objects.missing() is None
    assert (await objects.analyze(b"jpeg")).status.available


async def test_one_frames_failure_is_not_remembered() -> None:
    failed = ModelStatus(available=False, detail="frame could not be decoded: truncated")
    handle = ObjectsHandle(ModelStatus(available=True), ObjectAnalysis(status=failed))
    objects = RemoteObjects(handle)
    for _ in range(3):
        assert (await objects.analyze(b"jpeg")).status == failed
    assert handle.analyze.calls == 3
    assert await objects.missing() is None
