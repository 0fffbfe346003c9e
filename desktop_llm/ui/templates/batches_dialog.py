"""The Batches window: batches on the providers' batch services, their results, cancel and export.

The list is kept current by the background poller (``BatchesFeature``); choosing a batch shows
its rows in the same results table as a local run, and exports them the same way (CSV or
JSONL). Cancel stops a batch's jobs and keeps every row that had finished.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.services.batch import RowResult
from desktop_llm.services.batch_io import BatchInput
from desktop_llm.services.remote_batches import RemoteBatchService, row_result
from desktop_llm.storage.remote_batches import RemoteBatchRecord
from desktop_llm.ui.common.plain_text import plain_label
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.common.theme import theme_of
from desktop_llm.ui.templates.batch_results import BatchResultsModel, export_path, export_results
from desktop_llm.ui.templates.batches_list import BatchListModel


def _table(model: QAbstractItemModel, name: str, stretch: int) -> QTableView:
    """Return a read-only table whose column ``stretch`` takes the room the others do not need."""
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # Not the last column: "Submitted" or "Error" would take the width and squeeze the text.
    header.setStretchLastSection(False)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


class BatchesDialog(QDialog):
    """Every stored provider batch; one chosen batch's rows below.

    Args:
        batches: the stored batches and their provider jobs.
        tasks: runs every async step.
    """

    def __init__(self, batches: RemoteBatchService, tasks: TaskKeeper, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batches")
        self.resize(960, 640)
        self._batches = batches
        self._tasks = tasks
        self.model = BatchListModel(self)
        self.results = BatchResultsModel(self)
        self.shown: tuple[str, BatchInput, dict[int, RowResult]] | None = None
        self.list_view = _table(self.model, "batchList", stretch=0)
        self.results_view = _table(self.results, "batchRows", stretch=2)
        self.list_view.selectionModel().selectionChanged.connect(self.on_list_selection_changed)
        self.message = plain_label()
        self.message.setWordWrap(True)
        self._build_buttons()
        self._build_layout()
        self._refresh_buttons()

    def _build_buttons(self) -> None:
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Ask the providers how the chosen batch stands now")
        self.refresh_button.clicked.connect(self.refresh_selected)
        self.cancel_button = QPushButton("Cancel batch")
        self.cancel_button.setToolTip("Stop it on the provider's side; rows already answered are kept")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.clicked.connect(lambda: self.choose_export(".csv"))
        self.export_jsonl_button = QPushButton("Export JSONL…")
        self.export_jsonl_button.clicked.connect(lambda: self.choose_export(".jsonl"))
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)

    def _build_layout(self) -> None:
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.list_view)
        split.addWidget(self.results_view)
        buttons = QHBoxLayout()
        buttons.addWidget(self.message, 1)
        for button in (
            self.refresh_button,
            self.cancel_button,
            self.export_csv_button,
            self.export_jsonl_button,
            self.close_button,
        ):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        hint = QLabel(
            "Batches run on the provider's side, at about half price; results come within 24 hours, "
            "also while Desktop LLM is closed."
        )
        hint.setObjectName("mutedLabel")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

    # -- the list --------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Read every stored batch."""
        self.model.set_records(await self._batches.list())
        if self.model.records and not self.list_view.selectionModel().hasSelection():
            self.list_view.selectRow(0)

    def on_batch_changed(self, record: RemoteBatchRecord) -> None:
        """Show a batch's newer state; reload its rows if it is the one shown."""
        self.model.update(record)
        if self.shown is not None and self.shown[0] == record.id:
            self._tasks.run(self.show_rows(record), on_error=self.show_message)
        self._refresh_buttons()

    def selected(self) -> RemoteBatchRecord | None:
        """Return the chosen batch."""
        rows = self.list_view.selectionModel().selectedRows()
        return self.model.record_at(rows[0].row()) if rows else None

    def on_list_selection_changed(self, *_args: object) -> None:
        """Show the chosen batch's rows."""
        record = self.selected()
        if record is not None:
            self._tasks.run(self.show_rows(record), on_error=self.show_message)
        self._refresh_buttons()

    async def show_rows(self, record: RemoteBatchRecord) -> None:
        """Fill the results table with the batch's rows and their results so far."""
        rows = await self._batches.rows(record.id)
        columns = record.columns or (tuple(rows[0].input) if rows else ())
        batch = BatchInput(columns, tuple(row.input for row in rows))
        results = {row.row: result for row in rows if (result := row_result(row)) is not None}
        self.shown = (record.id, batch, results)
        self.results.set_batch(batch, results)
        self._refresh_buttons()

    # -- actions ---------------------------------------------------------------------------------

    def refresh_selected(self) -> None:
        """Ask the provider about the chosen batch now."""
        record = self.selected()
        if record is not None:
            self._tasks.run(self._refresh(record.id), on_error=self.show_message)

    async def _refresh(self, batch_id: str) -> None:
        self.on_batch_changed(await self._batches.refresh(batch_id))

    def cancel_selected(self) -> None:
        """Cancel the chosen batch; what finished is kept."""
        record = self.selected()
        if record is not None and not record.finished:
            self._tasks.run(self._cancel(record.id), on_error=self.show_message)

    async def _cancel(self, batch_id: str) -> None:
        record = await self._batches.cancel(batch_id)
        self.on_batch_changed(record)
        self.show_message("Cancel requested: rows already answered are kept.")

    def choose_export(self, suffix: str) -> None:
        """Ask where to export the chosen batch's rows (CSV or JSONL) and write them."""
        path = export_path(self, suffix, "batch")
        if path is not None:
            self.export(path)

    def export(self, path: Path) -> asyncio.Task[None] | None:
        """Write the shown batch's rows to ``path``, off the Qt thread."""
        return self._tasks.run(self._export(path), on_error=self.show_message)

    async def _export(self, path: Path) -> None:
        if self.shown is not None:
            _batch_id, batch, results = self.shown
            await export_results(path, batch, results, self.show_message)

    def _refresh_buttons(self) -> None:
        record = self.selected()
        self.refresh_button.setEnabled(record is not None and not record.finished)
        self.cancel_button.setEnabled(record is not None and record.active_remote)
        for button in (self.export_csv_button, self.export_jsonl_button):
            button.setEnabled(self.shown is not None)

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show how the last step went (in the error colour for a problem)."""
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme_of(self.palette()).error};" if error else "")
