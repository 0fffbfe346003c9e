"""Fill in a template: one field per variable, defaults filled, and a live preview of the prompt.

:class:`TemplateForm` is the form (a line, a text area for multi-line variables, a list for
choices); :class:`PromptPreview` shows the rendered system and user messages or what is still
missing; :class:`TemplateFormDialog` puts both in the dialog that "Use in chat" and the ``/``
picker open, which either fills the message box or starts a new chat with the system part.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.prompt_templates import (
    PromptTemplate,
    PromptTemplateError,
    RenderedPrompt,
    VariableSpec,
)
from desktop_llm.ui.common.plain_text import plain_label, plain_tooltip

Field = QLineEdit | QPlainTextEdit | QComboBox


class TemplateForm(QWidget):
    """One input per variable of a template, in the order its author chose.

    Signals:
        values_changed(): any field was edited.
    """

    values_changed = Signal()

    def __init__(self, template: PromptTemplate | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._template = PromptTemplate(name="", user="")
        self._specs: tuple[VariableSpec, ...] = ()
        self.fields: dict[str, Field] = {}
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.set_template(template or self._template)

    @property
    def template(self) -> PromptTemplate:
        """Return the template the form renders."""
        return self._template

    def set_template(self, template: PromptTemplate, values: Mapping[str, str] | None = None) -> None:
        """Build the fields for ``template``; ``values`` (by variable name) replace the defaults."""
        self._template = template
        self._specs = template.variable_specs()
        while self._layout.rowCount():
            self._layout.removeRow(0)  # deletes the row's widgets
        self.fields = {}
        if not self._specs:
            note = QLabel("This template has no variables: it is used as it is.")
            note.setObjectName("mutedLabel")
            self._layout.addRow(note)
        for spec in self._specs:
            field = _field_for(spec)
            self.fields[spec.name] = field
            given = (values or {}).get(spec.name)
            _set_value(field, given if given is not None else spec.default or "")
            _changed_signal(field).connect(self.values_changed)
            label = QLabel(f"<b>{html.escape(spec.name)}</b>" + ("" if spec.default is not None else " *"))
            default = None if spec.default is None else plain_tooltip(f"Default: {spec.default}")
            label.setToolTip(default or "Required")
            if spec.description:
                holder = QWidget()
                column = QVBoxLayout(holder)
                column.setContentsMargins(0, 0, 0, 0)
                column.setSpacing(2)
                column.addWidget(field)
                hint = plain_label(spec.description)
                hint.setObjectName("mutedLabel")
                hint.setWordWrap(True)
                column.addWidget(hint)
                self._layout.addRow(label, holder)
            else:
                self._layout.addRow(label, field)
        self.values_changed.emit()

    def retarget(self, template: PromptTemplate) -> None:
        """Render ``template`` from now on; its variables and their metadata are those shown."""
        if template.variable_specs() != self._specs:
            raise ValueError("retarget() needs a template with the same variables; use set_template().")
        self._template = template

    def set_value(self, name: str, value: str) -> None:
        """Put ``value`` in the field of ``name``."""
        _set_value(self.fields[name], value)

    def values(self) -> dict[str, str]:
        """Return the values given: an empty field of a required variable counts as not given."""
        values: dict[str, str] = {}
        for spec in self._specs:
            value = _value(self.fields[spec.name])
            if value or spec.default is not None:
                values[spec.name] = value
        return values

    def missing(self) -> list[str]:
        """Return the required variables still without a value."""
        given = self.values()
        return [spec.name for spec in self._specs if spec.default is None and spec.name not in given]

    def rendered_prompt(self) -> RenderedPrompt:
        """Return the prompt filled in; raises ``PromptTemplateError`` naming what is missing or wrong."""
        return self._template.render(self.values())

    def focus_first(self) -> None:
        """Put the cursor in the first field (the first one still empty, if any)."""
        missing = self.missing()
        name = missing[0] if missing else next(iter(self.fields), None)
        if name is not None:
            self.fields[name].setFocus()


def _field_for(spec: VariableSpec) -> Field:
    field: Field
    if spec.choices:
        field = QComboBox()
        field.addItems(list(spec.choices))
        field.setEditable(spec.allow_other)
        if spec.allow_other:
            field.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        field.setPlaceholderText("Choose…")
    elif spec.multi_line:
        field = QPlainTextEdit()
        field.setTabChangesFocus(True)
        field.setMinimumHeight(90)
        field.setPlaceholderText(spec.description or f"{spec.name}…")
    else:
        field = QLineEdit()
        field.setPlaceholderText(spec.description or spec.name)
    field.setObjectName(f"field_{spec.name}")
    return field


def _set_value(field: Field, value: str) -> None:
    if isinstance(field, QComboBox):
        index = field.findText(value, Qt.MatchFlag.MatchExactly)
        if index >= 0:
            field.setCurrentIndex(index)
        elif field.isEditable():
            field.setEditText(value)
        else:
            field.setCurrentIndex(-1)
    elif isinstance(field, QPlainTextEdit):
        field.setPlainText(value)
    else:
        field.setText(value)


def _value(field: Field) -> str:
    if isinstance(field, QComboBox):
        return field.currentText()
    if isinstance(field, QPlainTextEdit):
        return field.toPlainText()
    return field.text()


def _changed_signal(field: Field) -> SignalInstance:
    if isinstance(field, QComboBox):
        return field.currentTextChanged
    return field.textChanged


class PromptPreview(QTextBrowser):
    """Show a rendered prompt (system and user message), or why it cannot be rendered yet."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptPreview")
        self.setOpenLinks(False)
        self.prompt: RenderedPrompt | None = None

    def show_form(self, form: TemplateForm) -> RenderedPrompt | None:
        """Render ``form``'s template with its values and show the result (or the problem)."""
        try:
            prompt = form.rendered_prompt()
        except PromptTemplateError as error:
            missing = form.missing()
            message = f"Fill in {', '.join(missing)} to see the prompt." if missing else error.message
            self.show_problem(message)
            return None
        self.show_prompt(prompt)
        return prompt

    def show_prompt(self, prompt: RenderedPrompt) -> None:
        """Show the system part (if any) and the user part of ``prompt``."""
        self.prompt = prompt
        sections = []
        if prompt.system:
            sections.append(_section("System", prompt.system))
        sections.append(_section("User", prompt.user))
        self.setHtml("".join(sections))

    def show_problem(self, message: str) -> None:
        """Show why there is no prompt to see yet."""
        self.prompt = None
        self.setHtml(f"<p><i>{html.escape(message)}</i></p>")


