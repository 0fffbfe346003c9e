"""Speak the Gemini API: ``streamGenerateContent?alt=sse``, ``generateContent``, /v1beta/models.

Each SSE event is a whole ``GenerateContentResponse``; lines end in ``\\r\\n`` as Google's servers
send them. Reasoning goes out as parts with ``"thought": true``. Intermediate chunks carry a
partial ``usageMetadata`` (prompt only); the last chunk carries ``finishReason`` and the full usage.
There is no end-of-stream marker, so ``omit_terminator`` changes nothing here. As in proto3 JSON,
zero ``thoughtsTokenCount`` / ``cachedContentTokenCount`` are left out. Tool calls are
``functionCall`` parts, all in one chunk after the text (a scripted signature rides on its part as
``thoughtSignature``; the dialect remembers it); requests are checked by
``wire_checks.check_gemini``, which takes ``inline_data`` in either spelling, as Google does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .wire_base import Dialect, Encoder, Kind, Route, Turn, Usage, sse
from .wire_checks import call_key, check_gemini
from .wire_http import RecordedRequest

STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
CODES = {status: code for code, status in STATUSES.items()}
FINISH_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP"}
CHAT_PATH = re.compile(
    r"/v1(?:beta)?/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)"
)
CRLF = "\r\n"


def gemini_usage(usage: Usage) -> dict[str, Any]:
    """Return ``usageMetadata``: candidates exclude thoughts; the prompt count includes cached tokens."""
    fields: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input_tokens}],
    }
    if usage.reasoning_tokens:
        fields["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cached_input_tokens:
        fields["cachedContentTokenCount"] = usage.cached_input_tokens
    return fields


def gemini_error(code: int, message: str, status: str | None) -> dict[str, Any]:
    """Return Google's error object."""
    fallback = "INTERNAL" if code >= 500 else "INVALID_ARGUMENT"
    return {"error": {"code": code, "message": message, "status": status or STATUSES.get(code, fallback)}}


