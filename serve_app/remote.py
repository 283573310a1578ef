"""Calls to deployments: awaiting Ray calls (our own errors raised inside an actor or replica come
back as themselves), and a deployment's class run inside the calling replica behind the same calls
(``FACE_PLACEMENT=ingress``)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ray.exceptions import RayTaskError

from integrity.core.errors import IntegrityError
from integrity.vision.imaging import ImageDecodeError

T = TypeVar("T")


async def unwrap(awaitable: Awaitable[T]) -> T:
    try:
        return await awaitable
    except RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, (IntegrityError, ImageDecodeError)):
            raise cause from None
        raise


class InProcessHandle:
    """A deployment's class run inside this replica, behind the calls the pipeline makes on a
    DeploymentHandle (``handle.method.remote(*args)``, awaited). Calls run one at a time on the
    handle's own thread, as a replica with one request at a time runs them: the models are not
    thread-safe, and the event loop keeps serving requests meanwhile."""

    def __init__(self, instance: object, name: str) -> None:
        self._instance = instance
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def __getattr__(self, method: str) -> _InProcessMethod:
        return _InProcessMethod(getattr(self._instance, method), self._executor)


class _InProcessMethod:
    def __init__(self, call: Callable[..., Any], executor: ThreadPoolExecutor) -> None:
        self._call = call
        self._executor = executor

    def remote(self, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, functools.partial(self._call, *args, **kwargs))
