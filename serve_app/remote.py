"""Awaiting Ray calls: our own errors raised inside an actor or replica come back as themselves."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

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
