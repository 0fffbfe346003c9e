"""The bar under a conversation that asks whether the model's tool call may run, and shows it running.

The trust boundary made visible: the tool, its server and the full arguments (pretty JSON,
scrollable, selectable) with Allow once (Alt+O), Always allow (Alt+A) and Deny (Alt+D).
Questions come one at a time from the chat service, only for calls of the live reply.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from desktop_llm.services.chat_events import ToolApprovalNeeded
from desktop_llm.services.tool_loop import Approval

ARGUMENTS_MAX_HEIGHT = 160


class ToolApprovalBar(QFrame):
    """Ask about one tool call at a time; say which call is running.

    Signals:
        answered(str, str): (call id, ``Approval`` value) when the person chose.
    """

    answered = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolApprovalBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._call_id = ""
        self._running: dict[str, str] = {}
        self.title = QLabel()
        self.title.setObjectName("toolApprovalTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.arguments = QPlainTextEdit()
        self.arguments.setObjectName("toolArguments")
        self.arguments.setReadOnly(True)
        self.arguments.setMaximumHeight(ARGUMENTS_MAX_HEIGHT)
        self.arguments.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.arguments.setAccessibleName("Arguments of the tool call")
        self.allow_once = QPushButton("Allow &once")
        self.always = QPushButton("&Always allow")
        self.deny = QPushButton("&Deny")
        self.allow_once.setObjectName("allowOnce")
        self.always.setObjectName("alwaysAllow")
        self.deny.setObjectName("denyTool")
        self.always.setToolTip(
            "Run this tool from this server without asking again (revoke in Settings → Tools)"
        )
        for button, answer in (
            (self.allow_once, Approval.ALLOW_ONCE),
            (self.always, Approval.ALWAYS),
            (self.deny, Approval.DENY),
        ):
            button.clicked.connect(lambda _checked=False, a=answer: self._answer(a))
        self.status = QLabel()
        self.status.setObjectName("mutedLabel")

        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.allow_once)
        buttons.addWidget(self.always)
        buttons.addWidget(self.deny)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.arguments)
        layout.addLayout(buttons)
        self.setVisible(False)

    @property
    def call_id(self) -> str:
        """Return the call being asked about ("" when none)."""
        return self._call_id

    def ask(self, question: ToolApprovalNeeded) -> None:
        """Show the question about ``question``'s call and wait for a button."""
        self._call_id = question.call_id
        self.title.setText(
            f"The model wants to run the tool “{question.tool}” from the MCP server “{question.server}” "
            "with these arguments. Allow it?"
        )
        self.arguments.setPlainText(question.arguments)
        self._show_question(True)
        self.status.setText("")
        self.setVisible(True)

    def running(self, call_id: str, tool: str, server: str) -> None:
        """Show that a call is running."""
        self._running[call_id] = f"{tool} ({server})"
        self._show_status()

    def finished(self, call_id: str) -> None:
        """Forget a finished call; hide the bar when nothing is left to show."""
        self._running.pop(call_id, None)
        self._show_status()

    def clear(self) -> None:
        """Hide the bar and forget everything (the reply ended)."""
        self._call_id = ""
        self._running.clear()
        self.setVisible(False)

    def _answer(self, answer: Approval) -> None:
        call_id, self._call_id = self._call_id, ""
        if not call_id:
            return
        self._show_question(False)
        self._show_status()
        self.answered.emit(call_id, answer.value)

    def _show_question(self, shown: bool) -> None:
        for widget in (self.title, self.arguments, self.allow_once, self.always, self.deny):
            widget.setVisible(shown)

    def _show_status(self) -> None:
        if self._call_id:
            return
        if self._running:
            self.status.setText("Running " + ", ".join(self._running.values()) + "…")
            self.setVisible(True)
        else:
            self.status.setText("")
            self.setVisible(False)