def _section(title: str, text: str) -> str:
    body = html.escape(text).replace("\n", "<br>")
    return f"<p style='margin:0 0 2px 0'><b>{title}</b></p><p style='margin:0 0 12px 0'>{body}</p>"


class TemplateFormDialog(QDialog):
    """Ask for a template's values, then hand the prompt to a chat.

    After ``accepted``, :attr:`prompt` holds the rendered prompt and :attr:`new_chat` says whether
    to start a new chat with its system part (else the user part goes into the message box).

    Signals:
        prompt_chosen(object, bool): the ``RenderedPrompt`` and whether to start a new chat.
    """

    prompt_chosen = Signal(object, bool)

    def __init__(
        self,
        template: PromptTemplate,
        parent: QWidget | None = None,
        *,
        values: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Use “{template.name}”")
        self.setMinimumWidth(560)
        self.prompt: RenderedPrompt | None = None
        self.new_chat = False

        intro = plain_label(template.description or "Fill in the values; the prompt updates as you type.")
        intro.setObjectName("mutedLabel")
        intro.setWordWrap(True)
        self.form = TemplateForm(template)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.form)
        self.preview = PromptPreview()
        self.preview.setMinimumHeight(120)
        has_system = bool(template.system.strip())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.new_chat_button = QPushButton("Start a new chat")
        self.new_chat_button.setToolTip("A new conversation with the system part as its system prompt")
        self.insert_button = QPushButton("Insert into message")
        self.insert_button.setToolTip(
            "Put the user part into the message box of the open chat"
            + (" (the system part is not used)" if has_system else "")
        )
        for button in (self.insert_button, self.new_chat_button):
            self.buttons.addButton(button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.primary = self.new_chat_button if has_system else self.insert_button
        self.primary.setObjectName("primaryButton")
        self.new_chat_button.clicked.connect(lambda: self._choose(new_chat=True))
        self.insert_button.clicked.connect(lambda: self._choose(new_chat=False))
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 2)
        layout.addWidget(QLabel("<b>Preview</b>"))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.buttons)
        self.form.values_changed.connect(self._refresh)
        if values:
            for name, value in values.items():
                if name in self.form.fields:
                    self.form.set_value(name, value)
        self._refresh()
        self.primary.setDefault(True)  # once the button is in the dialog, so the dialog knows it
        self.form.focus_first()

    def _refresh(self) -> None:
        ready = self.preview.show_form(self.form) is not None
        self.insert_button.setEnabled(ready)
        self.new_chat_button.setEnabled(ready)

    def _choose(self, *, new_chat: bool) -> None:
        prompt = self.preview.show_form(self.form)
        if prompt is None:
            return
        self.prompt, self.new_chat = prompt, new_chat
        self.prompt_chosen.emit(prompt, new_chat)
        self.accept()
