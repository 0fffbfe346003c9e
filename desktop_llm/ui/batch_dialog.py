"""Run a template over many rows: pick the template, version and model, load rows, run, export.

Rows come from a CSV, TSV or JSONL file, or from pasted text (a spreadsheet's cells, or one value
per line). Concurrency, a requests-per-minute limit and the temperature are set here; answers to
identical requests come from the response cache, on by default only at temperature 0. Run,
Cancel and Resume (only the rows without a result run again, with the settings shown now); a
progress bar with the time left; a table with every row's status, an excerpt and the error;
export to CSV or JSONL. Files are read and written off the Qt thread.
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
from desktop_llm.services.response_cache import ResponseCache
from desktop_llm.services.templates import LoadedTemplate, TemplateService
from desktop_llm.ui.batch_results import BatchResultsModel, progress_text, write_results
from desktop_llm.ui.chat_bridge import TaskKeeper
from desktop_llm.ui.model_picker import ModelPicker
from desktop_llm.ui.plain_text import plain_label
from desktop_llm.ui.template_colours import theme_of
from desktop_llm.ui.version_history import fill_version_box

FILE_FILTER = "Rows (*.csv *.tsv *.jsonl *.ndjson *.txt);;All files (*)"


class BatchDialog(QDialog):
    """Run rows of values through a template against one model.

    Args:
        templates: lists templates and reads their versions.
        directory: provider entries, their models and providers.
        tasks: runs the batch and the file work.
        cache: the response cache (None: no caching at all).
        template_id: the template to start with.

    Signals:
        finished_run(object): the results (row index -> ``RowResult``) when a run ends.
    """

    finished_run = Signal(object)

    def __init__(
        self,
        templates: TemplateService,
        directory: ProviderDirectory,
        tasks: TaskKeeper,
        *,
        cache: ResponseCache | None = None,
        template_id: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch run")
        self.resize(1000, 720)
        self._templates = templates
        self._directory = directory
        self._tasks = tasks
        self._cache = cache
        self._initial_id = template_id
        self.loaded: LoadedTemplate | None = None
        self.batch: BatchInput | None = None
        self._source: Path | str | None = None  # the file, or the pasted text, the rows came from
        self.runner: BatchRunner | None = None
        self._running = False
        self._cache_touched = False

        self.template_box = QComboBox()
        self.template_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.template_box.currentIndexChanged.connect(self.on_template_box_changed)
        self.version_box = QComboBox()
        self.version_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.version_box.currentIndexChanged.connect(self._reread_rows)
        self.picker = ModelPicker(directory, tasks)
        self.picker.status_message.connect(self.show_message)

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
        self.use_cache.setChecked(cache is not None)
        self.use_cache.setEnabled(cache is not None)
        self.use_cache.setToolTip(
            "On by default only at temperature 0, where the same request gets the same answer"
        )
        self.use_cache.clicked.connect(self._on_cache_clicked)

        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("primaryButton")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
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
        for column, mode in enumerate(
            (
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.Stretch,
                QHeaderView.ResizeMode.Interactive,
            )
        ):
            header.setSectionResizeMode(column, mode)
        header.resizeSection(3, 300)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.clicked.connect(lambda: self.choose_export(".csv"))
        self.export_jsonl_button = QPushButton("Export JSONL…")
        self.export_jsonl_button.clicked.connect(lambda: self.choose_export(".jsonl"))
        self.message = plain_label()
        self.message.setWordWrap(True)
        close = QPushButton("Close")
        close.clicked.connect(self.close)

        setup = QFormLayout()
        which = QHBoxLayout()
        which.addWidget(self.template_box)
        which.addWidget(QLabel("Version"))
        which.addWidget(self.version_box)
        which.addStretch(1)
        setup.addRow("Template", which)
        setup.addRow("Model", self.picker)
        rows = QHBoxLayout()
        rows.addWidget(self.open_button)
        rows.addWidget(self.paste_button)
        rows.addWidget(self.rows_label, 1)
        setup.addRow("Rows", rows)
        setup.addRow("", self.paste_box)
        knobs = QHBoxLayout()
        for label, widget in (
            ("Concurrency", self.concurrency),
            ("Requests per minute", self.rpm),
            ("Temperature", self.temperature),
        ):
            knobs.addWidget(QLabel(label))
            knobs.addWidget(widget)
            knobs.addSpacing(12)
        knobs.addWidget(self.use_cache)
        knobs.addStretch(1)
        setup.addRow("Settings", knobs)
        controls = QHBoxLayout()
        controls.addWidget(self.run_button)
        controls.addWidget(self.cancel_button)
        controls.addWidget(self.resume_button)
        controls.addWidget(self.progress, 1)
        controls.addWidget(self.progress_label)
        footer = QHBoxLayout()
        footer.addWidget(self.message, 1)
        footer.addWidget(self.export_csv_button)
        footer.addWidget(self.export_jsonl_button)
        footer.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(setup)
        layout.addLayout(controls)
        layout.addWidget(self.table, 1)
        layout.addLayout(footer)
        self._refresh_buttons()

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

    # -- settings ----------------------------------------------------------------------------

    def on_temperature_changed(self, value: float) -> None:
        """Follow the temperature with the cache (on only at 0) until the person chose otherwise."""
        if self._cache is not None and not self._cache_touched:
            self.use_cache.setChecked(value == 0)

    def _on_cache_clicked(self) -> None:
        self._cache_touched = True

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
        self._tasks.run(self._run(template, results), on_error=self._failed)

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

    def _refresh_buttons(self) -> None:
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
        kind = "JSONL (*.jsonl)" if suffix == ".jsonl" else "CSV (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, "Export results", f"results{suffix}", kind)
        if path:
            target = Path(path)
            self.export(target if target.suffix else target.with_suffix(suffix))

    def export(self, path: Path) -> asyncio.Task[None] | None:
        """Write every row with its result to ``path`` (CSV or JSONL by the suffix), off the Qt thread."""
        return self._tasks.run(self._export(path), on_error=self.show_message)

    async def _export(self, path: Path) -> None:
        if self.batch is None:
            return
        results = dict(self.runner.results) if self.runner else {}
        try:
            await asyncio.to_thread(write_results, path, self.batch, results)
        except OSError as error:
            self.show_message(f"Could not write {path}: {error.strerror or error}.", error=True)
            return
        self.show_message(f"Exported {len(self.batch.rows)} rows to {path}.")

    # -- messages and closing ----------------------------------------------------------------

    def show_message(self, text: str, *, error: bool = False) -> None:
        """Show how the last step went (in the error colour for a problem)."""
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {theme_of(self.palette()).error};" if error else "")

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing stops the run."""
        self.cancel()
        super().closeEvent(event)

    def reject(self) -> None:
        """Esc closes like the close button: the run stops."""
        self.cancel()
        super().reject()
