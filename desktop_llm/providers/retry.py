"""When to try a failed call again, and how long to wait first (as the official SDKs do)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Retry connection failures, timeouts, 408, 409, 429 and 5xx, before any output.

    Args:
        max_retries: retries after the first attempt.
        base_delay: the first backoff step in seconds.
        max_delay: the cap on any wait, and the longest server-requested wait honoured.
        sleep: awaited with the delay; injectable so tests run instantly.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep, repr=False)
