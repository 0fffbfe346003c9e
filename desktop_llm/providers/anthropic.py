"""Speak Anthropic's Messages protocol: POST {base}/v1/messages with SSE events.

The system prompt is a top-level field, turns must alternate, ``max_tokens`` is required.
The stream runs ``message_start`` (input usage), ``content_block_*`` (text, thinking, and
``tool_use`` with its input in ``input_json_delta`` pieces), ``message_delta`` (stop reason,
output usage) and ``message_stop``, with ``ping`` and ``error`` events in between.

A turn of bare text goes out as a string; one with files, calls or results as content blocks.
All tool results of a turn travel in one user message, ahead of any text (the API requires
it). A call whose arguments were not a JSON object is sent back with its text wrapped
(``turns.call_input``) and its result says so (``turns.result_text``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from desktop_llm.providers import bodies
from desktop_llm.providers.attachments import PDF, Accepts, b64, check_attachments, is_pdf, media_type
from desktop_llm.providers.base import CallState, Provider, StreamReader
from desktop_llm.providers.http_errors import error_from_payload, malformed_data
from desktop_llm.providers.paging import PageCursor, unique
from desktop_llm.providers.registry import register
from desktop_llm.providers.sse import SSEDecoder, SSEEvent
from desktop_llm.providers.turns import Turn, call_input, calls_by_id, group_turns, result_text
from desktop_llm.providers.types import (
    Attachment,
    ChatRequest,
    ModelInfo,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
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
_ACCEPTS = Accepts(pdf=True)
_USAGE_FIELDS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")


def _file_block(attachment: Attachment) -> dict[str, Any]:
    kind = "document" if is_pdf(attachment) else "image"
    source_type = PDF if is_pdf(attachment) else media_type(attachment)
    return {
        "type": kind,
        "source": {"type": "base64", "media_type": source_type, "data": b64(attachment.data)},
    }


def turn_content(turn: Turn, calls: dict[str, ToolCall]) -> str | list[dict[str, Any]]:
    """Return one turn's content: a string when it is bare text, else blocks (tool results first)."""
    if turn.plain:
        return turn.text()
    results: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    for message in turn.messages:
        if message.role == "tool":
            result: dict[str, Any] = {"type": "tool_result", "tool_use_id": message.tool_call_id or ""}
            text = result_text(message, calls)
            if text:
                result["content"] = text
            results.append(result)
            continue
        if message.content:
            blocks.append({"type": "text", "text": message.content})
        blocks.extend(_file_block(attachment) for attachment in message.attachments)
        blocks.extend(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call_input(call)}
            for call in message.tool_calls
        )
    return results + blocks


class AnthropicStreamReader(StreamReader):
    """Read Messages stream events up to ``message_stop``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # message_start brings the input counts, message_delta the (cumulative) output count.
        self._counts: dict[str, int] = {}
        # Indexes of the tool_use blocks: input_json_delta pieces of other blocks are not our calls.
        self._tool_blocks: set[Any] = set()

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
        """Yield text and thinking deltas; collect tool_use blocks; note model, usage, stop reason, end."""
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
            elif delta.get("type") == "input_json_delta" and data.get("index") in self._tool_blocks:
                self.state.calls.piece(data.get("index"), arguments=delta.get("partial_json") or "")
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "tool_use":
                self._tool_blocks.add(data.get("index"))
                self.state.calls.piece(data.get("index"), id=block.get("id"), name=block.get("name"))
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
        check_attachments(request.messages, _ACCEPTS, self.name)
        system, turns = group_turns(request.messages)
        calls = calls_by_id(request.messages)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [{"role": turn.role, "content": turn_content(turn, calls)} for turn in turns],
            "stream": True,
        }
        if system:
            body["system"] = system
        if request.tools:
            body["tools"] = [
                {"name": tool.name, "description": tool.description, "input_schema": dict(tool.parameters)}
                for tool in request.tools
            ]
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
