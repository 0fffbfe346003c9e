"""The status bar: what the open conversation's reply is doing, its token usage, and undo toasts.

"Connecting…" until the first text arrives, then "Streaming · 42 tokens/s", "Retrying in 3 s"
while the provider backs off, and the last error once a reply failed. Each conversation keeps its
own state (:class:`ActivityTracker`), so switching chats shows the right one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QStatusBar, QWidget

from desktop_llm.services.chat_events import StreamFinished, StreamStarted
from desktop_llm.storage.records import StoredMessage
from desktop_llm.ui.common.chat_bridge import ChatBridge
from desktop_llm.ui.common.plain_text import plain_label, plain_tooltip

REFRESH_MS = 500
NOTICE_MS = 15000
TOAST_MS = 8000


@dataclass
class _Activity:
    phase: str = "connecting"  # connecting | streaming | retrying | failed
    deltas: int = 0
    first_delta_at: float = 0.0
    retry_until: float = 0.0
    error: str = ""


class ActivityTracker:
    """Follow each conversation's reply: phase, tokens per second, retry countdown, last error.

    Args:
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_conversation: dict[str, _Activity] = {}

    def started(self, conversation_id: str) -> None:
        self._by_conversation[conversation_id] = _Activity()

    def delta(self, conversation_id: str) -> None:
        activity = self._by_conversation.setdefault(conversation_id, _Activity())
        if activity.phase != "streaming":
            activity.phase = "streaming"
            activity.first_delta_at = self._clock()
            activity.deltas = 0
        activity.deltas += 1

    def retrying(self, conversation_id: str, delay: float) -> None:
        activity = self._by_conversation.setdefault(conversation_id, _Activity())
        activity.phase = "retrying"
        activity.retry_until = self._clock() + delay

    def finished(self, conversation_id: str, message: StoredMessage) -> None:
        if message.status in ("error", "interrupted") and message.error:
            self._by_conversation[conversation_id] = _Activity(phase="failed", error=message.error)
        else:
            self._by_conversation.pop(conversation_id, None)

    def forget(self, conversation_id: str) -> None:
        self._by_conversation.pop(conversation_id, None)

    def active(self) -> bool:
        """Whether any reply is in flight (the label needs refreshing)."""
        return any(a.phase != "failed" for a in self._by_conversation.values())

    def describe(self, conversation_id: str | None) -> str:
        """Return the sentence for the conversation, or "" when it is idle."""
        activity = self._by_conversation.get(conversation_id or "")
        if activity is None:
            return ""
        if activity.phase == "connecting":
            return "Connecting…"
        if activity.phase == "retrying":
            seconds = max(0, math.ceil(activity.retry_until - self._clock()))
            return f"The provider is busy; retrying in {seconds} s…"
        if activity.phase == "streaming":
            elapsed = self._clock() - activity.first_delta_at
            if elapsed < 0.25:
                return "Streaming…"
            return f"Streaming · {activity.deltas / elapsed:.0f} tokens/s"
        return f"Last reply failed: {activity.error}"


def usage_text(messages: list[StoredMessage]) -> str:
    """Sum the usage the provider reported for the path's replies, e.g. "1,204 in · 310 out tokens"."""
    reported = [m for m in messages if m.role == "assistant" and m.input_tokens is not None]
    if not reported:
        return ""
    sent = sum(m.input_tokens or 0 for m in reported)
    received = sum(m.output_tokens or 0 for m in reported)
    cached = sum(m.cached_input_tokens or 0 for m in reported)
    text = f"{sent:,} in · {received:,} out tokens"
    if cached:
        text += f" ({cached:,} cached)"
    return text


