"""Give up on a reply that keeps its connection alive but sends no content.

The read timeout catches a silent server. A server that sends keep-alives (SSE ``: ping``
comments, Anthropic's ``ping`` events, blank NDJSON lines) is never silent, so without this
watch such a reply would say "Generating…" forever.
"""

from __future__ import annotations

from collections.abc import Callable

from desktop_llm.providers.errors import ProviderTimeout

SETTINGS_PLACE = "Settings > General"


class ContentWatch:
    """Raise ``ProviderTimeout`` once ``limit`` seconds pass without the reader making progress.

    Args:
        limit: seconds without content allowed (``ProviderConfig.content_timeout``).
        clock: returns the time in seconds (``time.monotonic``; injectable for tests).
        name: the provider's display name, for the message.
    """

    def __init__(self, limit: float, clock: Callable[[], float], name: str) -> None:
        self._limit = limit
        self._clock = clock
        self._name = name
        self._progress = 0
        self._since = clock()

    def check(self, progress: int) -> None:
        """Note the reader's progress (items that were not keep-alives); raise if it stalled too long."""
        now = self._clock()
        if progress != self._progress:
            self._progress = progress
            self._since = now
        elif now - self._since > self._limit:
            raise ProviderTimeout(
                f"{self._name} kept the connection open for {self._limit:g} s without sending any of the"
                f" reply. Try again, or raise the limit in {SETTINGS_PLACE}.",
                provider=self._name,
                retryable=False,
            )
