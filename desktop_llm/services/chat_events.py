"""Define the typed events the chat service reports; the UI adapts them to signals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from desktop_llm.storage.records import StoredMessage


@dataclass(frozen=True)
class StreamStarted:
    """A reply began: the user's message (None for a regenerate) and the empty assistant message."""

    conversation_id: str
    user_message: StoredMessage | None
    message: StoredMessage


@dataclass(frozen=True)
class StreamDelta:
    """More reply text (and/or thinking) arrived for a streaming message."""

    conversation_id: str
    message_id: str
    text: str
    reasoning: str = ""


@dataclass(frozen=True)
class StreamRetrying:
    """The provider failed before any output; the request is sent again after ``delay`` seconds."""

    conversation_id: str
    message_id: str
    delay: float


@dataclass(frozen=True)
class StreamFinished:
    """A reply ended: ``message.status`` says how (complete, stopped, interrupted, error)."""

    conversation_id: str
    message: StoredMessage


@dataclass(frozen=True)
class TitleChanged:
    """A conversation got its automatic title."""

    conversation_id: str
    title: str


@dataclass(frozen=True)
class ContextNotice:
    """Something about the context window the person should know (shown in the status bar)."""

    conversation_id: str
    text: str


ChatEvent = StreamStarted | StreamDelta | StreamRetrying | StreamFinished | TitleChanged | ContextNotice
ChatListener = Callable[[ChatEvent], None]
