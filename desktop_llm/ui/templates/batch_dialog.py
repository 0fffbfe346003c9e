"""Run a template over many rows: pick the template, version and model, load rows, run, export.

Rows come from a CSV, TSV or JSONL file, or from pasted text (a spreadsheet's cells, or one value
per line). Concurrency, a requests-per-minute limit and the temperature are set here; answers to
identical requests come from the response cache, on by default only at temperature 0. Run,
Cancel and Resume (only the rows without a result run again, with the settings shown now); a
progress bar with the time left; a table with every row's status, an excerpt and the error;
export to CSV or JSONL. Files are read and written off the Qt thread.

Where the provider has a batch service (OpenAI, Anthropic, Gemini), the rows can instead be sent
there: about half the price, results within 24 hours. The estimated input cost is shown at list
prices and at batch prices. The dialog follows a sent batch while it is open; the batch itself
lives in the database, so closing the dialog or the app loses nothing (View ▸ Batches).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.prompt_templates import PromptTemplate, TemplateFormatError
from desktop_llm.services.batch import BatchProgress, BatchRunner, RowResult
from desktop_llm.services.batch_io import BatchInput, BatchInputError, read_batch_file, read_pasted
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.rate_limit import RateLimiter
from desktop_llm.services.remote_batches import BatchSubmission, RemoteBatchService
from desktop_llm.services.response_cache import ResponseCache
from desktop_llm.services.templates import LoadedTemplate, TemplateService
from desktop_llm.storage.remote_batches import RemoteBatchRecord
from desktop_llm.ui.common.model_picker import ModelPicker
from desktop_llm.ui.common.plain_text import plain_label
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.common.theme import theme_of
from desktop_llm.ui.templates.batch_remote_run import REMOTE_LABEL, RemoteRun
from desktop_llm.ui.templates.batch_results import (
    BatchResultsModel,
    export_path,
    export_results,
    progress_text,
)
from desktop_llm.ui.templates.version_history import fill_version_box

FILE_FILTER = "Rows (*.csv *.tsv *.jsonl *.ndjson *.txt);;All files (*)"


def _row(*items: QWidget | tuple[QWidget, int] | None) -> QHBoxLayout:
    """Lay ``items`` out in a row: a widget, (widget, stretch), or None for a stretch."""
    row = QHBoxLayout()
    for item in items:
        if item is None:
            row.addStretch(1)
        elif isinstance(item, tuple):
            row.addWidget(item[0], item[1])
        else:
            row.addWidget(item)
    return row


class BatchDialog(QDialog):
    """Run rows of values through a template against one model.

    Args:
        templates: lists templates and reads their versions.
        directory: provider entries, their models and providers.
        tasks: runs the batch and the file work.
        cache: the response cache (None: no caching at all).
        template_id: the template to start with.

        remote: the providers' batch services (None: rows run only here).

    Signals:
        finished_run(object): the results (row index -> ``RowResult``) when a run ends.
        remote_submitted(object): the ``RemoteBatchRecord`` of rows sent to a batch service.
    """

    finished_run = Signal(object)
    remote_submitted = Signal(object)

    def __init__(
        self,
        templates: TemplateService,
        directory: ProviderDirectory,
        tasks: TaskKeeper,
        *,
        cache: ResponseCache | None = None,
        template_id: str | None = None,
        remote: RemoteBatchService | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch run")
        self.resize(1000, 760)
        self._templates = templates
        self._directory = directory
        self._tasks = tasks
        self._cache = cache
        self._initial_id = template_id
        self.loaded: LoadedTemplate | None = None
        self.batch: BatchInput | None = None
        self._source: Path | str | None = None  # the file, or the pasted text, the rows came from
        self.runner: BatchRunner | None = None
        self.remote_run = None if remote is None else self._remote_run(remote)
        self._running = False
        self._cache_touched = False
        self._build_choices()
        self._build_rows()
        self._build_settings()
        self._build_run_controls()
        self._build_table()
        self._build_footer()
        self._build_layout()
        self._refresh_buttons()

    # -- building ----------------------------------------------------------------------------

    def _remote_run(self, remote: RemoteBatchService) -> RemoteRun:
        run = RemoteRun(remote, self._tasks, self)
        run.submitted.connect(self.on_remote_run_submitted)
        run.progressed.connect(self.on_remote_run_progressed)
        run.finished.connect(self.on_remote_run_finished)
        run.failed.connect(self._failed)
        return run

    def _build_choices(self) -> None:
        self.template_box = QComboBox()
        self.template_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.template_box.currentIndexChanged.connect(self.on_template_box_changed)
        self.version_box = QComboBox()
        self.version_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.version_box.currentIndexChanged.connect(self._reread_rows)
        self.picker = ModelPicker(self._directory, self._tasks)
        self.picker.status_message.connect(self.show_message)
        self.picker.selection_changed.connect(self.on_picker_selection_changed)

    def _build_rows(self) -> None:
        self.open_button = QPushButton("Open CSV or JSONL…")
        self.open_button.clicked.connect(self.choose_file)
        self.paste_box = QPlainTextEdit()
        self.paste_box.setPlaceholderText(
            "Or paste rows: cells copied from a spreadsheet (first row: column names), "
            "or one value per line for the first variable (blocks separated by --- for long text)."
        )
        self.paste_box.setFixedHeight(64)
        self.paste_button = QPushButton("Use pasted rows")
        self.paste_button.clicked.connect(lambda: self.use_pasted(self.paste_box.toPlainText()))
        self.rows_label = plain_label("No rows yet.")
        self.rows_label.setObjectName("mutedLabel")
        self.rows_label.setWordWrap(True)

    def _build_settings(self) -> None:
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 32)
        self.concurrency.setValue(4)
        self.concurrency.setToolTip("How many requests are in flight at once")
        self.rpm = QSpinBox()
        self.rpm.setRange(0, 100_000)
        self.rpm.setSpecialValueText("no limit")
        self.rpm.setToolTip("The most requests started in any minute (your provider's rate limit)")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.valueChanged.connect(self.on_temperature_changed)
        self.use_cache = QCheckBox("Answer identical requests from the cache")
        self.use_cache.setChecked(self._cache is not None)
        self.use_cache.setEnabled(self._cache is not None)
        self.use_cache.setToolTip(
            "On by default only at temperature 0, where the same request gets the same answer"
        )
        self.use_cache.clicked.connect(self._on_cache_clicked)
        self.remote_box = QCheckBox(REMOTE_LABEL)
        self.remote_box.setToolTip(
            "The rows are sent to the provider's own batch service and run there. You can close this "
            "window or the app; the batch is listed under View ▸ Batches until its results are in."
        )
        self.remote_box.toggled.connect(self._refresh_buttons)
        self.estimate_label = plain_label()
        self.estimate_label.setObjectName("mutedLabel")
        self.estimate_label.setWordWrap(True)

    def _build_run_controls(self) -> None:
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("primaryButton")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.on_cancel_button_clicked)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Run only the rows that have no result yet")
        self.resume_button.clicked.connect(self.resume)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(12)
        self.progress.setStyleSheet(
            "QProgressBar { border: 1px solid palette(mid); border-radius: 6px; background: palette(base); }"
            "QProgressBar::chunk { background: palette(link); border-radius: 5px; }"
        )
        self.progress_label = plain_label()

    def _build_table(self) -> None:
        self.results = BatchResultsModel(self)
        self.table = QTableView()
        self.table.setObjectName("batchResults")
        self.table.setModel(self.results)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        modes = (
            QHeaderView.ResizeMode.ResizeToContents,
            QHeaderView.ResizeMode.ResizeToContents,
            QHeaderView.ResizeMode.Stretch,
            QHeaderView.ResizeMode.Interactive,
        )
        for column, mode in enumerate(modes):
            header.setSectionResizeMode(column, mode)
        header.resizeSection(3, 300)

    def _build_footer(self) -> None:
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.clicked.connect(lambda: self.choose_export(".csv"))
        self.export_jsonl_button = QPushButton("Export JSONL…")
        self.export_jsonl_button.clicked.connect(lambda: self.choose_export(".jsonl"))
        self.message = plain_label()
        self.message.setWordWrap(True)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)

    def _build_layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.addLayout(self._setup_form())
        layout.addLayout(
            _row(
                self.run_button,
                self.cancel_button,
                self.resume_button,
                (self.progress, 1),
                self.progress_label,
            )
        )
        layout.addWidget(self.table, 1)
        layout.addLayout(
            _row((self.message, 1), self.export_csv_button, self.export_jsonl_button, self.close_button)
        )

    def _setup_form(self) -> QFormLayout:
        setup = QFormLayout()
        setup.addRow("Template", _row(self.template_box, QLabel("Version"), self.version_box, None))
        setup.addRow("Model", self.picker)
        setup.addRow("Rows", _row(self.open_button, self.paste_button, (self.rows_label, 1)))
        setup.addRow("", self.paste_box)
        knobs: list[QWidget | tuple[QWidget, int] | None] = []
        for label, widget in (
            ("Concurrency", self.concurrency),
            ("Requests per minute", self.rpm),
            ("Temperature", self.temperature),
        ):
            knobs += [QLabel(label), widget]
        setup.addRow("Settings", _row(*knobs, self.use_cache, None))
        setup.addRow("", self.remote_box)
        setup.addRow("Cost", self.estimate_label)
        return setup

    # -- set-up ------------------------------------------------------------------------------

    async def start_up(self) -> None:
        """List the templates and providers; select the template the dialog was opened for."""
        summaries = await self._templates.list()
        entries = await self._directory.entries()
        self.template_box.blockSignals(True)
        for summary in summaries:
            self.template_box.addItem(summary.name, summary.id)
        index = self.template_box.findData(self._initial_id) if self._initial_id else 0
        self.template_box.setCurrentIndex(max(index, 0))
        self.template_box.blockSignals(False)
        self.picker.set_entries(entries)
        if entries:
            self.picker.set_selection(entries[0].id, entries[0].default_model, choose_default=True)
        else:
            self.show_message("Add a provider in Settings first: a batch needs a model to ask.")
        await self._load_template()

    def on_template_box_changed(self, _index: int) -> None:
        """Load the chosen template's versions (and read the rows again against it)."""
        self._tasks.run(self._load_template(), on_error=self.show_message)

    async def _load_template(self) -> None:
        template_id = self.template_box.currentData()
        if template_id is None:
            return
        self.loaded = await self._templates.load(template_id)
        default = self.loaded.record.default_version
        fill_version_box(self.version_box, (v.number for v in self.loaded.versions), default, default)
        self._reread_rows()

    def template(self) -> PromptTemplate | None:
        """Return the chosen version of the chosen template."""
        number = self.version_box.currentData()
        if self.loaded is None or number is None:
            return None
        try:
            return self.loaded.template(number)
        except TemplateFormatError as error:
            self.show_message(str(error), error=True)
            return None

    # -- rows --------------------------------------------------------------------------------

    def choose_file(self) -> None:
        """Ask for a rows file and read it."""
        path, _ = QFileDialog.getOpenFileName(self, "Open rows", "", FILE_FILTER)
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> asyncio.Task[None] | None:
        """Read rows from ``path`` (off the Qt thread)."""
        self._source = path
        return self._tasks.run(self._read(path), on_error=self.show_message)

    def use_pasted(self, text: str) -> asyncio.Task[None] | None:
        """Read rows from pasted text."""
        self._source = text
        return self._tasks.run(self._read(text), on_error=self.show_message)

    def _reread_rows(self, *_args: object) -> None:
        if self._source is not None and not self._running:
            self._tasks.run(self._read(self._source), on_error=self.show_message)

    async def _read(self, source: Path | str) -> None:
        template = self.template()
        if template is None:
            return
        try:
            if isinstance(source, Path):
                batch = await asyncio.to_thread(read_batch_file, source, template)
                origin = source.name
            else:
                batch = read_pasted(source, template)
                origin = "the pasted text"
        except BatchInputError as error:
            self.batch = None
            self.results.set_batch(BatchInput((), ()))
            self.rows_label.setText("No rows.")
            self.show_message(str(error), error=True)
            self._refresh_buttons()
            return
        self.batch, self.runner = batch, None
        self.results.set_batch(batch)
        count = len(batch.rows)
        self.rows_label.setText(
            f"{count} row{'s' if count != 1 else ''} from {origin} · columns: {', '.join(batch.columns)}"
        )
        self.progress.setRange(0, count)
        self.progress.setValue(0)
        self.progress_label.clear()
        self.show_message("")
        self._refresh_buttons()
        self._update_estimate()

    # -- settings ----------------------------------------------------------------------------

    def on_temperature_changed(self, value: float) -> None:
        """Follow the temperature with the cache (on only at 0) until the person chose otherwise."""
        if self._cache is not None and not self._cache_touched:
            self.use_cache.setChecked(value == 0)

    def _on_cache_clicked(self) -> None:
        self._cache_touched = True

    def on_picker_selection_changed(self, _provider_id: str, _model: str) -> None:
        """Offer the batch service where the provider has one; estimate the cost for the model."""
        self._refresh_buttons()
        self._update_estimate()

    def batch_service_available(self) -> bool:
        """Return whether the chosen provider has a batch service this dialog can use."""
        return self.remote_run is not None and self.remote_run.available(self.picker.entry())

    def _update_estimate(self) -> None:
        template, entry, model = self.template(), self.picker.entry(), self.picker.model()
        if self.remote_run is None or self.batch is None or template is None or entry is None or not model:
            self.estimate_label.clear()
            return
        self.remote_run.estimate(template, self.batch.rows, entry, model, self.estimate_label.setText)

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        """Run every row (from scratch)."""
        self._launch(results={})

    def resume(self) -> None:
        """Run the rows without a result, with the settings shown now."""
        self._launch(results=dict(self.runner.results) if self.runner else {})

    def cancel(self) -> None:
        """Stop the run; finished rows are kept for a resume."""
        if self.runner is not None:
            self.runner.cancel()

    def _launch(self, results: dict[int, RowResult]) -> None:
        template = self.template()
        if self.batch is None or template is None or self._running:
            return
        if not self.picker.provider_id() or not self.picker.model():
            self.show_message("Choose a provider and a model first.", error=True)
            return
        self._running = True
        self._refresh_buttons()
        self.results.set_batch(self.batch, results)
        if self.remote_box.isChecked() and self.batch_service_available():
            self._submit_remote(template)
            return
        if self.remote_run is not None:
            self.remote_run.forget()
        self._tasks.run(self._run(template, results), on_error=self._failed)

    def _submit_remote(self, template: PromptTemplate) -> None:
        """Send the rows to the provider's batch service; the dialog follows the batch while open."""
        assert self.batch is not None and self.remote_run is not None and self.loaded is not None
        entry = self.picker.entry()
        assert entry is not None
        self.remote_run.send(
            BatchSubmission(
                entry.id,
                entry.kind,
                self.picker.model(),
                template,
                self.batch.rows,
                self.batch.columns,
                template_id=self.loaded.id,
                template_version=self.version_box.currentData(),
                temperature=self.temperature.value(),
                use_cache=self.use_cache.isChecked(),
            )
        )

    def on_remote_run_submitted(self, record: RemoteBatchRecord) -> None:
        """Say where the rows went, and pass the batch on (the Batches window follows it too)."""
        entry = self.picker.entry()
        name = entry.name if entry is not None else "the provider"
        self.show_message(
            f"Sent {record.total} rows to {name}'s batch service. Results come within 24 hours; "
            "you can close this window or the app and find the batch under View ▸ Batches."
        )
        self.remote_submitted.emit(record)

    def on_remote_run_progressed(self, record: RemoteBatchRecord) -> None:
        """Show where a sent batch stands."""
        self.progress.setRange(0, max(record.total, 1))
        self.progress.setValue(record.done + record.failed)
        self.progress_label.setText(f"{record.state}: {record.done} answered, {record.failed} failed")

    def on_remote_run_finished(self, record: RemoteBatchRecord) -> None:
        """Fill the results table with the batch's rows."""
        assert self.batch is not None and self.remote_run is not None
        self._running = False
        self._refresh_buttons()
        results = self.remote_run.results or {}
        self.results.set_batch(self.batch, results)
        self.show_message(f"Batch {record.state}: {record.done} answered, {record.failed} failed.")
        self.finished_run.emit(results)

    def on_cancel_button_clicked(self) -> None:
        """Stop the local run, or cancel the batch on the provider's side (what finished is kept)."""
        if self.remote_run is not None and self.remote_run.following:
            self.remote_run.cancel()
            self.show_message("Cancel requested: rows already answered are kept.")
            return
        self.cancel()

    async def _run(self, template: PromptTemplate, results: dict[int, RowResult]) -> None:
        assert self.batch is not None
        try:
            provider = await self._directory.provider(self.picker.provider_id())
            rpm = self.rpm.value()
            self.runner = BatchRunner(
                provider,
                template,
                self.batch.rows,
                model=self.picker.model(),
                temperature=self.temperature.value(),
                concurrency=self.concurrency.value(),
                rate_limiter=RateLimiter(rpm) if rpm else None,
                cache=self._cache,
                use_cache=self.use_cache.isChecked(),
                cache_scope=self.picker.provider_id(),
                results=results,
                on_progress=self.on_progress,
            )
            final = await self.runner.run()
        finally:
            self._running = False
            self._refresh_buttons()
        self.show_message(self._summary(final, cancelled=self.runner.cancelled))
        self.finished_run.emit(final)

    def _failed(self, message: str) -> None:
        self._running = False
        self._refresh_buttons()
        self.show_message(message, error=True)

    def on_progress(self, progress: BatchProgress) -> None:
        """Show a row's result and where the run stands."""
        if progress.last is not None:
            self.results.set_result(progress.last)
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.finished)
        self.progress_label.setText(progress_text(progress))

    def _summary(self, results: dict[int, RowResult], *, cancelled: bool) -> str:
        total = len(self.batch.rows) if self.batch else 0
        done = sum(1 for r in results.values() if r.ok)
        cached = sum(1 for r in results.values() if r.ok and r.cached)
        failed = len(results) - done
        text = f"{done} answered" + (f" ({cached} from the cache)" if cached else "") + f", {failed} failed"
        if cancelled:
            return f"Cancelled: {text}, {total - len(results)} not run. Resume runs the rest."
        return f"Finished: {text}."

    def _refresh_buttons(self, *_args: object) -> None:
        available = self.batch_service_available()
        self.remote_box.setEnabled(available and not self._running)
        self.remote_box.setVisible(self.remote_run is not None)
        if not available:
            self.remote_box.setChecked(False)
        remote = self.remote_box.isChecked()
        for widget in (self.concurrency, self.rpm):
            widget.setEnabled(not remote and not self._running)
        has_rows = self.batch is not None
        unfinished = self.runner is not None and bool(self.runner.unfinished())
        self.run_button.setEnabled(has_rows and not self._running)
        self.cancel_button.setEnabled(self._running)
        self.resume_button.setEnabled(has_rows and unfinished and not self._running)
        for button in (self.export_csv_button, self.export_jsonl_button):
            button.setEnabled(has_rows and not self._running)
        for control in (self.template_box, self.version_box, self.open_button, self.paste_button):
            control.setEnabled(not self._running)

    # -- export ------------------------------------------------------------------------------

    def choose_export(self, suffix: str) -> None:
        """Ask where to export the results (CSV or JSONL, by ``suffix``) and write them."""
        path = export_path(self, suffix, "results")
        if path is not None:
            self.export(path)

    def export(self, path: Path) -> asyncio.Task[None] | None:
        """Write every row with its result to ``path`` (CSV or JSONL by the suffix), off the Qt thread."""
        return self._tasks.run(self._export(path), on_error=self.show_message)

    async def _export(self, path: Path) -> None:
        if self.batch is None:
            return
        if self.remote_run is not None and self.remote_run.results is not None:
            results = dict(self.remote_run.results)
        else:
            results = dict(self.runner.results) if self.runner else {}
        await export_results(path, self.batch, results, self.show_message)

    # -- messages and closing ----------------------------------------------------------------

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show how the last step went (in the error colour for a problem)."""
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme_of(self.palette()).error};" if error else "")

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing stops a local run; a sent batch goes on at the provider (View ▸ Batches)."""
        self._stop()
        super().closeEvent(event)

    def reject(self) -> None:
        """Esc closes like the close button."""
        self._stop()
        super().reject()

    def _stop(self) -> None:
        self.cancel()
        if self.remote_run is not None:
            self.remote_run.stop()
