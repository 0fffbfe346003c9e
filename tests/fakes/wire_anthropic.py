"""Speak Anthropic's Messages protocol: the streaming event sequence, the ``message`` object, /v1/models.

A stream is ``message_start``, then per content block ``content_block_start`` / deltas /
``content_block_stop`` (a ``ping`` after the first block starts), then ``message_delta`` with the
stop reason and cumulative usage, then ``message_stop``. Reasoning is a ``thinking`` block (with a
``signature_delta`` before it closes) ahead of the ``text`` block. Tool calls are ``tool_use``
blocks after the text, their input streamed as ``input_json_delta`` pieces (the first one empty,
as the API sends it); requests are checked by ``wire_checks.check_anthropic``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .wire_base import Dialect, Encoder, Kind, Route, ScriptedCall, Usage, split_text, sse
from .wire_checks import check_anthropic
from .wire_http import RecordedRequest

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "refusal",
    "tool_calls": "tool_use",
}
SIGNATURE = "ZmFrZS1zaWduYXR1cmU="  # opaque to clients; real ones are longer base64 strings


def anthropic_usage(usage: Usage, output_tokens: int | None = None) -> dict[str, Any]:
    """Return a ``usage`` object; ``input_tokens`` excludes the cached and cache-creating tokens."""
    fields: dict[str, Any] = {
        "input_tokens": usage.input_tokens - usage.cached_input_tokens - usage.cache_creation_input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
        "output_tokens": usage.output_tokens if output_tokens is None else output_tokens,
    }
    if usage.reasoning_tokens and output_tokens is None:
        fields["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return fields


class AnthropicEncoder(Encoder):
    """Encode a turn as Messages stream events or one ``message`` object."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index = -1
        self._block: Kind | None = None

    def headers(self) -> dict[str, str]:
        """Return the ``request-id`` header Anthropic sends."""
        return {"request-id": f"req_{self.turn.id}"}

    def _message(self, content: list[dict[str, Any]], stop_reason: str | None) -> dict[str, Any]:
        return {
            "id": f"msg_{self.turn.id}",
            "type": "message",
            "role": "assistant",
            "model": self.turn.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
        }

    def opening(self) -> list[bytes]:
        """Return ``message_start`` (its usage counts the input; output is a placeholder, as live)."""
        message = self._message([], None)
        usage = self.turn.usage
        if usage is not None:
            message["usage"] = anthropic_usage(usage, output_tokens=min(1, usage.output_tokens))
        return [sse({"type": "message_start", "message": message}, "message_start")]

    def _switch_block(self, kind: Kind) -> list[bytes]:
        """Close the open block (if any) and open one of ``kind``."""
        events = self._close_block()
        self._index += 1
        self._block = kind
        if kind == "reasoning":
            block = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            block = {"type": "text", "text": ""}
        start = {"type": "content_block_start", "index": self._index, "content_block": block}
        events.append(sse(start, "content_block_start"))
        if self._index == 0:
            events.append(sse({"type": "ping"}, "ping"))
        return events

    def _close_block(self) -> list[bytes]:
        if self._block is None:
            return []
        events = []
        if self._block == "reasoning":
            delta = {"type": "signature_delta", "signature": SIGNATURE}
            events.append(self._delta_event(delta))
        events.append(sse({"type": "content_block_stop", "index": self._index}, "content_block_stop"))
        self._block = None
        return events

    def _delta_event(self, delta: dict[str, Any]) -> bytes:
        return sse(
            {"type": "content_block_delta", "index": self._index, "delta": delta}, "content_block_delta"
        )

    def delta(self, kind: Kind, text: str) -> list[bytes]:
        """Return a ``thinking_delta`` or ``text_delta``, opening its block first when needed."""
        events = self._switch_block(kind) if kind != self._block else []
        if kind == "reasoning":
            events.append(self._delta_event({"type": "thinking_delta", "thinking": text}))
        else:
            events.append(self._delta_event({"type": "text_delta", "text": text}))
        return events

    def _call_id(self, index: int, call: ScriptedCall) -> str:
        return call.id or f"toolu_{self.turn.id[:12]}{index}"

    def tool_calls(self) -> list[bytes]:
        """Return one ``tool_use`` block per call: start, ``input_json_delta`` pieces, stop."""
        events = []
        for number, call in enumerate(self.turn.reply.tool_calls):
            events += self._close_block()
            self._index += 1
            block = {"type": "tool_use", "id": self._call_id(number, call), "name": call.name, "input": {}}
            start = {"type": "content_block_start", "index": self._index, "content_block": block}
            events.append(sse(start, "content_block_start"))
            for piece in ["", *split_text(call.arguments, self.turn.reply.arguments_piece)]:
                events.append(self._delta_event({"type": "input_json_delta", "partial_json": piece}))
            events.append(sse({"type": "content_block_stop", "index": self._index}, "content_block_stop"))
        return events

    def closing(self) -> list[bytes]:
        """Close the last block (an empty text block if none was sent) and send ``message_delta``."""
        events = self._switch_block("text") if self._index < 0 else []
        events += self._close_block()
        stop_reason = STOP_REASONS.get(self.turn.reply.finish, self.turn.reply.finish)
        event: dict[str, Any] = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        }
        if self.turn.usage is not None:
            event["usage"] = anthropic_usage(self.turn.usage)
        events.append(sse(event, "message_delta"))
        return events

    def terminator(self) -> list[bytes]:
        """Return ``message_stop``."""
        return [sse({"type": "message_stop"}, "message_stop")]

    def ping(self) -> bytes:
        """Return Anthropic's ``ping`` event."""
        return sse({"type": "ping"}, "ping")

    def malformed(self) -> bytes:
        """Return a ``content_block_delta`` cut in the middle of its JSON."""
        return b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":\n\n'

    def error_event(self) -> bytes:
        """Return ``event: error`` (``overloaded_error`` unless the reply names another type)."""
        reply = self.turn.reply
        error = {"type": reply.error_type or "overloaded_error", "message": reply.error_message}
        return sse({"type": "error", "error": error}, "error")

    def complete(self) -> dict[str, Any]:
        """Return the ``message`` object: a thinking block (when reasoning), then the text block."""
        reply = self.turn.reply
        content: list[dict[str, Any]] = []
        if self.turn.reasoning_tokens:
            content.append({"type": "thinking", "thinking": reply.reasoning, "signature": SIGNATURE})
        if reply.text or not reply.tool_calls:
            content.append({"type": "text", "text": reply.text})
        for number, call in enumerate(reply.tool_calls):
            use = {"type": "tool_use", "id": self._call_id(number, call), "name": call.name}
            content.append({**use, "input": json.loads(call.arguments or "{}")})
        message = self._message(content, STOP_REASONS.get(reply.finish, reply.finish))
        if self.turn.usage is not None:
            message["usage"] = anthropic_usage(self.turn.usage)
        return message


