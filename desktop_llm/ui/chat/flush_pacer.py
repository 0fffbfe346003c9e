"""Pace the refreshes of streaming messages: coalesced by a timer, sized to a time target.

Tokens may arrive a thousand times a second; the document should change at most about 60
times a second, and each change should be short enough that the event loop stays responsive.
The pacer owns the single-shot timer and learns how many characters one refresh can take in
within ``TARGET_SECONDS`` on this machine, from the refreshes so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 16  # at most about 60 refreshes a second
# Each refresh should take about this long (parse, highlight, import, layout).
TARGET_SECONDS = 0.008
CHARS_START, CHARS_MIN, CHARS_MAX = 2048, 256, 65536


class FlushPacer(QObject):
    """Call ``flush(allowance)`` when streamed text is waiting, at a pace the loop can bear.

    ``flush`` takes up to ``allowance`` new characters into view and returns
    (characters taken, whether some are still waiting).

    Args:
        parent: owner of the timer.
        flush: the refresh.
    """

    def __init__(self, parent: QObject, flush: Callable[[int], tuple[int, bool]]) -> None:
        super().__init__(parent)
        self._flush = flush
        self.allowance = CHARS_START
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.on_timer_timeout)

    def wake(self) -> None:
        """Schedule a refresh unless one is already due; cheap enough to call per token."""
        if not self._timer.isActive():
            self._timer.start()

    def on_timer_timeout(self) -> None:
        """Refresh, then adapt the allowance and the interval to how long that took."""
        started = time.perf_counter()
        taken, more = self._flush(self.allowance)
        elapsed = max(time.perf_counter() - started, 1e-4)
        # However long a refresh took (a huge open tail is re-rendered each time), the next one
        # waits at least as long: streaming never takes more than half of the loop.
        self._timer.setInterval(max(INTERVAL_MS, round(1000 * elapsed)))
        if more:
            # The allowance was the limit: aim the next refresh at the time target. It starts
            # a full interval after this one ended, leaving room for the repaint and input.
            wanted = taken / elapsed * TARGET_SECONDS
            self.allowance = int(min(CHARS_MAX, max(CHARS_MIN, (self.allowance + wanted) / 2)))
            self._timer.start()
