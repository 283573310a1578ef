"""The session shard client when a shard's node is lost (no Ray here: the actor calls are stand-ins).

Until Ray declares a lost node dead (~15 s by default), a shard actor on it is neither alive nor
restarted: every call fails with ``ActorUnavailableError``, and resolving the name again returns the
same unreachable actor. Such a call must be refused as a store outage (503 + Retry-After), never
escape as an internal error (500); test_multinode.py sees it end to end.
"""

from __future__ import annotations

from typing import Any

import pytest
from ray.exceptions import ActorUnavailableError

from integrity.core.errors import SessionStoreUnavailable
from integrity.session.risk.config import RiskConfig
from serve_app.settings import Settings
from serve_app.shard_client import Retry, SessionShards


@pytest.mark.parametrize("retry", [Retry.ONCE, Retry.NEVER])
async def test_a_shard_unreachable_after_a_fresh_lookup_is_a_store_outage(
    monkeypatch: pytest.MonkeyPatch, retry: Retry
) -> None:
    shards = SessionShards(Settings(), RiskConfig.load())
    lookups: list[bool] = []

    def handle(index: int, refresh: bool = False) -> object:
        lookups.append(refresh)
        return object()

    async def unreachable(handle: Any) -> None:
        raise ActorUnavailableError("Failed to connect to remote host: Connection refused", None)

    monkeypatch.setattr(shards, "handle", handle)
    with pytest.raises(SessionStoreUnavailable) as refused:
        await shards._call(0, retry, unreachable)
    assert refused.value.retry_after == 1.0  # sent as Retry-After: 1
    assert lookups == [False, True]  # the name was resolved again before giving up