class AnthropicDialect(Dialect):
    """Serve POST /v1/messages and GET /v1/models, keyed by ``x-api-key``, versioned by a header."""

    name = "anthropic"
    encoder = AnthropicEncoder

    def route(self, request: RecordedRequest) -> Route | None:
        """Match /v1/messages, and /v1/models when the request carries Anthropic's headers."""
        if request.method == "POST" and request.path == "/v1/messages":
            body = request.json if isinstance(request.json, dict) else {}
            return Route("chat", str(body.get("model", "")), bool(body.get("stream", False)))
        anthropic_headers = "anthropic-version" in request.headers or "x-api-key" in request.headers
        if request.method == "GET" and request.path == "/v1/models" and anthropic_headers:
            return Route("models")
        return None

    def api_key(self, request: RecordedRequest) -> str | None:
        """Return ``x-api-key``, else a bearer token (Anthropic's auth-token alternative)."""
        if "x-api-key" in request.headers:
            return request.headers["x-api-key"]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None

    def validate(self, request: RecordedRequest, route: Route) -> tuple[int, str, str | None] | None:
        """Refuse a request without ``anthropic-version`` or ``max_tokens``, or with bad blocks or tools."""
        if "anthropic-version" not in request.headers:
            return 400, "anthropic-version: header is required", None
        problem = super().validate(request, route)
        if problem is None and route.action == "chat" and "max_tokens" not in request.json:
            return 400, "max_tokens: Field required", None
        if problem is None and route.action == "chat":
            message = check_anthropic(request.json)
            if message:
                return 400, message, None
        return problem

    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        """Return ``{"type": "error", "error": {type, message}}`` with the type for the status."""
        kind = error_type or ERROR_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": message}}

    def list_models(self, models: list[str], page_size: int, query: Mapping[str, str]) -> dict[str, Any]:
        """Return one page, ``limit`` at most, after ``after_id`` or before ``before_id``."""
        limit = min(int(query.get("limit") or page_size), page_size)
        start, end = 0, len(models)
        if query.get("after_id") in models:
            start = models.index(query["after_id"]) + 1
        if query.get("before_id") in models:
            end = models.index(query["before_id"])
            start = max(start, end - limit)
        page = models[start : min(end, start + limit)]
        more = start + len(page) < end if "before_id" not in query else start > 0
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in page
        ]
        return {
            "data": data,
            "has_more": more,
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }
