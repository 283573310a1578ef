"""Where session state lives: process memory (default) or Redis (USE_REDIS=true).

Both keep a tombstone for sessions that ended or expired, so a late frame gets "ended" or "expired"
rather than "unknown".
"""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from integrity.core.errors import SessionStoreUnavailable
from integrity.session.record import SessionRecord
from integrity.session.state import GoneReason, SessionState

P = ParamSpec("P")
R = TypeVar("R")

TOMBSTONE_TTL_S = 24 * 3600
TOMBSTONE_LIMIT = 100_000
RECORD_LIMIT = 10_000  # records held in memory at most (oldest dropped first); Redis has no cap


class SessionStore(ABC):
    @abstractmethod
    async def load(self, session_id: str) -> SessionState | None: ...

    @abstractmethod
    async def save(self, state: SessionState) -> None: ...

    @abstractmethod
    async def remove(self, session_id: str, reason: GoneReason) -> None:
        """Forget the session's state and remember why it is gone."""

    @abstractmethod
    async def gone(self, session_id: str) -> GoneReason | None: ...

    @abstractmethod
    async def idle_before(self, cutoff: float) -> list[str]:
        """Sessions whose last activity (server clock) is older than ``cutoff``."""

    @abstractmethod
    async def count(self) -> int:
        """Open sessions in this store (for Redis: in the whole deployment)."""

    # -- records of ended sessions (kept until ``record.kept_until``, server clock) ---------------
    @abstractmethod
    async def save_record(self, record: SessionRecord) -> None:
        """Keep (or replace) the record until its ``kept_until``."""

    @abstractmethod
    async def load_record(self, session_id: str) -> SessionRecord | None:
        """The record, or None when there is none or it is past its retention."""

    async def sweep_records(self) -> int:
        """Forget records past their retention; return how many (Redis expires them itself)."""
        return 0

    def holds_records(self) -> bool:
        """Whether records live in this process (memory), so it must not exit while it holds any."""
        return False

    async def close(self) -> None:
        return None


class MemoryStore(SessionStore):
    """Sessions as live objects in the actor's memory: nothing is serialised per frame."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock  # server clock of record retention (tests pass their own)
        self._sessions: dict[str, SessionState] = {}
        self._gone: OrderedDict[str, tuple[GoneReason, float]] = OrderedDict()
        self._records: OrderedDict[str, SessionRecord] = OrderedDict()

    async def load(self, session_id: str) -> SessionState | None:
        return self._sessions.get(session_id)

    async def save(self, state: SessionState) -> None:
        self._sessions[state.session_id] = state

    async def remove(self, session_id: str, reason: GoneReason) -> None:
        self._sessions.pop(session_id, None)
        self._gone[session_id] = (reason, time.time())
        self._gone.move_to_end(session_id)
        while len(self._gone) > TOMBSTONE_LIMIT:
            self._gone.popitem(last=False)

    async def gone(self, session_id: str) -> GoneReason | None:
        entry = self._gone.get(session_id)
        if entry is None:
            return None
        reason, at = entry
        if time.time() - at > TOMBSTONE_TTL_S:
            del self._gone[session_id]
            return None
        return reason

    async def idle_before(self, cutoff: float) -> list[str]:
        return [sid for sid, state in self._sessions.items() if state.last_activity < cutoff]

    async def count(self) -> int:
        return len(self._sessions)

    async def save_record(self, record: SessionRecord) -> None:
        self._records[record.session_id] = record
        while len(self._records) > RECORD_LIMIT:
            self._records.popitem(last=False)

    async def load_record(self, session_id: str) -> SessionRecord | None:
        record = self._records.get(session_id)
        if record is not None and _past(record, self.clock()):
            del self._records[session_id]
            return None
        return record

    async def sweep_records(self) -> int:
        now = self.clock()
        gone = [sid for sid, record in self._records.items() if _past(record, now)]
        for sid in gone:
            del self._records[sid]
        return len(gone)

    def holds_records(self) -> bool:
        return bool(self._records)

    def memory_bytes(self) -> int:
        """Rough size of the held state (its JSON), for stats and the expiry test."""
        return sum(len(state.model_dump_json()) for state in self._sessions.values())


def _past(record: SessionRecord, now: float) -> bool:
    return record.kept_until is not None and now >= record.kept_until


def _unavailable_on_redis_errors(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Redis down or timing out is "the session store is unavailable" (503, retry), not a crash.

    Every write is one MULTI/EXEC transaction, so a failed call leaves nothing half-written.
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as exc:
            raise SessionStoreUnavailable(
                f"the session store (Redis) is unavailable: {type(exc).__name__}"
            ) from None

    return wrapper


class RedisStore(SessionStore):
    """Session JSON under ``iis:session:<id>`` with a TTL of the expiry time, refreshed on each save.

    A sorted set ``iis:active`` (id -> last activity) counts open sessions across all actors and
    lets any actor sweep the idle ones.
    """

    prefix = "iis"

    def __init__(self, url: str, expire_seconds: float) -> None:
        # Short timeouts: with Redis down a frame is refused in about a second (503), never hangs.
        self._redis = aioredis.from_url(
            url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self._ttl_ms = max(
            1000, int(expire_seconds * 1000) + 60_000
        )  # the sweeper decides; TTL is a backstop

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}:session:{session_id}"

    def _gone_key(self, session_id: str) -> str:
        return f"{self.prefix}:gone:{session_id}"

    def _record_key(self, session_id: str) -> str:
        return f"{self.prefix}:record:{session_id}"

    @property
    def _active_key(self) -> str:
        return f"{self.prefix}:active"

    @_unavailable_on_redis_errors
    async def ping(self) -> None:
        await self._redis.ping()

    @_unavailable_on_redis_errors
    async def load(self, session_id: str) -> SessionState | None:
        raw = await self._redis.get(self._key(session_id))
        return None if raw is None else SessionState.model_validate_json(raw)

    @_unavailable_on_redis_errors
    async def save(self, state: SessionState) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(state.session_id), state.model_dump_json(), px=self._ttl_ms)
            pipe.zadd(self._active_key, {state.session_id: state.last_activity})
            await pipe.execute()

    @_unavailable_on_redis_errors
    async def remove(self, session_id: str, reason: GoneReason) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(session_id))
            pipe.zrem(self._active_key, session_id)
            pipe.set(self._gone_key(session_id), reason.value, ex=TOMBSTONE_TTL_S)
            await pipe.execute()

    @_unavailable_on_redis_errors
    async def gone(self, session_id: str) -> GoneReason | None:
        raw = await self._redis.get(self._gone_key(session_id))
        return None if raw is None else GoneReason(str(raw))

    @_unavailable_on_redis_errors
    async def idle_before(self, cutoff: float) -> list[str]:
        ids = await self._redis.zrangebyscore(self._active_key, "-inf", f"({cutoff}")
        return [str(i) for i in ids]

    @_unavailable_on_redis_errors
    async def count(self) -> int:
        return int(await self._redis.zcard(self._active_key))

    @_unavailable_on_redis_errors
    async def save_record(self, record: SessionRecord) -> None:
        """One SET with the time left as its TTL: Redis deletes the record at ``kept_until``."""
        key = self._record_key(record.session_id)
        if record.kept_until is None:
            await self._redis.set(key, record.model_dump_json())
            return
        left_ms = int((record.kept_until - time.time()) * 1000)
        if left_ms <= 0:
            await self._redis.delete(key)
            return
        await self._redis.set(key, record.model_dump_json(), px=left_ms)

    @_unavailable_on_redis_errors
    async def load_record(self, session_id: str) -> SessionRecord | None:
        raw = await self._redis.get(self._record_key(session_id))
        if raw is None:
            return None
        record = SessionRecord.model_validate_json(raw)
        return None if _past(record, time.time()) else record

    async def close(self) -> None:
        await self._redis.aclose()
