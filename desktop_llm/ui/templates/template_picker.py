"""The quick template picker: ``/`` at the start of the message box opens it; type to filter, Enter picks.

A small popup over the message box: a filter line and the templates (the same list as the
Templates page). Up and Down move through the matches while the cursor stays in the filter;
Enter picks the highlighted one; Esc, or a click elsewhere, closes it without picking.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QHideEvent, QKeyEvent
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QVBoxLayout, QWidget

from desktop_llm.services.templates import TemplateSummary
from desktop_llm.ui.templates.template_list import TemplateListModel, template_view

WIDTH = 420
VISIBLE_ROWS = 6


class TemplatePicker(QFrame):
    """Pick a template by typing part of its name or description.

    Signals:
        picked(str): the chosen template's id.
        dismissed(): closed without a pick (Esc or a click elsewhere).
    """

    picked = Signal(str)
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("templatePicker")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._chosen = False
        self.model = TemplateListModel(self)
        self.filter = QLineEdit()
        self.filter.setObjectName("templatePickerFilter")
        self.filter.setPlaceholderText("Template name…")
        self.filter.textChanged.connect(self.on_filter_text_changed)
        self.filter.installEventFilter(self)
        self.view = template_view(self.model)
        self.view.clicked.connect(lambda index: self.pick(index.row()))
        self.empty = QLabel("No template matches.")
        self.empty.setObjectName("mutedLabel")
        self.empty.setVisible(False)
        hint = QLabel("↑↓ to choose · Enter to use · Esc to close")
        hint.setObjectName("mutedLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.view)
        layout.addWidget(self.empty)
        layout.addWidget(hint)
        self.setFixedWidth(WIDTH)
        row = self.view.sizeHintForRow(0) if self.model.rowCount() else 40
        self.view.setFixedHeight(max(row, 40) * VISIBLE_ROWS + 4)

    def open_above(self, anchor: QWidget, summaries: list[TemplateSummary]) -> None:
        """Show the templates in a popup just above ``anchor`` (the message box), filter empty."""
        self._chosen = False
        self.model.set_templates(summaries)
        self.filter.clear()
        self.on_filter_text_changed("")
        self.adjustSize()
        corner = anchor.mapToGlobal(QPoint(0, 0))
        self.move(corner.x(), max(0, corner.y() - self.height() - 4))
        self.show()
        self.filter.setFocus()

    def on_filter_text_changed(self, text: str) -> None:
        """Show the matching templates, the first one highlighted."""
        self.model.set_filter(text)
        has_rows = self.model.rowCount() > 0
        self.empty.setVisible(not has_rows)
        if has_rows:
            self.view.setCurrentIndex(self.model.index(0))

    def current_row(self) -> int:
        """Return the highlighted row (-1: none)."""
        return self.view.currentIndex().row()

    def pick(self, row: int | None = None) -> None:
        """Choose the template at ``row`` (default: the highlighted one) and close."""
        summary = self.model.summary(self.current_row() if row is None else row)
        if summary is None:
            return
        self._chosen = True
        self.hide()
        self.picked.emit(summary.id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep typing in the filter while Up, Down, Enter and Esc drive the list."""
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                step = 1 if key == Qt.Key.Key_Down else -1
                row = min(max(self.current_row() + step, 0), self.model.rowCount() - 1)
                self.view.setCurrentIndex(self.model.index(row))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.pick()
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)

    def hideEvent(self, event: QHideEvent) -> None:
        """Report a close without a pick."""
        super().hideEvent(event)
        if not self._chosen:
            self._chosen = True  # once per opening
            self.dismissed.emit()
