"""The centre of the window when there is nothing to chat in: first run, or no conversation open.

:class:`WelcomePanel` shows on first run (no stored provider and none in the environment) with
the two steps to a first chat. :class:`EmptyState` shows when no conversation is open.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

_STEP_ONE = (
    "<b>1. Connect a model.</b> Open Settings and add a provider with its API key "
    "(OpenAI, Anthropic, Google Gemini, OpenRouter, Groq…), or set an environment variable such "
    "as <code>OPENAI_API_KEY</code>, <code>ANTHROPIC_API_KEY</code> or <code>GEMINI_API_KEY</code> "
    "before starting Desktop LLM. Running models on this computer? Start "
    "<b>Ollama</b> or <b>LM Studio</b> and add it in Settings with one click."
)
_STEP_TWO = (
    "<b>2. Start a chat.</b> Pick the model above the conversation, type below and press Enter. "
    "Replies stream in as they are written, and every conversation is kept on this computer."
)


def _centred_column(*widgets: QWidget, width: int = 560) -> QHBoxLayout:
    """Return a row that centres a fixed-width column of ``widgets``.

    Centring with stretches, not alignment flags: an aligned item gets its size hint, and a
    word-wrapped label's hint is one line, so its last lines would be cut off.
    """
    column = QWidget()
    column.setFixedWidth(width)
    stack = QVBoxLayout(column)
    stack.setContentsMargins(0, 0, 0, 0)
    stack.setSpacing(14)
    for widget in widgets:
        stack.addWidget(widget)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(column)
    row.addStretch(1)
    return row


def _paragraph(html: str, name: str = "") -> QLabel:
    label = QLabel(html)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    if name:
        label.setObjectName(name)
    return label


class WelcomePanel(QWidget):
    """First run: explain how to connect a model, with a button that opens Settings.

    Signals:
        settings_requested(): "Open Settings" was clicked.
        recheck_requested(): "Check again" was clicked (after starting a local server).
    """

    settings_requested = Signal()
    recheck_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        title = _paragraph("Welcome to Desktop LLM", "welcomeTitle")
        intro = _paragraph(
            "Chat with OpenAI, Anthropic, Gemini and local models from one fast window. "
            "Two steps and you are talking:",
            "welcomeIntro",
        )
        step_one = _paragraph(_STEP_ONE, "welcomeStep")
        step_two = _paragraph(_STEP_TWO, "welcomeStep")
        self.settings_button = QPushButton("Open Settings")
        self.settings_button.setObjectName("primaryButton")
        self.settings_button.setDefault(True)
        self.settings_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.settings_button.clicked.connect(self.settings_requested)
        self.recheck_button = QPushButton("Check again")
        self.recheck_button.setToolTip("Look for providers again, e.g. after starting Ollama")
        self.recheck_button.clicked.connect(self.recheck_requested)
        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 6, 0, 0)
        row.addWidget(self.settings_button)
        row.addWidget(self.recheck_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addLayout(_centred_column(title, intro, step_one, step_two, buttons))
        layout.addStretch(3)


class EmptyState(QWidget):
    """No conversation open: a friendly line and a "New chat" button.

    Signals:
        new_chat_requested(): "New chat" was clicked.
    """

    new_chat_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        title = _paragraph("No conversation open", "emptyTitle")
        hint = _paragraph(
            "Pick one on the left, search all chats with Ctrl+K, or start a new one.", "emptyHint"
        )
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        hint.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.new_chat_button = QPushButton("New chat")
        self.new_chat_button.setObjectName("primaryButton")
        self.new_chat_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_chat_button.clicked.connect(self.new_chat_requested)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        button_row = QWidget()
        buttons = QHBoxLayout(button_row)
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch(1)
        buttons.addWidget(self.new_chat_button)
        buttons.addStretch(1)
        layout.addLayout(_centred_column(title, hint, button_row, width=420))
        layout.addStretch(1)
