"""A clock that moves only when told, with a sleep that moves it: time-based logic tested in no time."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Monotonic seconds under the test's control; ``sleep`` advances them instead of waiting.

    Call the instance to read the time (it fits a ``clock=`` parameter); pass ``clock.sleep``
    as a ``sleep=`` parameter. Every sleep is recorded in ``sleeps``.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds``."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait, move the time past it, and let other tasks run once."""
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
