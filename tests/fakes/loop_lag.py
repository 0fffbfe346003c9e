"""Measure the Qt event loop's responsiveness: how late a 5 ms timer fires while work runs.

Shared by the window tests (a stall they must not cause) and the benchmarks (lag percentiles).
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer

INTERVAL_MS = 5


class LoopLagProbe:
    """Record the gaps between ticks of a precise 5 ms Qt timer; use as a context manager or start/stop."""

    def __init__(self, interval_ms: int = INTERVAL_MS) -> None:
        self.interval_ms = interval_ms
        self.gaps: list[float] = []  # seconds between ticks
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> dict[str, float]:
        self._timer.stop()
        return self.report()

    def __enter__(self) -> LoopLagProbe:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    @property
    def worst_ms(self) -> float:
        """The longest gap between two ticks, in milliseconds."""
        return max(self.gaps, default=0.0) * 1000

    def report(self) -> dict[str, float]:
        """Return how late the timer fired (the gap beyond its interval): median, p99, max in ms."""
        lags = sorted(max(0.0, gap * 1000 - self.interval_ms) for gap in self.gaps) or [0.0]
        return {
            "p50": round(lags[len(lags) // 2], 2),
            "p99": round(lags[min(len(lags) - 1, int(len(lags) * 0.99))], 2),
            "max": round(lags[-1], 2),
            "ticks": len(self.gaps),
        }
