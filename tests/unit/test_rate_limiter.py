"""The sliding-window rate limiter, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest
from fakes.fake_clock import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.services.rate_limit import RateLimiter


async def test_up_to_the_limit_goes_at_once_then_waits_for_the_oldest_to_leave_the_window() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(3, 10.0, clock=clock, sleep=clock.sleep)
    granted = []
    for _ in range(3):
        await limiter.acquire()
        granted.append(clock())
        clock.advance(1.0)
    assert granted == [0.0, 1.0, 2.0] and clock.sleeps == []
    await limiter.acquire()  # at 3.0, the window holds 0, 1, 2: wait until 0 leaves it
    assert clock.sleeps == [7.0] and clock() == 10.0
    await limiter.acquire()  # 1.0 leaves at 11.0
    assert clock() == 11.0


async def test_the_default_window_is_a_minute() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(1, clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    await limiter.acquire()
    assert clock.sleeps == [60.0]


async def test_concurrent_waiters_are_served_in_arrival_order() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(2, 5.0, clock=clock, sleep=clock.sleep)
    order: list[tuple[int, float]] = []

    async def request(number: int) -> None:
        await limiter.acquire()
        order.append((number, clock()))

    await asyncio.gather(*(request(number) for number in range(7)))
    assert order == [(0, 0.0), (1, 0.0), (2, 5.0), (3, 5.0), (4, 10.0), (5, 10.0), (6, 15.0)]


def test_limits_must_make_sense() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(5, 0)


@given(
    limit=st.integers(1, 4),
    window=st.floats(0.5, 20.0),
    gaps=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=25),
)
def test_each_request_goes_as_soon_as_the_window_allows_and_never_sooner(
    limit: int, window: float, gaps: list[float]
) -> None:
    """Requests arrive one after another with random gaps; check every grant time exactly."""

    async def scenario() -> tuple[list[float], list[float]]:
        clock = FakeClock(start=0.0)
        limiter = RateLimiter(limit, window, clock=clock, sleep=clock.sleep)
        arrivals, grants = [], []
        for gap in gaps:
            clock.advance(gap)
            arrivals.append(clock())
            await limiter.acquire()
            grants.append(clock())
        return arrivals, grants

    arrivals, grants = asyncio.run(scenario())
    expected: list[float] = []
    for number, arrival in enumerate(arrivals):
        earliest = max(arrival, grants[number - 1] if number else arrival)
        if number >= limit:
            earliest = max(earliest, expected[number - limit] + window)
        expected.append(earliest)
    assert grants == pytest.approx(expected)
    for number in range(limit, len(grants)):
        assert grants[number] - grants[number - limit] >= window - 1e-9