class StatusBar(QStatusBar):
    """The window's status bar, following the chat bridge for the conversation on screen.

    Args:
        bridge: the chat events.
        clock: monotonic seconds (injectable for tests).

    Signals:
        activity_changed(str): the activity sentence changed (to this text).
    """

    activity_changed = Signal(str)

    def __init__(self, bridge: ChatBridge, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.setSizeGripEnabled(False)
        self.tracker = ActivityTracker(clock)
        self._conversation_id: str | None = None
        self._toast_action: Callable[[], None] | None = None

        self.activity_label = plain_label()
        self.activity_label.setObjectName("activityLabel")
        self.usage_label = plain_label()
        self.usage_label.setObjectName("usageLabel")
        self.usage_label.setToolTip("Tokens this conversation used, as the provider reported them")
        self.cost_label = plain_label()
        self.cost_label.setObjectName("costLabel")
        self.cost_label.setVisible(False)
        self.toast = QWidget()
        toast_layout = QHBoxLayout(self.toast)
        toast_layout.setContentsMargins(0, 0, 0, 0)
        self.toast_label = plain_label()
        self.toast_button = QPushButton("Undo")
        self.toast_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toast_button.clicked.connect(self.on_toast_button_clicked)
        toast_layout.addWidget(self.toast_label)
        toast_layout.addWidget(self.toast_button)
        self.toast.setVisible(False)
        self.addWidget(self.activity_label, 1)
        self.addPermanentWidget(self.toast)
        self.addPermanentWidget(self.usage_label)
        self.addPermanentWidget(self.cost_label)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self.refresh)
        self._toast_timer = QTimer(self)
        self._toast_timer.setSingleShot(True)
        self._toast_timer.timeout.connect(self.hide_toast)

        bridge.stream_started.connect(self.on_bridge_stream_started)
        bridge.stream_delta.connect(self.on_bridge_stream_delta)
        bridge.stream_retrying.connect(self.on_bridge_stream_retrying)
        bridge.stream_finished.connect(self.on_bridge_stream_finished)
        bridge.context_notice.connect(self.on_bridge_context_notice)
        bridge.tool_notice.connect(self.on_bridge_context_notice)

    # -- the conversation on screen ----------------------------------------------------------

    def set_conversation(self, conversation_id: str | None, messages: list[StoredMessage]) -> None:
        """Follow this conversation (None: nothing open) and show its usage."""
        if conversation_id != self._conversation_id:
            self.set_cost("")  # the new conversation's cost is on its way
        self._conversation_id = conversation_id
        self.set_usage(messages)
        self.refresh()

    def set_usage(self, messages: list[StoredMessage]) -> None:
        self.usage_label.setText(usage_text(messages))

    def set_cost(self, text: str, tooltip: str = "") -> None:
        """Show what the conversation on screen cost ("$0.0123"), with how it was priced."""
        self.cost_label.setText(text)
        self.cost_label.setToolTip(plain_tooltip(tooltip))
        self.cost_label.setVisible(bool(text))

    def refresh(self) -> None:
        """Redraw the activity sentence; stop ticking when nothing is in flight."""
        text = self.tracker.describe(self._conversation_id)
        if text != self.activity_label.text():
            self.activity_label.setText(text)
            self.activity_changed.emit(text)
        if not self.tracker.active():
            self._refresh_timer.stop()

    def _tick(self) -> None:
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()
        self.refresh()

    # -- toasts ------------------------------------------------------------------------------

    def show_toast(self, text: str, action: str = "", on_action: Callable[[], None] | None = None) -> None:
        """Show ``text`` for a few seconds, with a button (say "Undo") when ``on_action`` is given."""
        self._toast_action = on_action
        self.toast_label.setText(text)
        self.toast_button.setText(action or "Undo")
        self.toast_button.setVisible(on_action is not None)
        self.toast.setVisible(True)
        self._toast_timer.start(TOAST_MS)

    def hide_toast(self) -> None:
        self.toast.setVisible(False)
        self._toast_action = None

    def on_toast_button_clicked(self) -> None:
        action = self._toast_action
        self.hide_toast()
        if action is not None:
            action()

    # -- chat events -------------------------------------------------------------------------

    def on_bridge_stream_started(self, event: StreamStarted) -> None:
        self.tracker.started(event.conversation_id)
        self._tick()

    def on_bridge_stream_delta(
        self, conversation_id: str, _message_id: str, _text: str, _reasoning: str
    ) -> None:
        self.tracker.delta(conversation_id)
        if not self._refresh_timer.isActive():
            self._tick()

    def on_bridge_stream_retrying(self, conversation_id: str, _message_id: str, delay: float) -> None:
        self.tracker.retrying(conversation_id, delay)
        self._tick()

    def on_bridge_stream_finished(self, event: StreamFinished) -> None:
        self.tracker.finished(event.conversation_id, event.message)
        self.refresh()

    def on_bridge_context_notice(self, conversation_id: str, text: str) -> None:
        """Say what context fitting did to the reply on screen (say, sent less history after "too long")."""
        if conversation_id == self._conversation_id:
            self.showMessage(text, NOTICE_MS)
