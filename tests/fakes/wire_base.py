"""Describe a scripted reply and the interface each provider protocol implements to send it.

``Reply`` is what a test scripts; ``Turn`` is one chat request being answered (the reply, the
model to report, the usage to report); a ``Dialect`` knows one provider's endpoints, auth and
error shape; an ``Encoder`` turns one turn into that provider's stream events or full body.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Literal

from .wire_http import RecordedRequest

TOKEN_RE: Final = re.compile(r"\s*\S+|\s+")

USAGE_FIELDS: Final = frozenset(
    {
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "reasoning_tokens",
        "cache_creation_input_tokens",
    }
)

Kind = Literal["reasoning", "text"]


class _Default:
    """The type of ``DEFAULT``: usage computed from the request and the tokens sent."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()


@dataclass(frozen=True)
class ScriptedCall:
    """One tool call a scripted reply makes.

    Args:
        name: the tool's name.
        arguments: the arguments' JSON text as the model "writes" it (OpenAI and Anthropic may carry
            invalid JSON; Gemini and Ollama send an object, so it must parse there).
        id: the call's id; None lets each protocol make its own (Gemini and Ollama then send none).
        signature: Gemini's ``thoughtSignature`` for the part (base64); the server remembers it and
            refuses a later request that sends this call back without it.
    """

    name: str
    arguments: str = "{}"
    id: str | None = None
    signature: str | None = None

    def args_object(self) -> dict[str, Any]:
        """Return the arguments as an object, for protocols that send one."""
        value = json.loads(self.arguments or "{}")
        if not isinstance(value, dict):
            raise ValueError(f"{self.name}: Gemini and Ollama send arguments as an object")
        return value


def split_text(text: str, size: int | None) -> list[str]:
    """Cut ``text`` into pieces of ``size`` characters (one piece when None; none when empty)."""
    if not text:
        return []
    if not size:
        return [text]
    return [text[start : start + size] for start in range(0, len(text), size)]


def split_tokens(text: str) -> list[str]:
    """Split text into the fake server's tokens: a word with the whitespace before it."""
    return TOKEN_RE.findall(text)


@dataclass
class Reply:
    """Script one answer to a chat request, in whichever protocol the request speaks.

    Args:
        text: the reply, split into tokens (``TOKEN_RE``: a word with the whitespace before it).
        reasoning: thinking text, sent before the text in the protocol's own way.
        tokens_per_event: how many tokens each stream event carries.
        delay: seconds to wait before each token event and before the finish.
        write_size: cut every body into TCP writes (HTTP chunks) of this many bytes.
        usage: ``DEFAULT`` computes it (input = words of the prompt, output = tokens sent, reasoning
            included); a dict sets ``input_tokens``, ``output_tokens``, ``cached_input_tokens``,
            ``reasoning_tokens`` and (Anthropic only) ``cache_creation_input_tokens`` in the provider
            contract's terms (input includes cached, output includes reasoning); None sends none.
        finish: "stop", "length", "content_filter", "tool_calls" (mapped to each protocol's word),
            or any other word, sent as it is.
        model: the model name to report (default: the requested one).
        status: not 200: answer with this status and the protocol's error body.
        error_message: the message inside an error body or error event.
        error_type: OpenAI's ``code``, Anthropic's error ``type``, Gemini's ``status``.
        headers: extra response headers (``retry-after``, ``x-should-retry``, ...).
        drop_after: after this many tokens, abort the TCP connection (a non-streaming body is
            cut half-way).
        malformed_after: after this many tokens, send an event with broken JSON and end the body
            (a non-streaming body is cut in half).
        error_event_after: after this many tokens, send the protocol's mid-stream error and end.
        silence_before: seconds of silence after the headers (before a non-streaming answer).
        silence_after: after this many tokens, go silent for ``silence_seconds``.
        omit_terminator: leave out ``data: [DONE]`` / ``message_stop`` (Gemini and Ollama have no
            separate marker: their last event carries the finish reason, so nothing changes).
        tool_calls: calls the model makes after its text (in parallel when more than one); with
            calls, a "stop" finish becomes "tool_calls" (each protocol's word for it).
        arguments_piece: characters of arguments per delta event (OpenAI, Anthropic); None: whole.
        drop_after_tool_events: abort the connection after this many tool-call events.
        after_terminator: bytes sent after the terminator (junk a client must ignore).
        hold_open: after the stream (or ``raw_body``), keep the response open, without its end,
            until the client leaves.
        ping_every: after the opening events, send the protocol's keep-alive (an SSE comment,
            Anthropic's ``ping`` event, a blank NDJSON line) every this many seconds, forever.
        whole_json: answer a streaming request with the non-streamed JSON body, as some proxies do.
        raw_body: send these bytes as the body (with ``status`` and ``content_type``) instead of
            anything the protocol would say: hostile or broken answers, error bodies, events.
        raw_repeat: send ``raw_body`` this many times (chunked), for bodies too big to hold.
        content_type: the ``content-type`` of ``raw_body`` (default ``application/json``).

    Token counts of the faults count reasoning tokens first, then text tokens; a count past the
    end fires just before the finish reason.
    """

    text: str = "Hello from the fake server."
    reasoning: str = ""
    tokens_per_event: int = 1
    delay: float = 0.0
    write_size: int | None = None
    usage: dict[str, int] | _Default | None = DEFAULT
    finish: str = "stop"
    model: str | None = None
    status: int = 200
    error_message: str = "scripted error"
    error_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop_after: int | None = None
    malformed_after: int | None = None
    error_event_after: int | None = None
    silence_before: float = 0.0
    silence_after: int | None = None
    silence_seconds: float = 0.0
    omit_terminator: bool = False
    tool_calls: list[ScriptedCall] = field(default_factory=list)
    arguments_piece: int | None = None
    drop_after_tool_events: int | None = None
    after_terminator: bytes = b""
    hold_open: bool = False
    ping_every: float | None = None
    whole_json: bool = False
    raw_body: bytes | None = None
    raw_repeat: int = 1
    content_type: str | None = None

    def __post_init__(self) -> None:
        if self.tool_calls and self.finish == "stop":
            self.finish = "tool_calls"
        if self.tokens_per_event < 1:
            raise ValueError("tokens_per_event must be at least 1")
        if self.write_size is not None and self.write_size < 1:
            raise ValueError("write_size must be at least 1 byte")
        if isinstance(self.usage, dict) and not set(self.usage) <= USAGE_FIELDS:
            raise ValueError(f"unknown usage fields {sorted(set(self.usage) - USAGE_FIELDS)}")


