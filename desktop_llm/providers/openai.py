"""Speak OpenAI's Chat Completions protocol, for OpenAI itself and every OpenAI-compatible server.

POST {base}/chat/completions with ``stream: true`` answers with SSE ``data:`` chunks and a final
``data: [DONE]``. Servers differ in small ways (see ``presets``): whether they take
``stream_options``, what the length cap is called, where reasoning goes (``reasoning_content``
for DeepSeek and vLLM, ``reasoning`` for OpenRouter).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from desktop_llm.providers import bodies
from desktop_llm.providers.base import CallState, Provider, StreamReader, bearer_headers, plain_messages
from desktop_llm.providers.circuit import CircuitBreaker
from desktop_llm.providers.paging import PageCursor, unique
from desktop_llm.providers.presets import preset_for
from desktop_llm.providers.registry import register
from desktop_llm.providers.retry import RetryPolicy
from desktop_llm.providers.sse import SSEDecoder, SSEEvent
from desktop_llm.providers.types import (
    ChatRequest,
    ModelInfo,
    ProviderConfig,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
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
            reason = choice.get("finish_reason")
            if reason:
                state.finish_reason = _FINISH.get(reason, reason)


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
        super().__init__(config, retry=retry, circuit=circuit)

    def auth_headers(self) -> dict[str, str]:
        """Return the bearer token, when there is a key (local servers need none)."""
        return bearer_headers(self.config.api_key)

    def chat_request(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """Return POST {base}/chat/completions with the roles as given."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": plain_messages(request),
            "stream": True,
        }
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
