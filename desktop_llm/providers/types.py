"""Define the provider contract's plain data types: configuration, requests, stream events, results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

KINDS = ("openai", "anthropic", "gemini", "ollama", "openai-compatible")

Role = Literal["system", "user", "assistant", "tool"]

# Five minutes: longer than any real model thinks aloud before its first word.
DEFAULT_CONTENT_TIMEOUT = 300.0


@dataclass(frozen=True, eq=True)
class ProviderConfig:
    """How to reach one provider at run time: the stored setting joined with its key.

    Args:
        kind: one of ``KINDS``; anything else raises ``ValueError``.
        api_key: the secret; never shown by ``repr`` or in any error text. Printable ASCII
            without spaces (``key_problem``), else ``ValueError``.
        base_url: None for the official endpoint.
        name: a display name.
        preset: for ``openai-compatible``, a known server ("lmstudio", "groq", ...).
        connect_timeout: seconds to establish a connection.
        read_timeout: the longest silence between bytes before ``ProviderTimeout``.
        content_timeout: the longest a reply may go without content before ``ProviderTimeout``;
            keep-alive pings and comments do not count as content, so they cannot hold a reply
            open forever.
        proxy: an HTTP(S) proxy URL, or None.
        headers: extra request headers (printable ASCII, else ``ValueError``).
    """

    kind: str
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    name: str = ""
    preset: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    content_timeout: float = DEFAULT_CONTENT_TIMEOUT
    proxy: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __init__(
        self,
        kind: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        name: str = "",
        preset: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        content_timeout: float = DEFAULT_CONTENT_TIMEOUT,
        proxy: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"Unknown provider kind {kind!r}; expected one of {', '.join(KINDS)}.")
        if connect_timeout <= 0 or read_timeout <= 0 or content_timeout <= 0:
            raise ValueError("Timeouts must be positive numbers of seconds.")
        problem = (key_problem(api_key) if api_key else None) or _header_problem(headers or {})
        if problem is not None:
            raise ValueError(problem)
        values = {
            "kind": kind,
            "api_key": api_key or None,
            "base_url": base_url.rstrip("/") if base_url else None,
            "name": name,
            "preset": preset,
            "connect_timeout": float(connect_timeout),
            "read_timeout": float(read_timeout),
            "content_timeout": float(content_timeout),
            "proxy": proxy or None,
            "headers": dict(headers or {}),
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    __hash__ = None  # type: ignore[assignment]  # headers is a dict


def key_problem(key: str) -> str | None:
    """Return why ``key`` cannot be sent in an HTTP header, or None; the reason never quotes the key.

    Keys are printable ASCII without spaces. Anything else is a copy-and-paste accident (a line
    break, a curly quote, an invisible space) that HTTP cannot carry or that would leak into
    error messages in a form redaction does not recognise.
    """
    for position, char in enumerate(key, 1):
        if "!" <= char <= "~":
            continue
        if char == " ":
            what = "a space"
        elif char.isascii():
            what = "a control character (such as a line break or a tab)"
        else:
            what = "a non-ASCII character (such as an accented letter, a curly quote or an invisible space)"
        return (
            f"The API key contains {what} at position {position}. API keys are printable ASCII:"
            " paste the key again, exactly as the provider shows it."
        )
    return None


def _header_problem(headers: Mapping[str, str]) -> str | None:
    # Names only in the message: a header's value may be a secret.
    for name, value in headers.items():
        if not name or not all("!" <= char <= "~" and char != ":" for char in name):
            return "A header name may only contain printable ASCII characters, without spaces or colons."
        if not all(" " <= char <= "~" for char in value):
            return f"The value of the header {name!r} may only contain printable ASCII characters."
    return None


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: raw bytes, never base64 (the provider encodes).

    Args:
        name: the file's name as the person knows it ("photo.png").
        media_type: its MIME type ("image/png", "application/pdf", "text/csv").
        data: the file's bytes.
    """

    name: str
    media_type: str
    data: bytes = field(repr=False)

    def __repr__(self) -> str:
        return f"Attachment(name={self.name!r}, media_type={self.media_type!r}, size={len(self.data)})"


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model.

    Args:
        name: the name the model calls it by (within every provider's name rules).
        description: what it does, for the model.
        parameters: a JSON Schema object describing its arguments.
    """

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for.

    Args:
        id: the provider's id for the call, else a made-up one ("call_<n>"), unique in the reply.
        name: the tool's name.
        arguments: the arguments' JSON text, whole, exactly as the model gave it (it may be invalid).
        provider_data: opaque data the provider needs back with the call (Gemini's thoughtSignature).
    """

    id: str
    name: str
    arguments: str = "{}"
    provider_data: Any = None


@dataclass(frozen=True)
class Message:
    """One chat message as sent to a provider.

    Args:
        role: "system", "user", "assistant", or "tool" (one tool result).
        content: the text.
        attachments: files sent with the message, in the order the person gave them.
        tool_calls: on an assistant message, the calls the model made.
        tool_call_id: on a tool message, the call it answers.
        name: on a tool message, the tool's name.
    """

    role: Role
    content: str
    attachments: tuple[Attachment, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ChatRequest:
    """One request for a reply; ``tools=()`` sends no tools."""

    model: str
    messages: list[Message] | tuple[Message, ...]
    temperature: float | None = None
    max_tokens: int | None = None
    tools: tuple[ToolSpec, ...] = ()


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply's text."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the model's thinking, where the provider sends it; never part of the text."""

    text: str


@dataclass(frozen=True)
class Usage:
    """The request's token totals as the provider reported them.

    ``input_tokens`` counts every input token, cached or not; ``cached_input_tokens`` those
    read from a cache; ``output_tokens`` includes ``reasoning_tokens``.
    """

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Finish:
    """The last event of every stream.

    ``reason`` is "stop", "length", "content_filter", "tool_calls" or the provider's own word.
    """

    reason: str


StreamEvent = TextDelta | ReasoningDelta | ToolCall | Usage | Finish


@dataclass(frozen=True)
class ChatResult:
    """A whole reply, as ``Provider.complete`` returns it."""

    text: str
    usage: Usage | None
    finish_reason: str
    model: str
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """A model a provider offers; ``id`` is the name used in requests."""

    id: str
    display_name: str = ""
    owned_by: str = ""
    context_window: int | None = None
