"""Speak OpenAI's Chat Completions protocol: ``chat.completion.chunk`` SSE, ``chat.completion``, /v1/models.

Reasoning goes out as ``reasoning_content`` deltas, as DeepSeek, vLLM and other
OpenAI-compatible servers send it. Tool calls go out as OpenAI streams them: per call, a first
``delta.tool_calls`` piece with ``index``, ``id``, ``type`` and the name, then the arguments in
pieces carrying only ``index``; requests are checked by ``wire_checks.check_openai``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .wire_base import Dialect, Encoder, Kind, Route, ScriptedCall, Turn, Usage, split_text, sse
from .wire_checks import check_openai
from .wire_http import RecordedRequest

_ERROR_TYPES = {401: "invalid_request_error", 403: "permission_error", 429: "requests"}
_ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


def openai_usage(usage: Usage) -> dict[str, Any]:
    """Return the ``usage`` object of a completion."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_error(message: str, error_type: str, code: str | None) -> dict[str, Any]:
    """Return OpenAI's error object."""
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


class OpenAIEncoder(Encoder):
    """Encode a turn as ``chat.completion.chunk`` events or one ``chat.completion``."""

    include_usage = False  # set from the request's stream_options.include_usage

    def headers(self) -> dict[str, str]:
        """Return the request id header OpenAI sends."""
        return {"x-request-id": f"req_{self.turn.id}"}

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        chunk = {
            "id": f"chatcmpl-{self.turn.id}",
            "object": "chat.completion.chunk",
            "created": self.turn.created,
            "model": self.turn.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            **extra,
        }
        if self.include_usage and "usage" not in chunk:
            chunk["usage"] = None  # with include_usage every chunk carries the field
        return chunk

    def _choice(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    def opening(self) -> list[bytes]:
        """Return the role chunk."""
        return [sse(self._chunk([self._choice({"role": "assistant", "content": "", "refusal": None})]))]

    def delta(self, kind: Kind, text: str) -> list[bytes]:
        """Return a content or ``reasoning_content`` delta chunk."""
        field = "reasoning_content" if kind == "reasoning" else "content"
        return [sse(self._chunk([self._choice({field: text})]))]

    def _call_id(self, index: int, call: ScriptedCall) -> str:
        return call.id or f"call_{self.turn.id[:12]}{index}"

    def tool_calls(self) -> list[bytes]:
        """Return each call's first piece (id, name) and its argument pieces, keyed by ``index``."""
        events = []
        for index, call in enumerate(self.turn.reply.tool_calls):
            first = {
                "index": index,
                "id": self._call_id(index, call),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            events.append(sse(self._chunk([self._choice({"tool_calls": [first]})])))
            for piece in split_text(call.arguments, self.turn.reply.arguments_piece):
                delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                events.append(sse(self._chunk([self._choice(delta)])))
        return events

    def closing(self) -> list[bytes]:
        """Return the finish chunk and, when asked for and known, the usage chunk."""
        events = [sse(self._chunk([self._choice({}, self.turn.reply.finish)]))]
        if self.include_usage and self.turn.usage is not None:
            events.append(sse(self._chunk([], usage=openai_usage(self.turn.usage))))
        return events

    def terminator(self) -> list[bytes]:
        """Return ``data: [DONE]``."""
        return [sse("[DONE]")]

    def malformed(self) -> bytes:
        """Return a chunk cut in the middle of its JSON."""
        return b'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":\n\n'

    def error_event(self) -> bytes:
        """Return the ``data: {"error": ...}`` event OpenAI sends when a stream fails."""
        reply = self.turn.reply
        return sse(openai_error(reply.error_message, "server_error", reply.error_type))

    def complete(self) -> dict[str, Any]:
        """Return the ``chat.completion`` object."""
        turn = self.turn
        message: dict[str, Any] = {"role": "assistant", "content": turn.reply.text, "refusal": None}
        if turn.reasoning_tokens:
            message["reasoning_content"] = turn.reply.reasoning
        if turn.reply.tool_calls:
            message["content"] = turn.reply.text or None
            message["tool_calls"] = [
                {
                    "id": self._call_id(index, call),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for index, call in enumerate(turn.reply.tool_calls)
            ]
        body: dict[str, Any] = {
            "id": f"chatcmpl-{turn.id}",
            "object": "chat.completion",
            "created": turn.created,
            "model": turn.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": turn.reply.finish}
            ],
            "service_tier": "default",
        }
        if turn.usage is not None:
            body["usage"] = openai_usage(turn.usage)
        return body


class OpenAIDialect(Dialect):
    """Serve POST /v1/chat/completions and GET /v1/models, keyed by ``Authorization: Bearer``."""

    name = "openai"
    encoder = OpenAIEncoder

    def route(self, request: RecordedRequest) -> Route | None:
        """Match the chat and model-listing endpoints (Anthropic shares /v1/models: see the server)."""
        if request.method == "POST" and request.path == "/v1/chat/completions":
            body = request.json if isinstance(request.json, dict) else {}
            return Route("chat", str(body.get("model", "")), bool(body.get("stream", False)))
        if request.method == "GET" and request.path == "/v1/models":
            return Route("models")
        return None

    def api_key(self, request: RecordedRequest) -> str | None:
        """Return the bearer token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None

    def validate(self, request: RecordedRequest, route: Route) -> tuple[int, str, str | None] | None:
        """Refuse bad content parts, tools and tool messages as OpenAI does."""
        problem = super().validate(request, route)
        if problem is None and route.action == "chat":
            message = check_openai(request.json)
            if message:
                return 400, message, None
        return problem

    def make_encoder(self, request: RecordedRequest, turn: Turn) -> Encoder:
        """Return an encoder that honours the request's ``stream_options.include_usage``."""
        encoder = OpenAIEncoder(turn)
        options = request.json.get("stream_options") if isinstance(request.json, dict) else None
        encoder.include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        return encoder

    def error_body(self, status: int, message: str, error_type: str | None) -> dict[str, Any]:
        """Return ``{"error": {message, type, param, code}}``; ``error_type`` is the code."""
        kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return openai_error(message, kind, error_type or _ERROR_CODES.get(status))

    def list_models(self, models: list[str], page_size: int, query: Mapping[str, str]) -> dict[str, Any]:
        """Return every model at once: OpenAI's /v1/models is not paginated."""
        data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for m in models]
        return {"object": "list", "data": data}
