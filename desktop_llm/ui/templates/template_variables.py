"""The variables panel: one entry per variable the body uses, with its description, default and choices.

The list follows the body: a variable typed into a part appears, one deleted disappears. What was
entered for a variable is remembered while the template is open, so deleting ``{tone}`` by
mistake and typing it back keeps its choices. Only metadata worth keeping is returned by
:meth:`VariablesPanel.specs`: variables that were never described add nothing to the body.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.prompt_templates import VariableSpec
from desktop_llm.ui.common.plain_text import plain_label

NameRole = Qt.ItemDataRole.UserRole + 1


def section_title(text: str) -> QLabel:
    """Return a bold caption for a section of the template page."""
    label = plain_label(text)
    label.setObjectName("sectionTitle")
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


def spec_summary(spec: VariableSpec) -> str:
    """Return a one-line description of a variable for the list: "{tone} · one of 3 · default: polite"."""
    parts = [f"{{{spec.name}}}"]
    if spec.multi_line:
        parts.append("multi-line")
    if spec.choices:
        parts.append(f"one of {len(spec.choices)}" + (" or other" if spec.allow_other else ""))
    if spec.trusted:
        parts.append("trusted")
    if spec.default is None:
        parts.append("required")
    else:
        default = spec.default.replace("\n", " ")
        parts.append(f"default: {default[:24] + '…' if len(default) > 25 else default or '(empty)'}")
    return " · ".join(parts)


class VariablesPanel(QWidget):
    """Edit the metadata of each variable the template uses.

    Signals:
        changed(): the person edited a variable's metadata.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._names: tuple[str, ...] = ()
        self._specs: dict[str, VariableSpec] = {}
        self._loaded_order: list[str] = []  # names that had an entry in the loaded body, in its order
        self._shown: str | None = None
        self._quiet = False

        title = section_title("Variables")
        self.list = QListWidget()
        self.list.setObjectName("variableList")
        self.list.setMaximumHeight(150)
        self.list.currentItemChanged.connect(self._on_current_changed)
        self.empty_hint = QLabel("Write {name} in the system or user part to add a variable.")
        self.empty_hint.setObjectName("mutedLabel")
        self.empty_hint.setWordWrap(True)

        self.description = QLineEdit()
        self.description.setPlaceholderText("Shown next to the field in the form")
        self.has_default = QCheckBox("Has a default (otherwise the value is required)")
        self.default_line = QLineEdit()
        self.default_text = QPlainTextEdit()
        self.default_text.setFixedHeight(64)
        self.default_stack = QStackedWidget()
        self.default_stack.addWidget(self.default_line)
        self.default_stack.addWidget(self.default_text)
        self.multi_line = QCheckBox("Multi-line (long text, code)")
        self.choices = QPlainTextEdit()
        self.choices.setPlaceholderText("One choice per line; leave empty for free text")
        self.choices.setFixedHeight(76)
        self.allow_other = QCheckBox("Allow other values too")
        self.trusted = QCheckBox("Trusted: may give instructions in the system part")
        self.trusted.setToolTip(
            "Off: in the system part this variable is only named, and its value goes to the model "
            "as data in the user message, so a pasted text or a CSV row cannot give orders. "
            "Turn on only for values you write yourself."
        )
        self.form = QWidget()
        form = QFormLayout(self.form)
        form.setContentsMargins(0, 4, 0, 0)
        form.addRow("Description", self.description)
        form.addRow("", self.has_default)
        form.addRow("Default", self.default_stack)
        form.addRow("", self.multi_line)
        form.addRow("Choices", self.choices)
        form.addRow("", self.allow_other)
        form.addRow("", self.trusted)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.list)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.form)
        layout.addStretch(1)

        self.description.textEdited.connect(self._on_edited)
        self.has_default.toggled.connect(self._on_edited)
        self.default_line.textEdited.connect(self._on_edited)
        self.default_text.textChanged.connect(self._on_edited)
        self.multi_line.toggled.connect(self._on_edited)
        self.choices.textChanged.connect(self._on_edited)
        self.allow_other.toggled.connect(self._on_edited)
        self.trusted.toggled.connect(self._on_edited)
        self._refresh_list()

    # -- what is shown -----------------------------------------------------------------------

    def load(self, specs: Iterable[VariableSpec], names: Iterable[str]) -> None:
        """Show a template's metadata and the variables its body uses (forgets the previous template)."""
        specs = list(specs)
        self._specs = {spec.name: spec for spec in reversed(specs)}  # the first entry wins
        self._loaded_order = list(dict.fromkeys(spec.name for spec in specs))
        self._names = ()
        self._shown = None
        self.set_variables(names)

    def set_variables(self, names: Iterable[str]) -> None:
        """Follow the body: list exactly these variables (metadata of others is remembered)."""
        names = tuple(names)
        if names == self._names:
            return
        self._names = names
        self._refresh_list()

    def variables(self) -> tuple[str, ...]:
        """Return the variables listed, in order of first use."""
        return self._names

    def spec(self, name: str) -> VariableSpec:
        """Return the metadata of ``name`` (plain metadata if none was entered)."""
        return self._specs.get(name) or VariableSpec(name)

    def specs(self) -> tuple[VariableSpec, ...]:
        """Return the metadata to store: loaded entries in their order, then described new ones."""
        used = set(self._names)
        ordered = [name for name in self._loaded_order if name in used]
        ordered += [
            name for name in self._names if name not in ordered and self.spec(name) != VariableSpec(name)
        ]
        return tuple(self.spec(name) for name in ordered)

    def select(self, name: str) -> None:
        """Show ``name``'s metadata in the form."""
        for row in range(self.list.count()):
            if self.list.item(row).data(NameRole) == name:
                self.list.setCurrentRow(row)
                return

    def _refresh_list(self) -> None:
        keep = self._shown
        self._quiet = True
        try:
            self.list.clear()
            for name in self._names:
                item = QListWidgetItem(spec_summary(self.spec(name)))
                item.setData(NameRole, name)
                self.list.addItem(item)
        finally:
            self._quiet = False
        self.empty_hint.setVisible(not self._names)
        self.list.setVisible(bool(self._names))
        if keep in self._names:
            self.select(keep)
        elif self._names:
            self.list.setCurrentRow(0)
        else:
            self._show(None)

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        if not self._quiet:
            self._show(current.data(NameRole) if current is not None else None)

    def _show(self, name: str | None) -> None:
        self._shown = name
        self.form.setEnabled(name is not None)
        spec = self.spec(name) if name is not None else VariableSpec("")
        self._quiet = True
        try:
            self.description.setText(spec.description)
            self.has_default.setChecked(spec.default is not None)
            self.default_line.setText((spec.default or "").replace("\n", " "))
            self.default_text.setPlainText(spec.default or "")
            self.multi_line.setChecked(spec.multi_line)
            self.choices.setPlainText("\n".join(spec.choices))
            self.allow_other.setChecked(spec.allow_other)
            self.trusted.setChecked(spec.trusted)
            self._sync_enabled()
        finally:
            self._quiet = False

    def _sync_enabled(self) -> None:
        shown = self.default_text if self.multi_line.isChecked() else self.default_line
        self.default_stack.setCurrentWidget(shown)
        self.default_stack.setFixedHeight(shown.sizeHint().height() if shown is self.default_line else 64)
        self.default_stack.setEnabled(self.has_default.isChecked())
        self.allow_other.setEnabled(bool(self.choices.toPlainText().strip()))

    # -- edits -------------------------------------------------------------------------------

    def _on_edited(self, *_args: object) -> None:
        if self._quiet or self._shown is None:
            return
        multi_line = self.multi_line.isChecked()
        sender = self.sender()
        # The two default editors mirror each other, so switching multi-line keeps the value.
        if sender is self.default_line:
            self._set_quietly(self.default_text, self.default_line.text())
        elif sender is self.default_text:
            self._set_quietly(self.default_line, self.default_text.toPlainText().replace("\n", " "))
        default_source = self.default_text.toPlainText() if multi_line else self.default_line.text()
        choices = tuple(line.strip() for line in self.choices.toPlainText().split("\n") if line.strip())
        spec = VariableSpec(
            self._shown,
            description=self.description.text(),
            default=default_source if self.has_default.isChecked() else None,
            multi_line=multi_line,
            choices=choices,
            allow_other=self.allow_other.isChecked() and bool(choices),
            trusted=self.trusted.isChecked(),
        )
        self._sync_enabled()
        if spec == self.spec(self._shown):
            return
        self._specs[self._shown] = spec
        row = self._names.index(self._shown)
        self.list.item(row).setText(spec_summary(spec))
        self.changed.emit()

    def _set_quietly(self, widget: QLineEdit | QPlainTextEdit, text: str) -> None:
        self._quiet = True
        try:
            if isinstance(widget, QLineEdit):
                widget.setText(text)
            else:
                widget.setPlainText(text)
        finally:
            self._quiet = False

    def set_spec(self, spec: VariableSpec) -> None:
        """Replace one variable's metadata (tests and programmatic edits) and show it."""
        self._specs[spec.name] = spec
        if spec.name in self._names:
            self.list.item(self._names.index(spec.name)).setText(spec_summary(spec))
            if self._shown == spec.name:
                self._show(spec.name)
        self.changed.emit()
