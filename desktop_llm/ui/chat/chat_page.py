"""The chat in the centre of the window: the header, the open conversation's view, the composer."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QStackedWidget, QVBoxLayout, QWidget

from desktop_llm.ui.chat.chat_header import ChatHeader
from desktop_llm.ui.chat.chat_view import ChatView
from desktop_llm.ui.chat.composer import Composer


class ChatPage(QWidget):
    """Lay out the header, one conversation's ChatView at a time, and the composer.

    Views belong to their sessions; the page only shows one and keeps the others in its stack
    so a conversation streaming out of sight keeps its document.
    """

    def __init__(self, header: ChatHeader, composer: Composer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.header = header
        self.composer = composer
        self._current: ChatView | None = None
        self.views = QStackedWidget()
        self.new_chat_hint = QLabel(
            "<p style='font-size: 15pt; font-weight: 600'>What can I help with?</p>"
            "<p>Your conversation is saved once you send the first message.<br>"
            "Ctrl+K searches all chats · Ctrl+N starts another.</p>"
        )
        self.new_chat_hint.setObjectName("newChatHint")
        self.new_chat_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.new_chat_hint.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.views.addWidget(self.new_chat_hint)
        rule = QFrame()
        rule.setObjectName("headerRule")
        rule.setFrameShape(QFrame.Shape.HLine)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(rule)
        layout.addWidget(self.views, 1)
        layout.addWidget(composer)

    def show_view(self, view: ChatView, *, empty: bool = False) -> None:
        """Show ``view`` (adding it to the stack the first time), or the new-chat hint while ``empty``."""
        if self.views.indexOf(view) < 0:
            self.views.addWidget(view)
        self._current = view
        self.views.setCurrentWidget(self.new_chat_hint if empty else view)

    def current_view(self) -> ChatView | None:
        """The open conversation's view (also while the new-chat hint covers it)."""
        return self._current
