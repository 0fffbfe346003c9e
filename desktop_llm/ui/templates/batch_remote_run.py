"""Send a batch dialog's rows to the provider's batch service and follow the batch while the dialog is open.

The batch itself lives in the database (``RemoteBatchService``): closing the dialog only stops
this follower, and the Batches window (or the next start) picks the batch up again. The cost
estimate (input tokens at list and at batch prices) is worked out here too, off the Qt thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import QObject, Signal

from desktop_llm.core.prompt_templates import PromptTemplate
from desktop_llm.providers.batches import supports_batches
from desktop_llm.services.batch import RowResult
from desktop_llm.services.batch_estimate import estimate_batch, estimate_text
from desktop_llm.services.provider_directory import ProviderEntry
from desktop_llm.services.remote_batches import BatchSubmission, RemoteBatchService
from desktop_llm.storage.remote_batches import RemoteBatchRecord
from desktop_llm.ui.common.tasks import TaskKeeper

REMOTE_LABEL = "Run on the provider's batch service (about half price, results within 24 h)"


class RemoteRun(QObject):
    """One dialog's batch on a provider's batch service.

    Args:
        service: the stored batches and their provider jobs.
        tasks: runs sending, following and estimating.

    Signals:
        submitted(object): the ``RemoteBatchRecord`` once every row is at the provider.
        progressed(object): the record after each poll.
        finished(object): the record once the batch is over; ``results`` then holds every row.
        failed(str): why sending or following failed, in words to show.
    """

    submitted = Signal(object)
    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, service: RemoteBatchService, tasks: TaskKeeper, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.record: RemoteBatchRecord | None = None
        self.results: dict[int, RowResult] | None = None
        self._following: asyncio.Task[None] | None = None

    @staticmethod
    def available(entry: ProviderEntry | None) -> bool:
        """Return whether ``entry``'s provider has a batch service."""
        return entry is not None and supports_batches(entry.kind)

    @property
    def following(self) -> bool:
        """Return whether a sent batch is being followed now."""
        return self._following is not None and not self._following.done()

    def estimate(
        self,
        template: PromptTemplate,
        rows: Sequence[Mapping[str, str]],
        entry: ProviderEntry,
        model: str,
        show: Callable[[str], None],
    ) -> None:
        """Work out the input's cost here and, where there is one, on the batch service; ``show`` it."""
        catalog = self.service.catalog
        if catalog is None:
            show("")
            return
        service = self.available(entry)

        async def estimate() -> None:
            figures = await asyncio.to_thread(estimate_batch, template, rows, model, entry.kind, catalog)
            show(estimate_text(figures, batch_service=service))

        self.tasks.run(estimate(), on_error=self.failed.emit)

    def send(self, submission: BatchSubmission) -> None:
        """Submit the rows, then follow the batch until it is over (or ``stop`` is called)."""
        self.record, self.results = None, None
        self.tasks.run(self._send(submission), on_error=self.failed.emit)

    async def _send(self, submission: BatchSubmission) -> None:
        record = await self.service.submit(submission)
        self.record, self.results = record, {}
        self.submitted.emit(record)
        self._following = self.tasks.run(self._follow(record.id), on_error=self.failed.emit)

    async def _follow(self, batch_id: str) -> None:
        record = await self.service.wait(batch_id, self._on_progress)
        self.results = await self.service.results(batch_id)
        self.record = record
        self.finished.emit(record)

    def _on_progress(self, record: RemoteBatchRecord) -> None:
        self.record = record
        self.progressed.emit(record)

    def cancel(self) -> None:
        """Cancel the batch at the provider; rows already answered are kept."""
        if self.record is not None and self.following:
            self.tasks.run(self.service.cancel(self.record.id), on_error=self.failed.emit)

    def stop(self) -> None:
        """Stop following (the batch goes on at the provider)."""
        if self._following is not None:
            self._following.cancel()

    def forget(self) -> None:
        """Drop the last batch's record and results (a local run replaces them)."""
        self.record, self.results = None, None
