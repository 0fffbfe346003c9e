"""Adapt the chat service's events to Qt signals, and name the failures a person is shown.

The chat service reports to one plain callable; :class:`ChatBridge` is that callable and turns
each typed event into a typed Qt signal, so widgets connect to what they need and nothing in
``services/`` knows about Qt. ``KNOWN_ERRORS`` are the failures whose message is written for a
person (``ui.common.tasks.TaskKeeper`` shows them; anything else is a bug, a crash report).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from desktop_llm.providers import ProviderError
from desktop_llm.secrets import SecretsError
from desktop_llm.services.attachment_prep import AttachmentError, AttachmentRefused
from desktop_llm.services.chat import ChatBusy, NoModelChosen
from desktop_llm.services.chat_events import (
    ChatEvent,
    ContextNotice,
    StreamDelta,
    StreamFinished,
    StreamRetrying,
    StreamStarted,
    TitleChanged,
    ToolApprovalNeeded,
    ToolCallDone,
    ToolCallRunning,
    ToolNotice,
    ToolRoundSaved,
)
from desktop_llm.services.provider_directory import UnknownProvider
from desktop_llm.services.remote_batches import BatchStillSubmitting
from desktop_llm.storage.errors import StorageError

# Failures whose message is written for a person: shown as they are, never as a crash report.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    ProviderError,
    StorageError,
    SecretsError,
    ChatBusy,
    NoModelChosen,
    UnknownProvider,
    AttachmentError,
    AttachmentRefused,
    BatchStillSubmitting,
)


class ChatBridge(QObject):
    """Turn ``ChatEvent`` objects into Qt signals; pass an instance as the chat service's listener.

    The service calls the listener on the event loop's thread, which under qasync is the Qt
    thread, so the signals are emitted directly.

    Signals:
        stream_started(object): a ``StreamStarted`` (user message, empty assistant message).
        stream_delta(str, str, str, str): conversation id, message id, text, reasoning.
        stream_retrying(str, str, float): conversation id, message id, seconds until the retry.
        stream_finished(object): a ``StreamFinished`` with the saved message.
        title_changed(str, str): conversation id, new title.
        context_notice(str, str): conversation id, a sentence for the status bar.
        tool_approval_needed(object): a ``ToolApprovalNeeded``: ask the person.
        tool_call_running(object): a ``ToolCallRunning``.
        tool_round_saved(object): a ``ToolRoundSaved`` (the reply goes on).
        tool_call_done(object): a ``ToolCallDone`` with the saved tool message.
        tool_notice(str, str): conversation id, a sentence about the reply's tools.
    """

    stream_started = Signal(object)
    stream_delta = Signal(str, str, str, str)
    stream_retrying = Signal(str, str, float)
    stream_finished = Signal(object)
    title_changed = Signal(str, str)
    context_notice = Signal(str, str)
    tool_approval_needed = Signal(object)
    tool_call_running = Signal(object)
    tool_round_saved = Signal(object)
    tool_call_done = Signal(object)
    tool_notice = Signal(str, str)

    def __call__(self, event: ChatEvent) -> None:
        """Emit the signal for ``event``."""
        if isinstance(event, StreamDelta):
            self.stream_delta.emit(event.conversation_id, event.message_id, event.text, event.reasoning)
        elif isinstance(event, StreamStarted):
            self.stream_started.emit(event)
        elif isinstance(event, StreamFinished):
            self.stream_finished.emit(event)
        elif isinstance(event, StreamRetrying):
            self.stream_retrying.emit(event.conversation_id, event.message_id, event.delay)
        elif isinstance(event, TitleChanged):
            self.title_changed.emit(event.conversation_id, event.title)
        elif isinstance(event, ContextNotice):
            self.context_notice.emit(event.conversation_id, event.text)
        elif isinstance(event, ToolApprovalNeeded):
            self.tool_approval_needed.emit(event)
        elif isinstance(event, ToolCallRunning):
            self.tool_call_running.emit(event)
        elif isinstance(event, ToolRoundSaved):
            self.tool_round_saved.emit(event)
        elif isinstance(event, ToolCallDone):
            self.tool_call_done.emit(event)
        elif isinstance(event, ToolNotice):
            self.tool_notice.emit(event.conversation_id, event.text)
