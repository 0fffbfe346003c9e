"""Speak Ollama's native API: /api/chat as NDJSON (``stream`` defaults to true) and /api/tags.

Each line is a ``ChatResponse``; reasoning goes out in ``message.thinking``. The last line has
``done: true``, ``done_reason`` and the counts (``prompt_eval_count``, ``eval_count``). That line
is both the finish reason and the end of the stream, so ``omit_terminator`` changes nothing here:
leaving it out would also leave out the finish reason. Tool calls arrive whole in one line's
``message.tool_calls`` (arguments as an object, no ids), and the done reason stays "stop", as
Ollama sends them; requests are checked by ``wire_checks.check_ollama``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .wire_base import Dialect, Encoder, Kind, Route, json_bytes
from .wire_checks import check_ollama
from .wire_http import RecordedRequest

# Durations (nanoseconds) in the done line: plausible, fixed, never asserted on.
_DURATIONS = {"total_duration": 5_000_000, "load_duration": 1_000_000, "prompt_eval_duration": 1_000_000}


def _line(data: Mapping[str, Any]) -> bytes:
    return json_bytes(data) + b"\n"


class OllamaEncoder(Encoder):
    """Encode a turn as NDJSON ``ChatResponse`` lines or one JSON object."""

    content_type = "application/x-ndjson"

    def _response(self, message: dict[str, Any], done: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.turn.model,
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "message": {"role": "assistant", **message},
            "done": done,
        }
        if done:
            finish = self.turn.reply.finish
            body["done_reason"] = "stop" if finish == "tool_calls" else finish
            body.update(_DURATIONS)
            usage = self.turn.usage
            if usage is not None:
                body["prompt_eval_count"] = usage.input_tokens
                body["eval_count"] = usage.output_tokens
                body["eval_duration"] = 3_000_000
        return body

    def opening(self) -> list[bytes]:
        """Return nothing: the first line already carries content."""
        return []

    def delta(self, kind: Kind, text: str) -> list[bytes]:
        """Return a line with ``message.content`` (or ``message.thinking`` for reasoning)."""
        message = {"content": "", "thinking": text} if kind == "reasoning" else {"content": text}
        return [_line(self._response(message, done=False))]

    def _calls(self) -> list[dict[str, Any]]:
        return [
            {"function": {"name": call.name, "arguments": call.args_object()}}
            for call in self.turn.reply.tool_calls
        ]

    def tool_calls(self) -> list[bytes]:
        """Return one line with every call in ``message.tool_calls``."""
        calls = self._calls()
        return [_line(self._response({"content": "", "tool_calls": calls}, done=False))] if calls else []

    def closing(self) -> list[bytes]:
        """Return the done line: ``done_reason`` and the counts."""
        return [_line(self._response({"content": ""}, done=True))]

    def terminator(self) -> list[bytes]:
        """Return nothing: the done line ends the stream."""
        return []

    def ping(self) -> bytes:
        """Return a blank line: NDJSON has no comments, and readers skip blank lines."""
        return b"\n"

    def malformed(self) -> bytes:
        """Return a line cut in the middle of its JSON."""
        return b'{"model":"broken","message":{"role":"assistant","content":\n'

    def error_event(self) -> bytes:
        """Return an ``{"error": ...}`` line."""
        return _line({"error": self.turn.reply.error_message})

    def complete(self) -> dict[str, Any]:
        """Return the single ``done: true`` object with the whole message."""
        message: dict[str, Any] = {"content": self.turn.reply.text}
        if self.turn.reasoning_tokens:
            message["thinking"] = self.turn.reply.reasoning
        if self.turn.reply.tool_calls:
            message["tool_calls"] = self._calls()
        return self._response(message, done=True)


class OllamaDialect(Dialect):
    """Serve POST /api/chat and GET /api/tags; a key, when set, is a bearer token (as behind a proxy)."""

    name = "ollama"
    encoder = OllamaEncoder

    def route(self, request: RecordedRequest) -> Route | None:
        """Match /api/chat (streaming unless ``"stream": false``) and /api/tags."""
        if request.method == "POST" and request.path == "/api/chat":
            body = request.json if isinstance(request.json, dict) else {}
            return Route("chat", str(body.get("model", "")), body.get("stream", True) is not False)
        if request.method == "GET" and request.path == "/api/tags":
            return Route("models")
        return None

    def api_key(self, request: RecordedRequest) -> str | None:
        """Return the bearer token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None

    def validate(self, request: RecordedRequest, route: Route) -> tuple[int, str, str | None] | None:
        """Refuse a chat without a model, bad images or calls, as Ollama does."""
        problem = super().validate(request, route)
        if problem is None and route.action == "chat" and not route.model:
            return 400, "model is required", None
        if problem is None and route.action == "chat":
            message = check_ollama(request.json)
            if message:
                return 400, message, None
        return problem

    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        """Return ``{"error": message}``."""
        return {"error": message}

    def list_models(self, models: list[str], page_size: int, query: Mapping[str, str]) -> dict[str, Any]:
        """Return every model at once: /api/tags is not paginated."""
        return {"models": [_tag(name) for name in models]}


def _tag(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 1_000_000,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "fake",
            "families": ["fake"],
            "parameter_size": "1B",
            "quantization_level": "Q4_0",
        },
    }
