"""Collect cyclic garbage on the Qt thread only.

Python's cycle collector runs on whichever thread happens to allocate. When that is a worker
(the database thread, a ``to_thread`` job) and the garbage holds a Qt object, Qt frees it from
the wrong thread and its timer list keeps a dangling pointer: the app crashes later in
``QTimerInfoList::activateTimers``. So automatic collection is switched off and a timer on the
Qt thread collects instead, young generations often and everything now and then.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

YOUNG_INTERVAL_MS = 1_000
FULL_EVERY = 30  # young collections between two full ones


class QtThreadCollector(QObject):
    """Owns the process's cyclic garbage collection while the app runs."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(YOUNG_INTERVAL_MS)
        self._timer.timeout.connect(self._collect)
        self._ticks = 0
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        """Turn automatic collection off and collect from the timer instead."""
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect everything once more and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def _collect(self) -> None:
        self._ticks += 1
        gc.collect(2 if self._ticks % FULL_EVERY == 0 else 1)
