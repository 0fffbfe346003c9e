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


@dataclass(frozen=True)
class ToolApprovalNeeded:
    """The model asked to run a tool in a live reply; the person must allow or deny it.

    Answer with ``ChatService.answer_tool_call(call_id, approval)``; Stop cancels the question.

    Args:
        message_id: the assistant message that made the call.
        call_id: the model's id for the call.
        tool, server: the server's tool the call leads to.
        arguments: the call's arguments as pretty-printed JSON.
    """

    conversation_id: str
    message_id: str
    call_id: str
    tool: str
    server: str
    arguments: str


@dataclass(frozen=True)
class ToolCallRunning:
    """An allowed call is running on its server (its result follows as ``ToolCallDone``)."""

    conversation_id: str
    call_id: str
    tool: str
    server: str


@dataclass(frozen=True)
class ToolRoundSaved:
    """A round of the reply ended with tool calls; ``message`` is its saved assistant message.

    The reply goes on (``StreamFinished`` comes only at its very end): results, then a new round.
    """

    conversation_id: str
    message: StoredMessage


@dataclass(frozen=True)
class ToolCallDone:
    """A call's result (or its refusal) was saved as the ``tool`` message ``message``."""

    conversation_id: str
    message: StoredMessage


@dataclass(frozen=True)
class ToolNotice:
    """Something about the reply's tools the person should know (a server that did not start)."""

    conversation_id: str
    text: str


ChatEvent = (
    StreamStarted
    | StreamDelta
    | StreamRetrying
    | StreamFinished
    | TitleChanged
    | ContextNotice
    | ToolApprovalNeeded
    | ToolCallRunning
    | ToolRoundSaved
    | ToolCallDone
    | ToolNotice
)
ChatListener = Callable[[ChatEvent], None]
