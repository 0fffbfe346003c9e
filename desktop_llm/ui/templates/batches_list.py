"""The Batches list: every batch sent to a provider's batch service, with its state and progress.

One row per stored batch: template, provider and model, state, progress counts (answered,
failed, of all) and the time since it was submitted. A refreshed batch replaces its own row
only; a new one is added at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop_llm.storage.remote_batches import RemoteBatchRecord
from desktop_llm.ui.common.plain_text import plain_tooltip

COLUMNS = ("Template", "Model", "State", "Progress", "Submitted")
_STATES = {
    "submitting": "Submitting",
    "running": "Running",
    "cancelling": "Cancelling",
    "ended": "Finished",
    "cancelled": "Cancelled",
    "expired": "Expired",
    "failed": "Failed",
}
_Index = QModelIndex | QPersistentModelIndex


def since(stamp: str, now: datetime) -> str:
    """Return how long ago ``stamp`` (a stored timestamp) was, in words."""
    then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    seconds = max((now - then).total_seconds(), 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def progress_counts(record: RemoteBatchRecord) -> str:
    """Return "answered / failed / all" in words."""
    failed = f", {record.failed:,} failed" if record.failed else ""
    return f"{record.done:,} of {record.total:,} answered{failed}"


class BatchListModel(QAbstractTableModel):
    """Stored batches, newest first.

    Args:
        now: the current time (tests pass a fixed one).
    """

    def __init__(
        self, parent: Any = None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(parent)
        self.records: list[RemoteBatchRecord] = []
        self._now = now

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Return the number of batches."""
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Return the number of columns."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Return the column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Return one cell's text (the batch's error as the state's tooltip)."""
        if not index.isValid():
            return None
        record = self.records[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 2:
            return plain_tooltip(record.error or "")  # a provider's words: never rich text
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return (
            record.template_name,
            record.model,
            _STATES.get(record.state, record.state),
            progress_counts(record),
            since(record.submitted_at, self._now()),
        )[index.column()]

    def set_records(self, records: Sequence[RemoteBatchRecord]) -> None:
        """Show ``records`` (newest first)."""
        self.beginResetModel()
        self.records = list(records)
        self.endResetModel()

    def update(self, record: RemoteBatchRecord) -> None:
        """Replace a batch's row with its newer state, or add it at the top."""
        for row, old in enumerate(self.records):
            if old.id == record.id:
                self.records[row] = record
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.records.insert(0, record)
        self.endInsertRows()

    def record_at(self, row: int) -> RemoteBatchRecord | None:
        """Return the batch shown in ``row``."""
        return self.records[row] if 0 <= row < len(self.records) else None
