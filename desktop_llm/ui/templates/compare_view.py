"""Compare two replies side by side: one set of inputs through two versions of a template, or two models.

Each side picks a version and a provider and model; one form takes the inputs of both versions.
Run streams both replies at once into two read-only panes. When both are done the comparison is
kept; the person picks the better reply, and can make the picked version the template's default.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontInfo, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.highlight_pool import HighlightKey, HighlightPool
from desktop_llm.core.markdown import COPY_CODE_SCHEME, SAFE_LINK_SCHEMES, MarkdownRenderer
from desktop_llm.core.prompt_templates import PromptTemplate, PromptTemplateError, VariableSpec
from desktop_llm.services.compare import (
    CompareChoice,
    CompareRun,
    CompareService,
    SideOutcome,
    comparison_kind,
)
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.templates import LoadedTemplate, TemplateService
from desktop_llm.ui.common.formula_browser import FormulaBrowser
from desktop_llm.ui.common.highlight_relay import HighlightRelay
from desktop_llm.ui.common.math_images import MathImages
from desktop_llm.ui.common.model_picker import ModelPicker
from desktop_llm.ui.common.plain_text import plain_label, rich_with
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.common.theme import theme_of
from desktop_llm.ui.templates.template_form import TemplateForm
from desktop_llm.ui.templates.version_history import fill_version_box

SIDE_NAMES = ("A", "B")
NO_TEMPERATURE = -0.1


def combined_inputs(templates: list[PromptTemplate]) -> PromptTemplate:
    """Return a template whose form asks for every variable of ``templates`` (first metadata wins)."""
    specs: dict[str, VariableSpec] = {}
    for template in templates:
        for spec in template.variable_specs():
            specs.setdefault(spec.name, spec)
    user = " ".join(f"{{{name}}}" for name in specs)
    return PromptTemplate(name="inputs", user=user or "-", specs=tuple(specs.values()))


def outcome_summary(outcome: SideOutcome) -> str:
    """Return one line about how a side ended: status, tokens, seconds."""
    parts = {"complete": "Done", "error": "Failed", "stopped": "Stopped"}[outcome.status]
    details = [parts]
    if outcome.usage is not None:
        details.append(f"{outcome.usage.input_tokens} in / {outcome.usage.output_tokens} out tokens")
    details.append(f"{outcome.seconds:.1f} s")
    if outcome.error:
        details.append(outcome.error)
    return " · ".join(details)


class SideSetup(QGroupBox):
    """Which version runs on which provider and model, for one side."""

    def __init__(self, name: str, directory: ProviderDirectory, tasks: TaskKeeper) -> None:
        super().__init__(f"Side {name}")
        self.version_box = QComboBox()
        self.version_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.picker = ModelPicker(directory, tasks)
        form = QFormLayout(self)
        form.addRow("Version", self.version_box)
        form.addRow("Model", self.picker)

    def choice(self) -> CompareChoice | None:
        """Return what this side runs, or None while the version or model is not chosen."""
        version = self.version_box.currentData()
        if version is None or not self.picker.provider_id() or not self.picker.model():
            return None
        entry = self.picker.entry()
        return CompareChoice(
            version, self.picker.provider_id(), self.picker.model(), entry.name if entry else ""
        )


class ComparePane(QWidget):
    """One side's reply: a title, the streaming text, how it ended, and "This one is better".

    Args:
        name: the side's name ("A", "B").
        renderer: renders the finished reply (its formulas at this pane's text size).
        open_url: opens a clicked web link (injectable for tests).
        math: draws and caches formulas, shared with the chat (default: the pane's own).
    """

    def __init__(
        self,
        name: str,
        renderer: MarkdownRenderer,
        open_url: Callable[[QUrl], object] | None = None,
        *,
        math: MathImages | None = None,
    ) -> None:
        super().__init__()
        self._renderer = renderer
        self._name = name
        self._open_url = open_url or QDesktopServices.openUrl
        self._code_blocks: tuple[str, ...] = ()
        self._waiting: set[HighlightKey] = set()  # code shown plain until these are highlighted
        self._rendered_text = ""
        highlights = HighlightRelay(renderer.highlighter, self)
        highlights.finished.connect(self.on_highlights_finished)
        self.title = QLabel(rich_with("<b>{name}</b>", name=name))
        # Never navigates (a followed link would replace the reply with whatever it points at)
        # and loads nothing but formulas, drawn as in the chat.
        self.browser = FormulaBrowser(math if math is not None else MathImages(self))
        self.browser.setObjectName(f"compareReply{name}")
        self.browser.anchorClicked.connect(self.on_browser_anchor_clicked)
        self.status = plain_label()
        self.status.setObjectName("mutedLabel")
        self.status.setWordWrap(True)
        self.pick_button = QPushButton(f"{name} is better")
        self.pick_button.setEnabled(False)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.title)
        column.addWidget(self.browser, 1)
        column.addWidget(self.status)
        column.addWidget(self.pick_button)
        self.text = ""

    def start(self, title: str) -> None:
        """Empty the pane for a new reply from the side called ``title``."""
        self.title.setText(rich_with("<b>{name}</b> · {title}", name=self._name, title=title))
        self.text = ""
        self.browser.clear()
        self.status.setText("Waiting for the reply…")
        self.pick_button.setEnabled(False)

    def append(self, text: str) -> None:
        """Add a piece of the streaming reply at the end."""
        if not text:
            return
        if not self.text:
            self.status.setText("Streaming…")
        self.text += text
        cursor = self.browser.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    def finish(self, outcome: SideOutcome) -> None:
        """Show the whole reply as rendered markdown, and how it ended."""
        if outcome.text:
            self._show_rendered(outcome.text)
        self.text = outcome.text
        self.status.setText(outcome_summary(outcome))

    def _show_rendered(self, text: str) -> None:
        palette = theme_of(self.palette())
        # Formulas are drawn at the text's size (the renderer is the dialog's own).
        self._renderer.math_pixel_size = QFontInfo(self.browser.font()).pixelSize()
        rendered = self._renderer.render(text, message_id=self._name, palette=palette)
        self._code_blocks = rendered.code_blocks
        self._waiting = {job.key for _index, job in rendered.pending}
        self._rendered_text = text
        self.browser.setHtml(rendered.html)

    def changeEvent(self, event: QEvent) -> None:
        """Render the reply again in the new colours when the theme changes (formulas included)."""
        super().changeEvent(event)
        shown = self._rendered_text
        if event.type() == QEvent.Type.PaletteChange and shown and shown == self.text:
            self._show_rendered(shown)

    def on_highlights_finished(self, key: HighlightKey) -> None:
        """Show the reply again once the colours of one of its code blocks are known."""
        if key in self._waiting and self._rendered_text == self.text:
            self._show_rendered(self.text)

    def on_browser_anchor_clicked(self, url: QUrl) -> None:
        """Open web links in the browser, as the chat does; copy a code block; follow nothing else."""
        scheme = url.scheme().lower()
        if scheme in SAFE_LINK_SCHEMES:
            self._open_url(url)
        elif scheme == COPY_CODE_SCHEME:
            index = url.path().rpartition(":")[2]
            if index.isdigit() and int(index) < len(self._code_blocks):
                QApplication.clipboard().setText(self._code_blocks[int(index)])


class CompareView(QDialog):
    """Run one set of inputs through two versions or two models and keep the better reply.

    Args:
        compare: runs and keeps comparisons.
        templates: reads the template's versions.
        directory: the provider entries and their models.
        tasks: runs the streams and database calls.
        template_id: the template to compare.
        open_url: opens a clicked web link in the system browser (injectable for tests).
        math: draws and caches formulas, shared with the chat (default: the view's own).
        highlighter: colours code blocks (default: none, code stays plain).

    Signals:
        comparison_kept(str): a comparison was stored (its id).
        default_changed(str, int): the pick made this version the template's default.
    """

    comparison_kept = Signal(str)
    default_changed = Signal(str, int)

    def __init__(
        self,
        compare: CompareService,
        templates: TemplateService,
        directory: ProviderDirectory,
        tasks: TaskKeeper,
        template_id: str,
        parent: QWidget | None = None,
        *,
        open_url: Callable[[QUrl], object] | None = None,
        math: MathImages | None = None,
        highlighter: HighlightPool | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare")
        self.resize(1100, 760)
        self._compare = compare
        self._templates = templates
        self._directory = directory
        self._tasks = tasks
        self.template_id = template_id
        self.loaded: LoadedTemplate | None = None
        self.run: CompareRun | None = None
        renderer = MarkdownRenderer(highlighter=highlighter)
        math = math if math is not None else MathImages(self)

        self.heading = QLabel()
        self.sides = [SideSetup(name, directory, tasks) for name in SIDE_NAMES]
        self.form = TemplateForm()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setMaximumHeight(200)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(NO_TEMPERATURE, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("provider default")
        self.temperature.setValue(NO_TEMPERATURE)
        self.run_button = QPushButton("Run both")
        self.run_button.setObjectName("primaryButton")
        self.run_button.clicked.connect(self.start_run)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self._compare.stop)
        self.panes = [ComparePane(name, renderer, open_url, math=math) for name in SIDE_NAMES]
        for index, pane in enumerate(self.panes):
            pane.pick_button.clicked.connect(lambda _checked=False, side=index: self.pick(side))
        self.make_default = QCheckBox("Make the picked version the default")
        self.make_default.setChecked(True)
        self.status = plain_label()
        self.status.setWordWrap(True)

        setup = QHBoxLayout()
        for side in self.sides:
            setup.addWidget(side, 1)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Temperature"))
        controls.addWidget(self.temperature)
        controls.addStretch(1)
        controls.addWidget(self.stop_button)
        controls.addWidget(self.run_button)
        replies = QGridLayout()
        for index, pane in enumerate(self.panes):
            replies.addWidget(pane, 0, index)
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(self.make_default)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(setup)
        layout.addWidget(QLabel("<b>Inputs</b>"))
        layout.addWidget(scroll)
        layout.addLayout(controls)
        layout.addLayout(replies, 1)
        layout.addLayout(footer)
        for side in self.sides:
            side.version_box.currentIndexChanged.connect(self._refresh_form)
            side.picker.status_message.connect(self.show_message)

    # -- set-up ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the template's versions and the providers, and pre-select a useful comparison.

        Side A gets the default version, side B the newest (or the one before, if the newest is
        the default); both use the first provider's default model.
        """
        self.loaded = await self._templates.load(self.template_id)
        entries = await self._directory.entries()
        numbers = [version.number for version in self.loaded.versions]
        default = self.loaded.record.default_version
        other = numbers[-1] if numbers[-1] != default else numbers[-2] if len(numbers) > 1 else default
        name, count = self.loaded.record.name, str(len(numbers))
        self.heading.setText(rich_with("<b>{name}</b> — {count} version(s)", name=name, count=count))
        for side, chosen in zip(self.sides, (default, other), strict=True):
            fill_version_box(side.version_box, numbers, default, chosen)
            side.picker.set_entries(entries)
            if entries:
                side.picker.set_selection(entries[0].id, entries[0].default_model, choose_default=True)
        self._refresh_form()
        if not entries:
            self.show_message("Add a provider in Settings first: a comparison needs a model to ask.")

    def _templates_chosen(self) -> list[PromptTemplate]:
        assert self.loaded is not None
        numbers = [side.version_box.currentData() for side in self.sides]
        return [self.loaded.template(number) for number in numbers if number is not None]

    def _refresh_form(self, *_args: object) -> None:
        if self.loaded is None:
            return
        values = self.form.values()
        self.form.set_template(combined_inputs(self._templates_chosen()), values)

    def set_values(self, values: dict[str, str]) -> None:
        """Fill in the inputs (the Templates page passes its sample values)."""
        for name, value in values.items():
            if name in self.form.fields:
                self.form.set_value(name, value)

    def show_message(self, text: str) -> None:
        """Show where the comparison stands, or what to do next."""
        self.status.setText(text)

    # -- running -----------------------------------------------------------------------------

    def start_run(self) -> None:
        """Check the set-up and stream both sides."""
        if self.loaded is None:
            return
        choices = [choice for side in self.sides if (choice := side.choice()) is not None]
        if len(choices) != len(self.sides):
            self.show_message("Choose a version, a provider and a model for both sides.")
            return
        missing = self.form.missing()
        if missing:
            self.show_message(f"Fill in {', '.join(missing)} first.")
            return
        temperature = None if self.temperature.value() <= NO_TEMPERATURE / 2 else self.temperature.value()
        try:
            run = self._compare.plan(self.loaded, choices, self.form.values(), temperature=temperature)
        except PromptTemplateError as error:
            self.show_message(error.message)
            return
        self.run = run
        for pane, choice in zip(self.panes, run.choices, strict=True):
            pane.start(f"{choice.label} ({choice.provider_name})" if choice.provider_name else choice.label)
        self.make_default.setEnabled(comparison_kind(run.choices) in ("versions", "mixed"))
        self._set_running(True)
        self.show_message("Both replies are streaming…")
        self._tasks.run(self._stream(run), on_error=self._failed)

    async def _stream(self, run: CompareRun) -> None:
        try:
            await self._compare.run(run, on_delta=self._on_delta, on_finished=self._on_finished)
        finally:
            self._set_running(False)
        for pane in self.panes:
            pane.pick_button.setEnabled(True)
        self.show_message("Kept. Which reply is better?")
        assert run.record is not None
        self.comparison_kept.emit(run.record.id)

    def _failed(self, message: str) -> None:
        self._set_running(False)
        self.show_message(message)

    def _on_delta(self, side: int, text: str, _reasoning: str) -> None:
        self.panes[side].append(text)

    def _on_finished(self, side: int, outcome: SideOutcome) -> None:
        self.panes[side].finish(outcome)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for side in self.sides:
            side.setEnabled(not running)

    # -- the pick ----------------------------------------------------------------------------

    def pick(self, side: int) -> None:
        """Record that ``side`` gave the better reply (and make its version the default, if ticked)."""
        run = self.run
        if run is None or run.record is None:
            return
        make_default = self.make_default.isEnabled() and self.make_default.isChecked()
        self._tasks.run(self._pick(run, side, make_default), on_error=self.show_message)

    async def _pick(self, run: CompareRun, side: int, make_default: bool) -> None:
        assert run.record is not None
        run.record = await self._compare.pick(run.record.id, side, make_default=make_default)
        version = run.choices[side].version
        for index, pane in enumerate(self.panes):
            pane.pick_button.setText(f"{SIDE_NAMES[index]} is better" + (" ✓" if index == side else ""))
        message = f"Picked {SIDE_NAMES[side]}."
        if make_default:
            message += f" Version {version} is now the default."
            self.default_changed.emit(run.loaded.id, version)
        self.show_message(message)
