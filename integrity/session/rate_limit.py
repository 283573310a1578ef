"""Token buckets keyed by an id (a session, an API key), on the server's monotonic clock.

Client timestamps never enter here: a client cannot buy itself more frames by lying about time.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from integrity.core.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float  # refill rate; 0 disables the limit
    burst: float  # bucket size: how many may come at once after a quiet spell

    @property
    def enabled(self) -> bool:
        return self.per_second > 0


class RateLimiter:
    """One bucket per key; least recently used buckets are dropped beyond ``max_keys``."""

    def __init__(
        self, rate: Rate, what: str, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.what = what
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str) -> None:
        """Take one token for ``key`` or raise RateLimited with the wait until one is back."""
        if not self.rate.enabled:
            return
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.rate.burst, now))
        tokens = min(self.rate.burst, tokens + (now - at) * self.rate.per_second)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            wait = (1.0 - tokens) / self.rate.per_second
            raise RateLimited(
                f"{self.what}: over {self.rate.per_second:g}/s (burst {self.rate.burst:g}); "
                f"retry in {wait:.2f} s",
                retry_after=math.ceil(wait * 100) / 100,
            )
        self._buckets[key] = (tokens - 1.0, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)
