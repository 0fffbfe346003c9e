"""The find bar of the chat view: a search field with previous/next, closed with Esc."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget


class FindBar(QWidget):
    """Ask for text to find in the conversation.

    Enter finds the next match, Shift+Enter the previous one, Esc closes the bar.

    Signals:
        find_requested(str, bool): (text, backward) the user asked for the next/previous match;
            also emitted as they type, with backward False.
        closed(): the bar was closed; highlights should go.
    """

    find_requested = Signal(str, bool)
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("Find in conversation")
        self.field.setClearButtonEnabled(True)
        self.status = QLabel(self)
        previous = QToolButton(self)
        previous.setText("‹")
        previous.setToolTip("Previous match (Shift+Enter)")
        following = QToolButton(self)
        following.setText("›")
        following.setToolTip("Next match (Enter)")
        close = QToolButton(self)
        close.setText("✕")
        close.setToolTip("Close (Esc)")
        close.setAutoRaise(True)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.status)
        layout.addWidget(previous)
        layout.addWidget(following)
        layout.addWidget(close)

        self.field.textEdited.connect(self.on_field_text_edited)
        self.field.installEventFilter(self)  # Enter/Shift+Enter/Esc before QLineEdit consumes them
        previous.clicked.connect(lambda: self.find_requested.emit(self.field.text(), True))
        following.clicked.connect(lambda: self.find_requested.emit(self.field.text(), False))
        close.clicked.connect(self.close_bar)

    def open_bar(self) -> None:
        """Show the bar with the field focused and its text selected for retyping."""
        self.show()
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    def close_bar(self) -> None:
        """Hide the bar and tell the view."""
        self.hide()
        self.closed.emit()

    def set_result(self, found: bool, matches: int) -> None:
        """Show how the last search went."""
        if not self.field.text():
            self.status.clear()
        elif not found:
            self.status.setText("No matches")
        else:
            self.status.setText(f"{matches:,} match" + ("" if matches == 1 else "es"))

    def on_field_text_edited(self, text: str) -> None:
        """Search as the user types."""
        self.find_requested.emit(text, False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Turn Enter, Shift+Enter and Esc in the field into next, previous and close."""
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Escape:
                self.close_bar()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                backward = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
                self.find_requested.emit(self.field.text(), backward)
                return True
        return super().eventFilter(watched, event)
