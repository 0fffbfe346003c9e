"""A batch run's results as the dialog shows them: the table, the progress line, the export.

The table model covers the input rows and the runner's results (keyed by row index); a finished
row is updated in place, so a run of thousands of rows never rebuilds the table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop_llm.services.batch import BatchProgress, RowResult
from desktop_llm.services.batch_io import BatchInput, write_results_csv, write_results_jsonl
from desktop_llm.storage.atomic_write import atomic_text_file
from desktop_llm.ui.common.theme import theme_of

COLUMNS = ("Row", "Status", "Output", "Error")
EXCERPT = 160
_Index = QModelIndex | QPersistentModelIndex


def row_status(result: RowResult | None) -> str:
    """Return a row's status as the table shows it: "pending", "done", "cached" or "failed"."""
    if result is None:
        return "pending"
    if result.ok and result.cached:
        return "cached"
    return result.status


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """Return ``text`` on one line, cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def time_left(seconds: float | None) -> str:
    """Return an estimate of the time left in words ("" while unknown)."""
    if seconds is None:
        return ""
    if seconds < 1:
        return "almost done"
    if seconds < 90:
        return f"about {round(seconds)} s left"
    return f"about {round(seconds / 60)} min left"


def progress_text(progress: BatchProgress) -> str:
    """Return a one-line account of a run: "12 of 40 · 2 failed · 3 cached · about 8 s left"."""
    parts = [f"{progress.finished} of {progress.total}"]
    if progress.failed:
        parts.append(f"{progress.failed} failed")
    if progress.cached:
        parts.append(f"{progress.cached} cached")
    left = time_left(progress.eta_seconds) if progress.finished < progress.total else ""
    if left:
        parts.append(left)
    return " · ".join(parts)


def write_results(path: Path, batch: BatchInput, results: dict[int, RowResult]) -> None:
    """Write the results to ``path``: JSONL for .jsonl/.ndjson, CSV otherwise (blocking)."""
    with atomic_text_file(path) as out:  # all or nothing, and owner-only like every export
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            write_results_jsonl(out, batch, results)
        else:
            write_results_csv(out, batch, results)


def export_path(parent: QWidget, suffix: str, name: str) -> Path | None:
    """Ask where to export results (CSV or JSONL by ``suffix``); None when the person cancels."""
    kind = "JSONL (*.jsonl)" if suffix == ".jsonl" else "CSV (*.csv)"
    path, _ = QFileDialog.getSaveFileName(parent, "Export results", f"{name}{suffix}", kind)
    if not path:
        return None
    target = Path(path)
    return target if target.suffix else target.with_suffix(suffix)


async def export_results(
    path: Path, batch: BatchInput, results: dict[int, RowResult], show: Callable[..., None]
) -> None:
    """Write every row with its result to ``path`` off the Qt thread; ``show`` how it went."""
    try:
        await asyncio.to_thread(write_results, path, batch, results)
    except OSError as error:
        show(f"Could not write {path}: {error.strerror or error}.", error=True)
        return
    show(f"Exported {len(batch.rows)} rows to {path}.")


def _status_colour(status: str) -> QColor | None:
    palette = QGuiApplication.palette()
    colours = {
        "failed": theme_of(palette).error,
        "cached": theme_of(palette).link,
        "done": theme_of(palette).success,
    }
    return QColor(colours[status]) if status in colours else None


class BatchResultsModel(QAbstractTableModel):
    """Rows of a batch and how each ended."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._batch = BatchInput((), ())
        self._results: dict[int, RowResult] = {}

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._batch.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        result = self._results.get(row)
        status = row_status(result)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row + 1
            if column == 1:
                return status
            if column == 2:
                return excerpt(result.text) if result else ""
            return result.error or "" if result else ""
        if role == Qt.ItemDataRole.ToolTipRole and result is not None:
            if column == 2 and result.text:
                return result.text
            if column == 3 and result.error:
                return result.error
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return _status_colour(status)
        return None

    def set_batch(self, batch: BatchInput, results: Mapping[int, RowResult] | None = None) -> None:
        """Show these input rows (and any results they already have)."""
        self.beginResetModel()
        self._batch = batch
        self._results = dict(results or {})
        self.endResetModel()

    def set_result(self, result: RowResult) -> None:
        """Show how one row ended."""
        self._results[result.index] = result
        self.dataChanged.emit(self.index(result.index, 0), self.index(result.index, len(COLUMNS) - 1))

    def statuses(self) -> list[str]:
        """Return every row's status, in row order."""
        return [row_status(self._results.get(row)) for row in range(len(self._batch.rows))]
