"""Follow the providers' batches while the app runs, and open the Batches window.

On start, and whenever a batch is submitted, a background task polls every unfinished batch
(with growing waits) until none is left; a batch submitted by an earlier run or by the command
line is picked up the same way, since everything is in the database. Each refreshed batch is
announced, so an open Batches window or batch dialog shows it at once.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop_llm.services.remote_batches import RemoteBatchService
from desktop_llm.storage.remote_batches import RemoteBatchRecord
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.templates.batches_dialog import BatchesDialog


class BatchesFeature(QObject):
    """The background poller and the Batches window.

    Args:
        batches: the stored batches.
        tasks: runs the poller and the window's steps.
        window: the main window (the Batches window's parent).

    Signals:
        batch_changed(object): a ``RemoteBatchRecord`` after a refresh, cancel or submission.
    """

    batch_changed = Signal(object)

    def __init__(self, batches: RemoteBatchService, tasks: TaskKeeper, window: QWidget) -> None:
        super().__init__(window)
        self.batches = batches
        self.tasks = tasks
        self.window = window
        self.dialog: BatchesDialog | None = None
        self._poller: asyncio.Task[None] | None = None

    def follow(self) -> None:
        """Poll every unfinished batch in the background (once; again after it ran out of batches)."""
        if self._poller is None or self._poller.done():
            self._poller = self.tasks.run(self.batches.follow_all(self.batch_changed.emit))

    def on_submitted(self, record: RemoteBatchRecord) -> None:
        """Show a new batch and make sure it is followed."""
        self.batch_changed.emit(record)
        self.follow()

    def open(self) -> BatchesDialog:
        """Open (or raise) the Batches window."""
        if self.dialog is None:
            self.dialog = BatchesDialog(self.batches, self.tasks, self.window)
            self.batch_changed.connect(self.dialog.on_batch_changed)
            self.dialog.finished.connect(self._forget_dialog)
            self.tasks.run(self.dialog.reload(), on_error=self.dialog.show_message)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _forget_dialog(self, _result: int) -> None:
        if self.dialog is not None:
            self.batch_changed.disconnect(self.dialog.on_batch_changed)
            self.dialog.deleteLater()
            self.dialog = None
