"""Bring the highlight pool's finished jobs to the Qt thread as a signal."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QObject, Signal

from desktop_llm.core.highlight_pool import HighlightKey, HighlightPool


class HighlightRelay(QObject):
    """Re-emit, on the Qt thread, each key the pool finished (on its dispatcher thread).

    Signals:
        finished(object): the ``HighlightKey`` of a finished job (its result is in the pool).

    Args:
        pool: the highlight pool to listen to (the relay stops listening when deleted); None:
            there is none, and the relay stays silent.
        parent: owner of the relay.
    """

    finished = Signal(object)

    def __init__(self, pool: HighlightPool | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        if pool is None:
            return
        listener = self._relay
        pool.add_listener(listener)
        self.destroyed.connect(partial(pool.remove_listener, listener))

    def _relay(self, key: HighlightKey) -> None:
        # Runs on the pool's thread: the signal is queued to the receivers' thread.
        self.finished.emit(key)
