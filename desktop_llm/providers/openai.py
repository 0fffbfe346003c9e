"""Speak OpenAI's Chat Completions protocol, for OpenAI itself and every OpenAI-compatible server.

POST {base}/chat/completions with ``stream: true`` answers with SSE ``data:`` chunks and a final
``data: [DONE]``. Servers differ in small ways (see ``presets``): whether they take
``stream_options``, what the length cap is called, where reasoning goes (``reasoning_content``
for DeepSeek and vLLM, ``reasoning`` for OpenRouter).

Files go as content parts after the message's text (images as ``image_url`` data URLs; PDFs as
``file`` parts, for OpenAI itself only). Tool calls stream as ``delta.tool_calls`` pieces keyed
by ``index``; id and name come in a call's first piece, its arguments in pieces split anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from desktop_llm.providers import bodies
from desktop_llm.providers.attachments import Accepts, check_attachments, data_url, is_pdf
from desktop_llm.providers.base import CallState, Provider, StreamReader, bearer_headers
from desktop_llm.providers.circuit import CircuitBreaker
from desktop_llm.providers.paging import PageCursor, unique
from desktop_llm.providers.presets import preset_for
from desktop_llm.providers.registry import register
from desktop_llm.providers.retry import RetryPolicy
from desktop_llm.providers.sse import SSEDecoder, SSEEvent
from desktop_llm.providers.types import (
    ChatRequest,
    Message,
    ModelInfo,
    ProviderConfig,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolSpec,
    Usage,
)

# The legacy word for a tool call; everything else OpenAI sends is already a contract word.
_FINISH = {"function_call": "tool_calls"}


def _number(mapping: Any, *path: str) -> int:
    """Return the integer at ``path`` inside nested objects, 0 when absent or null."""
    for key in path:
        if not isinstance(mapping, dict):
            return 0
        mapping = mapping.get(key)
    return mapping if isinstance(mapping, int) else 0


def function_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Return tools as ``{"type": "function", "function": {...}}``, as OpenAI and Ollama take them."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": dict(tool.parameters),
            },
        }
        for tool in tools
    ]


def openai_message(message: Message) -> dict[str, Any]:
    """Return one message: a plain string, content parts with files, assistant calls, or a tool result."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content}
    body: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.attachments:
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
        for attachment in message.attachments:
            if is_pdf(attachment):
                file = {"filename": attachment.name, "file_data": data_url(attachment)}
                parts.append({"type": "file", "file": file})
            else:
                parts.append({"type": "image_url", "image_url": {"url": data_url(attachment)}})
        body["content"] = parts
    if message.tool_calls:
        body["content"] = message.content or None  # the API takes null beside calls
        body["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in message.tool_calls
        ]
    return body


def usage_from_openai(usage: dict[str, Any]) -> Usage:
    """Convert OpenAI's ``usage`` object (cached and reasoning details may be null)."""
    return Usage(
        input_tokens=_number(usage, "prompt_tokens"),
        output_tokens=_number(usage, "completion_tokens"),
        cached_input_tokens=_number(usage, "prompt_tokens_details", "cached_tokens"),
        reasoning_tokens=_number(usage, "completion_tokens_details", "reasoning_tokens"),
    )


