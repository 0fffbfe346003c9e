"""The template body editor: name, description, system and user parts, live problems, variables.

Every keystroke re-validates the template (parsing is linear and prompts are short, so this is
cheaper than a debounce's timer): problems are listed with their part and position, the
offending brace is underlined in its part, and the variables panel follows the body. Clicking
a problem puts the cursor on it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.prompt_templates import PromptTemplate, TemplateProblem
from desktop_llm.core.templates import TemplateError, parse_template
from desktop_llm.ui.common.plain_text import plain_label
from desktop_llm.ui.common.theme import is_dark, theme_of
from desktop_llm.ui.templates.template_highlighter import TemplateHighlighter
from desktop_llm.ui.templates.template_variables import VariablesPanel, section_title

ProblemRole = Qt.ItemDataRole.UserRole + 1
PART_LABELS = {"name": "Name", "system": "System part", "user": "User part", "variables": "Variables"}


def problem_text(problem: TemplateProblem) -> str:
    """Return how a problem reads in the list: where it is, then what is wrong."""
    return f"{PART_LABELS.get(problem.part, problem.part)}: {problem.message}"


class PartEdit(QPlainTextEdit):
    """A text box for one part of a template, with the grammar highlighted."""

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self.highlighter = TemplateHighlighter(self.document(), dark=is_dark(self.palette()))

    def changeEvent(self, event: QEvent) -> None:
        """Follow the theme: the box may be built before it is applied, and it may change later."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.set_dark(is_dark(self.palette()))

    def show_position(self, position: int) -> None:
        """Put the cursor at ``position`` and give the box the focus."""
        cursor = self.textCursor()
        cursor.setPosition(min(position, len(self.toPlainText())))
        cursor.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
        self.setFocus()


class TemplateEditor(QWidget):
    """Edit a template's body and variable metadata, validating as the person types.

    Signals:
        changed(): the person edited the template (any field, part or variable).
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._quiet = False
        self._problems: list[TemplateProblem] = []

        self.name = QLineEdit()
        self.name.setObjectName("templateName")
        self.name.setPlaceholderText("Template name")
        self.description = QLineEdit()
        self.description.setPlaceholderText("What it is for (shown in the list and the picker)")
        self.system = PartEdit("Optional: instructions sent as the system message, e.g. You are a {role}.")
        self.system.setObjectName("systemPart")
        self.user = PartEdit("The prompt, with variables in braces: Summarise {text} in {length}.")
        self.user.setObjectName("userPart")
        self.parts = {"system": self.system, "user": self.user}
        self.problem_list = QListWidget()
        self.problem_list.setObjectName("templateProblems")
        self.problem_list.setWordWrap(True)
        self.problem_list.setMaximumHeight(110)
        self.problem_list.itemActivated.connect(self.on_problem_activated)
        self.problem_list.itemClicked.connect(self.on_problem_activated)
        self.status = plain_label()
        self.status.setObjectName("templateStatus")
        self.variables = VariablesPanel()

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        column.addWidget(self.name)
        column.addWidget(self.description)
        column.addWidget(section_title("System part"))
        column.addWidget(self.system, 2)
        column.addWidget(section_title("User part"))
        column.addWidget(self.user, 3)
        column.addWidget(self.status)
        column.addWidget(self.problem_list)
        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(body)
        splitter.addWidget(self.variables)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        for widget in (self.name, self.description):
            widget.textEdited.connect(self._on_edited)
        for part in self.parts.values():
            part.textChanged.connect(self._on_edited)
        self.variables.changed.connect(self._on_edited)
        self._validate()

    # -- contents ----------------------------------------------------------------------------

    def load(self, template: PromptTemplate) -> None:
        """Show ``template`` (without reporting it as an edit)."""
        self._quiet = True
        try:
            self.name.setText(template.name)
            self.description.setText(template.description)
            self.system.setPlainText(template.system)
            self.user.setPlainText(template.user)
            names = template.variables
            if not all(_parses(getattr(template, part)) for part in self.parts):
                # A part that does not parse hides its variables; its metadata still names them.
                names = tuple(dict.fromkeys([*names, *(spec.name for spec in template.specs)]))
            self.variables.load(template.specs, names)
        finally:
            self._quiet = False
        self._validate()

    def template(self) -> PromptTemplate:
        """Return the template as shown."""
        return PromptTemplate(
            name=self.name.text().strip(),
            description=self.description.text().strip(),
            system=self.system.toPlainText(),
            user=self.user.toPlainText(),
            specs=self.variables.specs(),
        )

    def problems(self) -> list[TemplateProblem]:
        """Return what is wrong with the template shown (empty when it is ready to use)."""
        return list(self._problems)

    # -- validation --------------------------------------------------------------------------

    def _on_edited(self, *_args: object) -> None:
        if self._quiet:
            return
        self._validate()
        self.changed.emit()

    def _validate(self) -> None:
        parsed = {name: _parses(edit.toPlainText()) for name, edit in self.parts.items()}
        if all(parsed.values()):
            # While a part does not parse its variables are unknown: keep the list as it was.
            self.variables.set_variables(self._current_variables())
        template = self.template()
        self._problems = template.validate()
        for name, edit in self.parts.items():
            edit.highlighter.set_error_positions(
                p.position for p in self._problems if p.part == name and p.position is not None
            )
        self.problem_list.clear()
        for problem in self._problems:
            item = QListWidgetItem(problem_text(problem))
            item.setData(ProblemRole, problem)
            self.problem_list.addItem(item)
        self.problem_list.setVisible(bool(self._problems))
        count = len(self._problems)
        self.status.setText(
            "✓ Ready to use" if not count else f"{count} problem{'s' if count > 1 else ''} to fix:"
        )
        colour = theme_of(self.palette()).error if count else theme_of(self.palette()).success
        self.status.setStyleSheet(f"color: {colour}; font-weight: 600;")

    def _current_variables(self) -> tuple[str, ...]:
        return PromptTemplate(
            name="", system=self.system.toPlainText(), user=self.user.toPlainText()
        ).variables

    def on_problem_activated(self, item: QListWidgetItem) -> None:
        """Go to the problem: the brace in its part, the variable in the panel, or the name."""
        problem: TemplateProblem = item.data(ProblemRole)
        if problem.part in self.parts:
            self.parts[problem.part].show_position(problem.position or 0)
        elif problem.part == "variables" and problem.variable:
            self.variables.select(problem.variable)
        elif problem.part == "name":
            self.name.setFocus()


def _parses(text: str) -> bool:
    try:
        parse_template(text)
    except TemplateError:
        return False
    return True
