"""Stop calling a provider for a while after it failed several calls in a row.

::

    closed --(failure_threshold failures in a row)--> open
    open --(reset_timeout elapsed)--> half-open: exactly one trial call is let through
    half-open --(trial succeeds)--> closed
    half-open --(trial fails)--> open for another reset_timeout

A "failure" is a call that failed after its retries were spent; the retry loop reports it once.
The breaker is used from one event loop, so it needs no lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Literal

from desktop_llm.providers.errors import CircuitOpenError

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Refuse calls to a failing provider until it has had time to recover.

    Args:
        failure_threshold: failed calls in a row that open the circuit.
        reset_timeout: seconds the circuit stays open before a trial call is allowed.
        clock: monotonic seconds; injectable so tests need not wait.
        name: the provider's display name, for messages.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if reset_timeout < 0:
            raise ValueError(f"reset_timeout must not be negative, got {reset_timeout}")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.name = name
        self._clock = clock
        self._failures = 0
        self._open_until: float | None = None  # None while closed
        self._trial_started_at: float | None = None  # set while the one trial call runs

    @property
    def state(self) -> State:
        """Return "closed", "open", or "half-open" (open, but ready for or running a trial)."""
        if self._open_until is None:
            return "closed"
        if self._trial_started_at is not None or self._clock() >= self._open_until:
            return "half-open"
        return "open"

    @property
    def consecutive_failures(self) -> int:
        """Return the failed calls since the last success."""
        return self._failures

    def before_call(self) -> None:
        """Let a call through, or raise ``CircuitOpenError`` saying when calls resume.

        After ``reset_timeout`` exactly one call (the trial) is let through; others are
        refused until it reports. A trial that never reports (it was cancelled) stops
        blocking others after another ``reset_timeout``.
        """
        if self._open_until is None:
            return
        now = self._clock()
        if self._trial_started_at is not None:
            if now - self._trial_started_at < self.reset_timeout:
                raise CircuitOpenError(
                    f"{self._who()} is failing; a test request is checking whether it has recovered. "
                    "Try again in a few seconds.",
                    retry_at=self._trial_started_at + self.reset_timeout,
                    provider=self.name,
                )
        elif now < self._open_until:
            wait = math.ceil(self._open_until - now)
            raise CircuitOpenError(
                f"{self._who()} failed {self._failures} requests in a row, so requests are paused; "
                f"Desktop LLM will try again in {wait} s.",
                retry_at=self._open_until,
                provider=self.name,
            )
        self._trial_started_at = now

    def record_success(self) -> None:
        """Close the circuit: the provider answered."""
        self._failures = 0
        self._open_until = None
        self._trial_started_at = None

    def record_failure(self) -> None:
        """Count a call that failed after its retries; open (or reopen) the circuit if due."""
        self._failures += 1
        now = self._clock()
        if self._trial_started_at is not None:
            # The trial failed: the provider has not recovered, wait a full period again.
            self._trial_started_at = None
            self._open_until = now + self.reset_timeout
        elif self._open_until is None and self._failures >= self.failure_threshold:
            self._open_until = now + self.reset_timeout

    def _who(self) -> str:
        return self.name or "The provider"
