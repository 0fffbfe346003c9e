"""The usage dashboard (View > Usage…): tokens and cost per day by model and provider, a table, CSV export.

The figures come from ``UsageService`` (the replies' reported usage, priced with the catalog's
list prices) and load off the Qt thread; changing the range loads again, and an answer that
arrives after a newer request is dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.services.usage import UsageLine, UsageReport, UsageService, dollars_text, tokens_text
from desktop_llm.storage.errors import StorageError
from desktop_llm.ui.common.await_dialog import PathRequest, choose_path_with_dialog
from desktop_llm.ui.common.plain_text import plain_label
from desktop_llm.ui.usage.usage_chart import ChartData, Metric, UsageChart, chart_data

RANGES: tuple[tuple[str, int | None], ...] = (
    ("Last 7 days", 7),
    ("Last 30 days", 30),
    ("Last 90 days", 90),
    ("All time", None),
)
DEFAULT_RANGE = 1  # 30 days
METRICS: tuple[tuple[str, Metric], ...] = (("Cost", "cost"), ("Tokens", "tokens"))
CSV_FILTER = "CSV (*.csv)"
HEADERS = ("Day", "Provider", "Model", "Requests", "Input", "Cached", "Output", "Cost")
_NUMERIC_FROM = 3  # columns from here on are figures, aligned right

Index = QModelIndex | QPersistentModelIndex
ChoosePath = Callable[[QWidget | None, PathRequest], Awaitable[Path | None]]


class UsageTableModel(QAbstractTableModel):
    """The report's lines as table rows: day, provider, model, requests, tokens, cost."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lines: tuple[UsageLine, ...] = ()

    def set_lines(self, lines: tuple[UsageLine, ...]) -> None:
        """Show ``lines`` (replacing the rows)."""
        self.beginResetModel()
        self._lines = lines
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008  (Qt's signature)
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(section)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        line = self._lines[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(line, index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(index.column())
        unpriced = line.total.unpriced_replies
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == len(HEADERS) - 1 and unpriced:
            return f"{unpriced} of these replies had no known price."
        return None


def _alignment(column: int) -> Qt.AlignmentFlag:
    horizontal = Qt.AlignmentFlag.AlignRight if column >= _NUMERIC_FROM else Qt.AlignmentFlag.AlignLeft
    return horizontal | Qt.AlignmentFlag.AlignVCenter


def cell_text(line: UsageLine, column: int) -> str:
    """Return what the table shows in ``column`` for ``line``."""
    total = line.total
    cost = dollars_text(line.dollars) or "unknown price"
    if line.dollars is not None and total.unpriced_replies:
        cost += " *"
    return (
        line.day.isoformat(),
        line.provider,
        line.model,
        f"{total.replies:,}",
        f"{total.input_tokens:,}",
        f"{total.cached_input_tokens:,}",
        f"{total.output_tokens:,}",
        cost,
    )[column]


def totals_text(report: UsageReport) -> str:
    """Return the line under the table: everything in the range."""
    total = report.total
    requests = f"{total.replies:,} request" + ("" if total.replies == 1 else "s")
    cost = dollars_text(total.dollars) if total.replies > total.unpriced_replies else "no known price"
    return f"Total: {requests} · {tokens_text(total)} tokens · {cost}"


def prices_note(report: UsageReport) -> str:
    """Return where the prices come from, and what they leave out."""
    note = f"Prices as of {report.as_of}: list prices, so your bill may differ."
    unpriced = report.total.unpriced_replies
    if unpriced:
        replies = "reply" if unpriced == 1 else "replies"
        note += f" {unpriced:,} {replies} on models without a known price are not in the cost."
    return note


class UsageDialog(QDialog):
    """The usage dashboard.

    Args:
        usage: prices the stored replies.
        choose_path: asks where to save the CSV (injectable for tests).

    Signals:
        loaded(): a report is on screen (after opening, and after each range change).
    """

    loaded = Signal()

    def __init__(
        self,
        usage: UsageService,
        *,
        choose_path: ChoosePath = choose_path_with_dialog,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Usage")
        self.setObjectName("usageDialog")
        self.resize(920, 680)
        self._usage = usage
        self._choose_path = choose_path
        self._generation = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.report: UsageReport | None = None

        self.range_box = QComboBox()
        for label, days in RANGES:
            self.range_box.addItem(label, days)
        self.range_box.setCurrentIndex(DEFAULT_RANGE)
        self.range_box.currentIndexChanged.connect(self.on_range_box_changed)
        self.metric_box = QComboBox()
        for label, metric in METRICS:
            self.metric_box.addItem(label, metric)
        self.metric_box.currentIndexChanged.connect(self.on_metric_box_changed)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.on_export_button_clicked)
        self.chart = UsageChart()
        self.table_model = UsageTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.totals_label = QLabel("Loading…")
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = plain_label()
        self.note_label.setObjectName("mutedLabel")
        self.note_label.setWordWrap(True)
        self.message_label = plain_label()
        self.message_label.setObjectName("mutedLabel")
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        controls = QHBoxLayout()
        for text, box in (("Show", self.range_box), ("Chart", self.metric_box)):
            caption = QLabel(text)
            caption.setBuddy(box)
            controls.addWidget(caption)
            controls.addWidget(box)
            controls.addSpacing(12)
        controls.addStretch(1)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.chart, 3)
        layout.addWidget(self.table, 2)
        layout.addWidget(self.totals_label)
        layout.addWidget(self.note_label)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)

    # -- loading -----------------------------------------------------------------------------

    def chosen_days(self) -> int | None:
        """Return the chosen range in days (None: all time)."""
        days = self.range_box.currentData()
        return int(days) if days is not None else None

    def chosen_metric(self) -> Metric:
        """Return what the chart measures: cost or tokens."""
        metric: Metric = self.metric_box.currentData()
        return metric

    def reload(self) -> asyncio.Task[None]:
        """Load the chosen range in the background; the newest request wins."""
        return self._start(self.load(self.chosen_days()))

    async def load(self, days: int | None) -> None:
        """Read and show the usage of the last ``days`` days (None: all time)."""
        self._generation += 1
        generation = self._generation
        self.totals_label.setText("Loading…")
        try:
            report = await self._usage.report(days)
        except StorageError as error:
            if generation == self._generation:
                self.totals_label.setText("")
                self._say(f"The usage could not be read: {error}")
            return
        if generation != self._generation:
            return  # the person picked another range meanwhile
        self.show_report(report)

    def show_report(self, report: UsageReport) -> None:
        """Show ``report`` in the chart, the table and the totals."""
        self.report = report
        self.table_model.set_lines(report.lines)
        self._show_chart()
        self.totals_label.setText(totals_text(report))
        self.note_label.setText(prices_note(report))
        self._say("")
        self.export_button.setEnabled(bool(report.lines))
        self.loaded.emit()

    def _show_chart(self) -> None:
        report = self.report
        data = chart_data(report, self.chosen_metric()) if report is not None else ChartData()
        if report is not None and report.lines and self.chosen_metric() == "cost":
            self.chart.empty_text = "No reply in this period has a known price."
        else:
            self.chart.empty_text = "No replies with reported usage in this period."
        self.chart.set_data(data)

    def _start(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # asyncio keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)
        return task

    # -- controls ----------------------------------------------------------------------------

    def on_range_box_changed(self, _index: int) -> None:
        self.reload()

    def on_metric_box_changed(self, _index: int) -> None:
        self._show_chart()

    def on_export_button_clicked(self) -> None:
        self._start(self._export_from_button())

    async def _export_from_button(self) -> None:
        await self.export()

    async def export(self) -> Path | None:
        """Ask where to save the table as CSV and write it; return the file written, if any."""
        report = self.report
        if report is None:
            return None
        label = self.range_box.currentText().lower().replace(" ", "-")
        request = PathRequest(
            "Export usage", Path.home() / f"desktop-llm-usage-{label}.csv", (CSV_FILTER,), save=True
        )
        path = await self._choose_path(self, request)
        if path is None:
            return None
        try:
            await self._usage.export_csv(report, path)
        except StorageError as error:
            self._say(str(error))
            return None
        rows = len(report.lines)
        self._say(f"Saved {rows:,} row{'' if rows == 1 else 's'} to {path}.")
        return path

    def _say(self, text: str) -> None:
        """Show what happened (an export, a failure) under the totals; nothing when ``text`` is empty."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def done(self, result: int) -> None:
        """Close, dropping any load still running."""
        for task in list(self._tasks):
            task.cancel()
        super().done(result)
