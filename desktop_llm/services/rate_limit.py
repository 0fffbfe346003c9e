"""Keep requests under a provider's rate limit: at most N requests in any window of W seconds."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Allow at most ``limit`` acquisitions in any ``window`` seconds (a sliding-window log).

    Unlike a token bucket, a sliding window never lets a burst of 2 × limit through at a window
    edge, which is what a provider's "requests per minute" means. Waiters are served in the
    order they arrived.

    Args:
        limit: the most requests allowed in one window.
        window: the window's length in seconds; the default makes ``limit`` requests per minute.
        clock: monotonic seconds; injectable so tests control time.
        sleep: awaited with the time to wait; injectable so tests need not wait.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"A rate limit must allow at least one request, not {limit}.")
        if window <= 0:
            raise ValueError(f"A rate-limit window must be a positive number of seconds, not {window}.")
        self.limit = limit
        self.window = float(window)
        self._clock = clock
        self._sleep = sleep
        self._granted: deque[float] = deque()  # when each request of the current window was let through
        self._queue = asyncio.Lock()  # fair (FIFO): only the head waiter watches the clock

    async def acquire(self) -> None:
        """Wait until one more request fits in the window, and count it."""
        async with self._queue:
            self._forget_expired()
            while len(self._granted) >= self.limit:
                # Once we have slept until the oldest grant leaves the window it is gone, even if
                # float rounding (or a timer firing a hair early) says the window is not quite
                # over: re-checking could spin on a wait that rounds to nothing.
                oldest = self._granted.popleft()
                await self._sleep(oldest + self.window - self._clock())
                self._forget_expired()
            self._granted.append(self._clock())

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._granted and self._granted[0] <= now - self.window:
            self._granted.popleft()