class GeminiEncoder(Encoder):
    """Encode a turn as ``GenerateContentResponse`` chunks or one whole response."""

    def __init__(self, turn: Turn, signatures: dict[str, str] | None = None) -> None:
        super().__init__(turn)
        self._signatures = signatures if signatures is not None else {}

    def _call_parts(self) -> list[dict[str, Any]]:
        """Return the functionCall parts, noting each signature for the requests that send it back."""
        parts = []
        for call in self.turn.reply.tool_calls:
            args = call.args_object()
            function_call: dict[str, Any] = {"name": call.name, "args": args}
            if call.id:
                function_call["id"] = call.id
            part: dict[str, Any] = {"functionCall": function_call}
            if call.signature:
                part["thoughtSignature"] = call.signature
                self._signatures[call_key(call.name, args)] = call.signature
            parts.append(part)
        return parts

    def _response(
        self, parts: list[dict[str, Any]], finish: str | None, usage: dict[str, Any] | None
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if finish is not None:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        body: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            body["usageMetadata"] = usage
        body["modelVersion"] = self.turn.model
        body["responseId"] = self.turn.id
        return body

    def _partial_usage(self) -> dict[str, Any] | None:
        usage = self.turn.usage
        if usage is None:
            return None
        return {"promptTokenCount": usage.input_tokens, "totalTokenCount": usage.input_tokens}

    def opening(self) -> list[bytes]:
        """Return nothing: the first chunk already carries content."""
        return []

    def delta(self, kind: Kind, text: str) -> list[bytes]:
        """Return a chunk with one text part (a thought part for reasoning)."""
        part = {"text": text, "thought": True} if kind == "reasoning" else {"text": text}
        return [sse(self._response([part], None, self._partial_usage()), newline=CRLF)]

    def tool_calls(self) -> list[bytes]:
        """Return one chunk with every functionCall part (Gemini sends calls whole)."""
        parts = self._call_parts()
        return [sse(self._response(parts, None, self._partial_usage()), newline=CRLF)] if parts else []

    def _finish(self) -> str:
        finish = self.turn.reply.finish
        return FINISH_REASONS.get(finish, finish.upper())

    def closing(self) -> list[bytes]:
        """Return the last chunk: an empty text part, ``finishReason`` and the full usage."""
        usage = gemini_usage(self.turn.usage) if self.turn.usage is not None else None
        return [sse(self._response([{"text": ""}], self._finish(), usage), newline=CRLF)]

    def terminator(self) -> list[bytes]:
        """Return nothing: a Gemini stream just ends."""
        return []

    def malformed(self) -> bytes:
        """Return a chunk cut in the middle of its JSON."""
        return b'data: {"candidates": [{"content": {"parts": [{"text": \r\n\r\n'

    def error_event(self) -> bytes:
        """Return ``data: {"error": ...}`` (500 INTERNAL unless the reply names another status)."""
        reply = self.turn.reply
        code = CODES.get(reply.error_type or "", 500)
        return sse(gemini_error(code, reply.error_message, reply.error_type), newline=CRLF)

    def complete(self) -> dict[str, Any]:
        """Return the whole ``GenerateContentResponse``: thought part (when reasoning), text part."""
        reply = self.turn.reply
        parts: list[dict[str, Any]] = []
        if self.turn.reasoning_tokens:
            parts.append({"text": reply.reasoning, "thought": True})
        if reply.text or not reply.tool_calls:
            parts.append({"text": reply.text})
        parts += self._call_parts()
        usage = gemini_usage(self.turn.usage) if self.turn.usage is not None else None
        return self._response(parts, self._finish(), usage)


class GeminiDialect(Dialect):
    """Serve POST /v1beta/models/{model}:(stream)generateContent and GET /v1beta/models.

    The same endpoints answer under /v1, which google-genai 3.x uses by default.
    """

    name = "gemini"
    encoder = GeminiEncoder

    def __init__(self) -> None:
        # The thoughtSignature of every call this server made, by ``call_key``.
        self.signatures: dict[str, str] = {}

    def route(self, request: RecordedRequest) -> Route | None:
        """Match the generate endpoints (the model comes from the path) and the model listing."""
        match = CHAT_PATH.fullmatch(request.path)
        if request.method == "POST" and match:
            return Route("chat", match["model"], match["method"] == "streamGenerateContent")
        # /v1/models is OpenAI's too: claim it only when it carries a Google key.
        keyed = "x-goog-api-key" in request.headers or "key" in request.query
        if request.method == "GET" and (
            request.path == "/v1beta/models" or (request.path == "/v1/models" and keyed)
        ):
            return Route("models")
        return None

    def api_key(self, request: RecordedRequest) -> str | None:
        """Return ``x-goog-api-key``, else the ``key`` query parameter."""
        return request.headers.get("x-goog-api-key") or request.query.get("key")

    def validate(self, request: RecordedRequest, route: Route) -> tuple[int, str, str | None] | None:
        """Refuse a stream without ``alt=sse`` (not implemented here), and bad parts, calls or responses."""
        if route.stream and request.query.get("alt") != "sse":
            return 400, "The fake server streams Gemini only with alt=sse.", None
        problem = super().validate(request, route)
        if problem is None and route.action == "chat":
            message = check_gemini(request.json, self.signatures)
            if message:
                return 400, message, None
        return problem

    def make_encoder(self, request: RecordedRequest, turn: Turn) -> Encoder:
        """Return an encoder that records the signatures it hands out."""
        return GeminiEncoder(turn, self.signatures)

    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        """Return ``{"error": {code, message, status}}``; ``error_type`` overrides the status name."""
        return gemini_error(status, message, error_type)

    def list_models(self, models: list[str], page_size: int, query: Mapping[str, str]) -> dict[str, Any]:
        """Return one page of ``pageSize`` at most, from ``pageToken``; ``nextPageToken`` if more."""
        size = min(int(query.get("pageSize") or page_size), page_size)
        token = query.get("pageToken", "")
        start = int(token[len("page-") :]) if re.fullmatch(r"page-\d+", token) else 0
        page = models[start : start + size]
        body: dict[str, Any] = {"models": [_model(name) for name in page]}
        if start + size < len(models):
            body["nextPageToken"] = f"page-{start + size}"
        return body


def _model(name: str) -> dict[str, Any]:
    short = name.removeprefix("models/")
    return {
        "name": f"models/{short}",
        "version": "001",
        "displayName": short,
        "description": "A model of the fake provider server.",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 8192,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }
