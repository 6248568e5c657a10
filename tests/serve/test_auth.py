"""The per-token rate limit (a token bucket on an injected clock) and scopes."""

from __future__ import annotations

import pytest

from promptwork.serve.auth import RateLimiter
from promptwork.store.tokens import scope_allows


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_refills_at_the_rate_and_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take(1) == pytest.approx(0.5)  # one request every half second
    assert limiter.take(2) == 0.0  # another token: its own bucket
    clock.now += 0.5
    assert limiter.take(1) == 0.0
    assert limiter.take(1) > 0
    clock.now += 100  # never more than the burst saved up
    assert [limiter.take(1) for _ in range(4)][-1] > 0
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1)


def test_scopes_nest() -> None:
    assert scope_allows("admin", "run") and scope_allows("run", "read")
    assert not scope_allows("read", "run") and not scope_allows("run", "admin")
