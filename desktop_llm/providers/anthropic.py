"""Speak Anthropic's Messages protocol: POST {base}/v1/messages with SSE events.

The system prompt is a top-level field, turns must alternate, ``max_tokens`` is required.
The stream runs ``message_start`` (input usage), ``content_block_*`` (text and thinking),
``message_delta`` (stop reason, output usage) and ``message_stop``, with ``ping`` and ``error``
events in between.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from desktop_llm.providers import bodies
from desktop_llm.providers.base import CallState, Provider, StreamReader, split_system
from desktop_llm.providers.http_errors import error_from_payload, malformed_data
from desktop_llm.providers.paging import PageCursor, unique
from desktop_llm.providers.registry import register
from desktop_llm.providers.sse import SSEDecoder, SSEEvent
from desktop_llm.providers.types import (
    ChatRequest,
    ModelInfo,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    Usage,
)

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_PAGE_LIMIT = 100

_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}
_USAGE_FIELDS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")


class AnthropicStreamReader(StreamReader):
    """Read Messages stream events up to ``message_stop``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # message_start brings the input counts, message_delta the (cumulative) output count.
        self._counts: dict[str, int] = {}

    def new_decoder(self) -> SSEDecoder:
        """Return an SSE decoder."""
        return SSEDecoder()

    def is_keepalive(self, item: SSEEvent) -> bool:
        """Return whether the event is a ``ping``."""
        return item.event == "ping"

    def whole_items(self, value: Any) -> list[Any]:
        """Return a ``message`` object as the events its stream would have had."""
        message = self.reply_object(value, "the reply")
        blocks = bodies.objects(message.get("content"))
        deltas = [
            {"type": "text_delta", "text": block.get("text")}
            if block.get("type") == "text"
            else {"type": "thinking_delta", "thinking": block.get("thinking")}
            for block in blocks
            if block.get("type") in ("text", "thinking")
        ]
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"message": {**message, "content": []}}),
            *(
                ("content_block_delta", {"index": index, "delta": delta})
                for index, delta in enumerate(deltas)
            ),
            (
                "message_delta",
                {"delta": {"stop_reason": message.get("stop_reason")}, "usage": message.get("usage")},
            ),
            ("message_stop", {}),
        ]
        return [SSEEvent(kind, json.dumps({"type": kind, **data})) for kind, data in events]

    def handle(self, item: SSEEvent) -> Iterator[StreamEvent]:
        """Yield text and thinking deltas; note model, usage, stop reason and the end."""
        if item.event == "ping":
            return
        data = self.parse_json(item.data)
        if not isinstance(data, dict):
            raise malformed_data(self.origin, "a stream event is not a JSON object")
        kind = data.get("type") or item.event
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                yield TextDelta(delta["text"])
            elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
                yield ReasoningDelta(delta["thinking"])
        elif kind == "message_start":
            message = data.get("message") or {}
            if message.get("model"):
                self.state.model = message["model"]
            self._count(message.get("usage"))
        elif kind == "message_delta":
            stop = (data.get("delta") or {}).get("stop_reason")
            if stop:
                self.state.finish_reason = _STOP.get(stop, stop)
            self._count(data.get("usage"))
        elif kind == "message_stop":
            self.state.done = True
        elif kind == "error":
            raise error_from_payload(data, self.origin)

    def _count(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        self._counts.update((key, usage[key]) for key in _USAGE_FIELDS if isinstance(usage.get(key), int))
        if not self._counts:
            return
        counts = self._counts
        cache_read = counts.get("cache_read_input_tokens", 0)
        self.state.usage = Usage(
            input_tokens=counts.get("input_tokens", 0)
            + cache_read
            + counts.get("cache_creation_input_tokens", 0),
            output_tokens=counts.get("output_tokens", 0),
            cached_input_tokens=cache_read,
        )


@register("anthropic")
class AnthropicProvider(Provider):
    """Anthropic's Claude models."""

    display_name = "Anthropic"
    default_base_url = "https://api.anthropic.com"
    key_env = ("ANTHROPIC_API_KEY",)
    needs_key = True

    def auth_headers(self) -> dict[str, str]:
        """Return ``x-api-key`` and the API version every request must name."""
        return {"x-api-key": self.config.api_key or "", "anthropic-version": API_VERSION}

    def chat_request(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """Return POST {base}/v1/messages: system on top, alternating turns, a token cap."""
        system, turns = split_system(request.messages)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [{"role": role, "content": content} for role, content in turns],
            "stream": True,
        }
        if system:
            body["system"] = system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        return f"{self.base_url}/v1/messages", body

    def stream_reader(self, state: CallState) -> AnthropicStreamReader:
        """Return a reader for Messages stream events."""
        return AnthropicStreamReader(state, self.origin)

    async def list_models(self) -> list[ModelInfo]:
        """GET {base}/v1/models page by page (``after_id``) until ``has_more`` is false."""
        models: list[ModelInfo] = []
        params: dict[str, str | int] = {"limit": _PAGE_LIMIT}
        pages = PageCursor(self.name)
        while True:
            page = await self.get_object(f"{self.base_url}/v1/models", params)
            data = [item for item in bodies.objects(page.get("data")) if bodies.text(item.get("id"))]
            models.extend(
                ModelInfo(id=bodies.text(item["id"]), display_name=bodies.text(item.get("display_name")))
                for item in data
            )
            last_id = page.get("last_id") or (data[-1]["id"] if data else None)
            after = pages.follow(last_id) if page.get("has_more") else None
            if after is None:
                return unique(models)
            params = {"limit": _PAGE_LIMIT, "after_id": after}
