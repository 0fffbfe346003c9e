"""Decide when to try a failed call again, and how long to wait first (as the official SDKs do).

The rules follow openai-python and anthropic-sdk-python (``_base_client.py``):

- retry 408, 409, 429 and every 5xx (529 "overloaded" included), connection failures and
  timeouts, but only before any output reached the caller (the retry loop's job);
- a response header ``x-should-retry: true|false`` overrides the status either way;
- wait what the server asked for (``retry-after-ms``, else ``retry-after`` in seconds or as an
  HTTP date) when it is positive and at most ``max_delay``; otherwise back off exponentially
  with up to 25 % jitter, never longer than ``max_delay``.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 409, 429, *range(500, 600)})

# 2**60 half-seconds is already 18 billion years; a larger exponent would overflow a float.
_MAX_EXPONENT = 60


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` (lower case) from any mapping, whatever case its keys use."""
    value = headers.get(name)
    if value is not None:
        return value
    # httpx.Headers is case-insensitive already; plain dicts from elsewhere may not be lower case.
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def should_retry_response(status: int, headers: Mapping[str, str]) -> bool:
    """Return whether a failed response is worth retrying: ``x-should-retry``, else the status."""
    override = _header(headers, "x-should-retry")
    if override is not None:
        verdict = override.strip().lower()
        if verdict == "true":
            return True
        if verdict == "false":
            return False
    return status in RETRYABLE_STATUSES


def _positive_seconds(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


def server_requested_delay(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Return the wait in seconds the server asked for, or None if it asked for none usable.

    ``retry-after-ms`` (milliseconds, may be fractional) wins when it parses; else
    ``retry-after`` as seconds or as an HTTP date measured against ``now()`` (a Unix time).
    Absent, unparsable, infinite, zero and negative values all give None.
    """
    milliseconds = _header(headers, "retry-after-ms")
    if milliseconds is not None:
        try:
            return _positive_seconds(float(milliseconds) / 1000)
        except ValueError:
            pass  # not a number: fall back to retry-after, as the SDKs do
    retry_after = _header(headers, "retry-after")
    if retry_after is None:
        return None
    try:
        return _positive_seconds(float(retry_after))
    except ValueError:
        pass  # not seconds: it may be an HTTP date
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" parses as naive; HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return _positive_seconds(when.timestamp() - now())


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

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(f"retry settings must not be negative: {self!r}")

    def delay(
        self,
        retry_number: int,
        headers: Mapping[str, str] | None = None,
        *,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Return how long to wait before retry number ``retry_number`` (the first is 1).

        Args:
            retry_number: 1 for the first retry, 2 for the second, ...
            headers: the failed response's headers, for a server-requested wait.
            rng: returns a float in [0, 1); injectable so tests can pin the jitter.
        """
        if retry_number < 1:
            raise ValueError(f"retry_number starts at 1, got {retry_number}")
        if headers:
            requested = server_requested_delay(headers)
            if requested is not None and requested <= self.max_delay:
                return requested
        exponent = min(retry_number - 1, _MAX_EXPONENT)
        backoff = min(self.base_delay * 2.0**exponent, self.max_delay)
        # Jitter downwards only (as openai-python does), so the cap is never exceeded and
        # clients that failed together do not all come back at the same instant.
        return backoff * (1 - 0.25 * rng())
