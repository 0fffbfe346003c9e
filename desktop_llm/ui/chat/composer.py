"""The message box under the chat: multi-line, grows with its text, Send or Stop, and an edit mode.

Files come in by the paperclip, by dropping them on the box and by pasting (Ctrl+V: files
copied in a file manager, or an image such as a screenshot); the composer only says what came
in, and the attachment feature reads it off the Qt thread and adds a chip to ``tray``.
Enter sends (Shift+Enter is a new line) or Ctrl+Enter sends, per the app setting. While the open
conversation streams, the button reads Stop. Up in an empty box asks to edit the last message;
in edit mode a banner says so and Esc leaves it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMimeData, QObject, QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QFontMetrics, QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.ui.chat.attachment_drop import DropCatcher, carries_attachment
from desktop_llm.ui.chat.attachment_tray import AttachmentTray
from desktop_llm.ui.chat.token_meter import TokenMeter
from desktop_llm.ui.common.icons import tinted_icon

SEND_ENTER = "enter"
SEND_CTRL_ENTER = "ctrl+enter"
MIN_LINES = 1
MAX_LINES = 10
ATTACH_ICON_EDGE = 18


class _GrowingEdit(QPlainTextEdit):
    """A plain-text box whose height follows its content between ``MIN_LINES`` and ``MAX_LINES``."""

    def __init__(self, drops: DropCatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._drops = drops
        self.setTabChangesFocus(True)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self._fit()

    def _fit(self, *_args: object) -> None:
        line = QFontMetrics(self.font()).lineSpacing()
        lines = max(MIN_LINES, min(MAX_LINES, int(self.document().size().height())))
        chrome = int(self.document().documentMargin() * 2 + self.frameWidth() * 2) + 6
        self.setFixedHeight(lines * line + chrome)
        policy = (
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if lines >= MAX_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        self.setVerticalScrollBarPolicy(policy)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        """Accept files and images as well as text."""
        return carries_attachment(source) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        """Paste: files and images become attachments, anything else is text."""
        if not self._drops.take(source):
            super().insertFromMimeData(source)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Take drags of files and images (text drags as usual)."""
        if carries_attachment(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Keep accepting a drag of files or images wherever it moves."""
        if carries_attachment(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """Drop: files and images become attachments, text is inserted."""
        if self._drops.take(event.mimeData()):
            event.acceptProposedAction()
        else:
            super().dropEvent(event)


class Composer(QWidget):
    """Where the person writes; emits what to do, never talks to services itself.

    Signals:
        send_requested(str): the text to send (not empty; the box is not cleared here).
        edit_submitted(str, str): message id being edited, its new text.
        stop_requested(): the button read Stop, or Esc was pressed while streaming.
        edit_last_requested(): Up in an empty box.
        edit_cancelled(): edit mode was left without sending.
        template_picker_requested(): "/" was typed into the empty box (only while
            ``template_picker_enabled``); the slash is not typed.
        attach_requested(): the paperclip was pressed (the owner opens a file dialog).

    Files and images dropped or pasted come out of ``drops`` (``DropCatcher``).
    """

    send_requested = Signal(str)
    edit_submitted = Signal(str, str)
    stop_requested = Signal()
    edit_last_requested = Signal()
    edit_cancelled = Signal()
    template_picker_requested = Signal()
    attach_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._send_key = SEND_ENTER
        self._streaming = False
        self._editing_id: str | None = None
        self.template_picker_enabled = False

        self.edit_banner = QLabel()
        self.edit_banner.setObjectName("composerEditBanner")
        self.edit_banner.setVisible(False)
        self.drops = DropCatcher(self)
        self.editor = _GrowingEdit(self.drops)
        self.editor.setObjectName("composerEditor")
        self.tray = AttachmentTray()
        self.attach_button = QToolButton()
        self.attach_button.setObjectName("composerAttach")
        self.attach_button.setToolTip("Attach files… (or drop them on the message box, or paste an image)")
        self.attach_button.setAccessibleName("Attach files")
        self.attach_button.setAccessibleDescription("Opens a file dialog to attach files to the message")
        self.attach_button.setIconSize(QSize(ATTACH_ICON_EDGE, ATTACH_ICON_EDGE))
        self._tint_attach_icon()
        self.attach_button.setAutoRaise(True)
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.attach_button.clicked.connect(self.attach_requested)
        self.editor.installEventFilter(self)
        self.button = QPushButton("Send")
        self.button.setObjectName("composerButton")
        self.button.setMinimumWidth(88)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self.on_button_clicked)
        self.hint = QLabel()
        self.hint.setObjectName("composerHint")
        self.meter = TokenMeter()  # the workspace's ContextMeter keeps it up to date

        frame = QFrame()
        frame.setObjectName("composerFrame")
        row = QHBoxLayout(frame)
        row.setContentsMargins(8, 6, 6, 6)
        row.setSpacing(8)
        row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.editor, 1)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 4, 16, 10)
        layout.setSpacing(3)
        layout.addWidget(self.edit_banner)
        layout.addWidget(self.tray)
        layout.addWidget(frame)
        self.footer = QHBoxLayout()  # the hint, then the meter and anything the window adds
        self.footer.setContentsMargins(0, 0, 0, 0)
        self.footer.addWidget(self.hint, 0, Qt.AlignmentFlag.AlignVCenter)
        self.footer.addWidget(self.meter, 1)
        layout.addLayout(self.footer)
        self.drops.watch(self)
        self._refresh()

    def changeEvent(self, event: QEvent) -> None:
        """Redraw the paperclip in the new text colour when the theme changes."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._tint_attach_icon()

    def _tint_attach_icon(self) -> None:
        colour = self.palette().color(QPalette.ColorRole.PlaceholderText)
        icon = tinted_icon("paperclip", colour, ATTACH_ICON_EDGE)
        self.attach_button.setIcon(icon)
        self.attach_button.setText("Attach" if icon.isNull() else "")  # words if the drawing is missing

    # -- state -------------------------------------------------------------------------------

    def text(self) -> str:
        """Return what is in the box."""
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the box's text, with the cursor at the end."""
        self.editor.setPlainText(text)
        self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)

    def clear(self) -> None:
        """Empty the box (after a message was accepted)."""
        self.editor.clear()

    def set_send_key(self, send_key: str) -> None:
        """Send with Enter (``"enter"``) or with Ctrl+Enter (``"ctrl+enter"``)."""
        self._send_key = SEND_CTRL_ENTER if send_key == SEND_CTRL_ENTER else SEND_ENTER
        self._refresh()

    def set_streaming(self, streaming: bool) -> None:
        """Show Stop while the open conversation streams, Send otherwise."""
        self._streaming = streaming
        self._refresh()

    @property
    def streaming(self) -> bool:
        return self._streaming

    @property
    def editing_id(self) -> str | None:
        """The message being edited, or None."""
        return self._editing_id

    def start_editing(self, message_id: str, text: str) -> None:
        """Put a sent message's text in the box; sending makes a new branch from it."""
        self._editing_id = message_id
        self.set_text(text)
        self.editor.setFocus()
        self._refresh()

    def cancel_editing(self) -> None:
        """Leave edit mode and empty the box."""
        if self._editing_id is None:
            return
        self._editing_id = None
        self.clear()
        self._refresh()
        self.edit_cancelled.emit()

    def focus_editor(self) -> None:
        self.editor.setFocus()

    # -- input -------------------------------------------------------------------------------

    def on_button_clicked(self) -> None:
        """Send, or stop the streaming reply."""
        if self._streaming:
            self.stop_requested.emit()
        else:
            self.submit()

    def submit(self) -> None:
        """Emit the text for sending (or as the edit), unless it is blank or a reply streams."""
        text = self.text()
        attached = bool(self.tray.chips) and self._editing_id is None
        if (not text.strip() and not attached) or self._streaming:
            return
        if self._editing_id is not None:
            message_id, self._editing_id = self._editing_id, None
            self._refresh()
            self.edit_submitted.emit(message_id, text)
        else:
            self.send_requested.emit(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Turn the send key, Esc and Up in the editor into the composer's actions."""
        if watched is self.editor and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self._key(event)
        return super().eventFilter(watched, event)

    def _key(self, event: QKeyEvent) -> bool:
        key, modifiers = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
            shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
            if shift:
                return False  # a new line, whatever the setting
            if ctrl or self._send_key == SEND_ENTER:
                self.submit()
                return True
            return False
        if key == Qt.Key.Key_Escape:
            if self._streaming:
                self.stop_requested.emit()
                return True
            if self._editing_id is not None:
                self.cancel_editing()
                return True
            return False
        if key == Qt.Key.Key_Up and not modifiers and not self.text():
            self.edit_last_requested.emit()
            return True
        slash_opens_picker = self.template_picker_enabled and self._editing_id is None
        if key == Qt.Key.Key_Slash and slash_opens_picker and not self.text():
            self.template_picker_requested.emit()
            return True
        return False

    def _refresh(self) -> None:
        self.button.setText("Stop" if self._streaming else "Send")
        self.button.setProperty("stop", self._streaming)
        self.button.style().unpolish(self.button)
        self.button.style().polish(self.button)
        send = "Enter" if self._send_key == SEND_ENTER else "Ctrl+Enter"
        newline = "Shift+Enter" if self._send_key == SEND_ENTER else "Enter"
        if self._streaming:
            self.hint.setText("Esc or Stop ends the reply; its text is kept.")
        else:
            self.hint.setText(f"{send} to send · {newline} for a new line")
        editing = self._editing_id is not None
        self.edit_banner.setVisible(editing)
        self.edit_banner.setText("Editing your message: sending makes a new branch · Esc cancels")
        self.editor.setPlaceholderText(
            "Edit your message…" if editing else "Message the model… (↑ edits your last message)"
        )
