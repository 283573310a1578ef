"""Token buckets on the server's clock."""

from __future__ import annotations

import pytest

from integrity.core.errors import RateLimited
from integrity.session.rate_limit import Rate, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_steady_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(Rate(per_second=2, burst=3), "frames", clock=clock)
    for _ in range(3):
        limiter.take("s")
    with pytest.raises(RateLimited) as refused:
        limiter.take("s")
    assert refused.value.retry_after == pytest.approx(0.5)
    limiter.take("other")  # buckets are per key
    clock.now += 0.5
    limiter.take("s")  # one token back after 1 / rate
    with pytest.raises(RateLimited):
        limiter.take("s")
    clock.now += 10  # never more than the burst, however long the pause
    for _ in range(3):
        limiter.take("s")
    with pytest.raises(RateLimited):
        limiter.take("s")


def test_refusals_do_not_cost_tokens_and_zero_disables() -> None:
    clock = Clock()
    limiter = RateLimiter(Rate(per_second=1, burst=1), "frames", clock=clock)
    limiter.take("s")
    for _ in range(5):
        with pytest.raises(RateLimited):
            limiter.take("s")
    clock.now += 1.0
    limiter.take("s")
    unlimited = RateLimiter(Rate(per_second=0, burst=1), "frames", clock=clock)
    for _ in range(1000):
        unlimited.take("s")


def test_old_buckets_are_dropped_beyond_the_limit() -> None:
    limiter = RateLimiter(Rate(per_second=1, burst=1), "frames", max_keys=2, clock=Clock())
    for key in ("a", "b", "c"):
        limiter.take(key)
    limiter.take("a")  # "a" was dropped (least recently used) and starts full again