class OpenAIStreamReader(StreamReader):
    """Read ``chat.completion.chunk`` events up to ``[DONE]``."""

    def new_decoder(self) -> SSEDecoder:
        """Return an SSE decoder."""
        return SSEDecoder()

    def whole_items(self, value: Any) -> list[Any]:
        """Return a ``chat.completion`` object as the one chunk (and ``[DONE]``) it amounts to."""
        reply = self.reply_object(value, "the reply")
        choices = [
            {**choice, "delta": choice.get("message")} for choice in bodies.objects(reply.get("choices"))
        ]
        chunk = {**reply, "choices": choices}
        return [SSEEvent(data=json.dumps(chunk)), SSEEvent(data="[DONE]")]

    def handle(self, item: SSEEvent) -> Iterator[StreamEvent]:
        """Yield the first choice's reasoning and text; note finish reason, usage and model."""
        if item.data == "[DONE]":
            self.state.done = True
            return
        chunk = self.reply_object(self.parse_json(item.data), "a stream chunk")
        state = self.state
        if chunk.get("model"):
            state.model = chunk["model"]
        # Groq reports usage under x_groq; the usage chunk itself has no (or empty) choices.
        usage = chunk.get("usage") or (chunk.get("x_groq") or {}).get("usage")
        if isinstance(usage, dict):
            state.usage = usage_from_openai(usage)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                yield ReasoningDelta(reasoning)
            content = delta.get("content")
            if content:
                yield TextDelta(content)
            for piece in delta.get("tool_calls") or ():
                self._tool_piece(piece)
            reason = choice.get("finish_reason")
            if reason:
                state.finish_reason = _FINISH.get(reason, reason)

    def _tool_piece(self, piece: Any) -> None:
        """Add one ``delta.tool_calls[]`` piece to the call at its ``index``."""
        if not isinstance(piece, dict):
            return
        function = piece.get("function") or {}
        arguments = function.get("arguments") or ""
        if not isinstance(arguments, str):  # a few compatible servers send an object
            arguments = json.dumps(arguments)
        index = piece.get("index")
        self.state.calls.piece(
            index if isinstance(index, int) else 0,
            id=piece.get("id"),
            name=function.get("name"),
            arguments=arguments,
        )


@register("openai")
@register("openai-compatible")
class OpenAIProvider(Provider):
    """OpenAI, or an OpenAI-compatible server described by a preset or a base URL."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        retry: RetryPolicy | None = None,
        circuit: CircuitBreaker | None = None,
    ) -> None:
        self.preset = preset_for(config.kind, config.preset)
        if not (config.base_url or self.preset.base_url):
            raise ValueError("An OpenAI-compatible provider needs a base URL or a preset.")
        self.display_name = self.preset.display_name
        self.default_base_url = self.preset.base_url
        self.needs_key = self.preset.needs_key
        self.key_env = (self.preset.key_env,) if self.preset.key_env else ()
        # Only OpenAI itself documents PDF file parts; compatible servers get images only.
        self.accepts = Accepts(pdf=config.kind == "openai")
        super().__init__(config, retry=retry, circuit=circuit)

    def auth_headers(self) -> dict[str, str]:
        """Return the bearer token, when there is a key (local servers need none)."""
        return bearer_headers(self.config.api_key)

    def chat_request(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """Return POST {base}/chat/completions with the roles as given."""
        check_attachments(request.messages, self.accepts, self.name)
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [openai_message(message) for message in request.messages],
            "stream": True,
        }
        if request.tools:
            body["tools"] = function_tools(request.tools)
        if self.preset.stream_usage:
            body["stream_options"] = {"include_usage": True}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body[self.preset.max_tokens_field] = request.max_tokens
        return f"{self.base_url}/chat/completions", body

    def stream_reader(self, state: CallState) -> OpenAIStreamReader:
        """Return a reader for ``chat.completion.chunk`` events."""
        return OpenAIStreamReader(state, self.origin)

    async def list_models(self) -> list[ModelInfo]:
        """GET {base}/models, following ``has_more``/``last_id`` where a server paginates."""
        models: list[ModelInfo] = []
        params: dict[str, str | int] = {}
        pages = PageCursor(self.name)
        while True:
            page = await self.get_object(f"{self.base_url}/models", params)
            data = bodies.objects(page.get("data"))
            models.extend(
                ModelInfo(id=bodies.text(item.get("id")), owned_by=bodies.text(item.get("owned_by")))
                for item in data
                if bodies.text(item.get("id"))
            )
            last_id = page.get("last_id") or (data[-1].get("id") if data else None)
            after = pages.follow(last_id) if page.get("has_more") else None
            if after is None:
                return unique(models)
            params = {"after": after}