@dataclass(frozen=True)
class Usage:
    """Token counts in the provider contract's terms (input includes cached; output includes reasoning)."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_input_tokens: int = 0


def count_prompt_words(body: Any) -> int:
    """Count the words of every prompt text in a request body, whatever the protocol's shape."""
    if isinstance(body, dict):
        total = 0
        for key, value in body.items():
            if isinstance(value, str):
                total += len(value.split()) if key in ("content", "text", "system") else 0
            else:
                total += count_prompt_words(value)
        return total
    if isinstance(body, list):
        return sum(count_prompt_words(item) for item in body)
    return 0


@dataclass
class Turn:
    """One chat request being answered: the script, the model to report and the usage to report."""

    reply: Reply
    model: str
    usage: Usage | None
    reasoning_tokens: list[str]
    text_tokens: list[str]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))

    @classmethod
    def build(cls, reply: Reply, requested_model: str, body: Any) -> Turn:
        """Resolve a reply against the request: model name, tokens and usage."""
        reasoning = split_tokens(reply.reasoning)
        text = split_tokens(reply.text)
        usage: Usage | None
        if isinstance(reply.usage, _Default):
            usage = Usage(
                input_tokens=count_prompt_words(body),
                output_tokens=len(reasoning) + len(text),
                reasoning_tokens=len(reasoning),
            )
        elif reply.usage is None:
            usage = None
        else:
            usage = Usage(**{name: int(value) for name, value in reply.usage.items()})
        return cls(reply, reply.model or requested_model, usage, reasoning, text)


def sse(data: Mapping[str, Any] | str, event: str | None = None, newline: str = "\n") -> bytes:
    """Encode one server-sent event (``data`` as compact JSON unless it is already a string)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}{newline}" if event else ""
    return f"{head}data: {payload}{newline}{newline}".encode()


def json_bytes(data: Any) -> bytes:
    """Encode a JSON body."""
    return json.dumps(data, separators=(",", ":")).encode()


class Encoder(ABC):
    """Turn one ``Turn`` into a provider's stream events (bytes) or its full response body."""

    content_type: ClassVar[str] = "text/event-stream; charset=utf-8"

    def __init__(self, turn: Turn) -> None:
        self.turn = turn

    def headers(self) -> dict[str, str]:
        """Return the provider's own response headers (request ids and the like)."""
        return {}

    @abstractmethod
    def opening(self) -> list[bytes]:
        """Return the events before the first token (message start, role chunk, ...)."""

    @abstractmethod
    def delta(self, kind: Kind, text: str) -> list[bytes]:
        """Return the events carrying one piece of reasoning or text (block changes included)."""

    @abstractmethod
    def tool_calls(self) -> list[bytes]:
        """Return the events carrying the reply's tool calls (after its text)."""

    @abstractmethod
    def closing(self) -> list[bytes]:
        """Return the events that carry the finish reason and usage."""

    @abstractmethod
    def terminator(self) -> list[bytes]:
        """Return the end-of-stream marker (``[DONE]``, ``message_stop``, the done line)."""

    @abstractmethod
    def malformed(self) -> bytes:
        """Return an event whose JSON is broken."""

    def ping(self) -> bytes:
        """Return the protocol's keep-alive (an SSE comment unless the protocol has its own)."""
        return b": ping\n\n"

    @abstractmethod
    def error_event(self) -> bytes:
        """Return the protocol's mid-stream error event."""

    @abstractmethod
    def complete(self) -> dict[str, Any]:
        """Return the non-streaming response body."""


@dataclass(frozen=True)
class Route:
    """What a request asks of a dialect: a chat turn or a model listing."""

    action: Literal["chat", "models"]
    model: str = ""
    stream: bool = False


class Dialect(ABC):
    """One provider's endpoints, authentication, validation, error shape and model listing."""

    name: ClassVar[str]
    encoder: ClassVar[type[Encoder]]

    @abstractmethod
    def route(self, request: RecordedRequest) -> Route | None:
        """Return what the request asks for, or None when it is not this dialect's endpoint."""

    @abstractmethod
    def api_key(self, request: RecordedRequest) -> str | None:
        """Return the key the request carries, where this provider expects it."""

    def validate(self, request: RecordedRequest, route: Route) -> tuple[int, str, str | None] | None:
        """Return (status, message, error type) when the provider would refuse the request."""
        if route.action == "chat" and not isinstance(request.json, dict):
            return 400, "The request body is not valid JSON.", None
        return None

    def make_encoder(self, request: RecordedRequest, turn: Turn) -> Encoder:
        """Return the encoder for one turn of this request."""
        return self.encoder(turn)

    @abstractmethod
    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        """Return the provider's error body for a status."""

    @abstractmethod
    def list_models(self, models: list[str], page_size: int, query: Mapping[str, str]) -> dict[str, Any]:
        """Return one page of the model listing."""
