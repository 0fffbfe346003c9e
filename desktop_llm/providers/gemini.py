"""Speak Google's Gemini API: POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse.

Turns are ``contents`` with roles ``user`` and ``model``; the system prompt is
``systemInstruction``. Each SSE event is a whole ``GenerateContentResponse``; parts marked
``thought`` are the model's thinking. There is no terminator: the response that carries the
``finishReason`` (and the full usage) is the last, and the reply ends there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from desktop_llm.providers import bodies
from desktop_llm.providers.base import CallState, Provider, StreamReader, split_system
from desktop_llm.providers.errors import ContentFiltered
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

_PAGE_SIZE = 1000  # the API's maximum
_ROLES = {"user": "user", "assistant": "model"}
_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"), "content_filter"),
}


def usage_from_gemini(metadata: dict[str, Any]) -> Usage:
    """Convert ``usageMetadata``; thoughts count as output, as they are billed."""

    def count(name: str) -> int:
        value = metadata.get(name)
        return value if isinstance(value, int) else 0

    thoughts = count("thoughtsTokenCount")
    return Usage(
        input_tokens=count("promptTokenCount"),
        output_tokens=count("candidatesTokenCount") + thoughts,
        cached_input_tokens=count("cachedContentTokenCount"),
        reasoning_tokens=thoughts,
    )


class GeminiStreamReader(StreamReader):
    """Read ``GenerateContentResponse`` events until the body ends."""

    def new_decoder(self) -> SSEDecoder:
        """Return an SSE decoder."""
        return SSEDecoder()

    def whole_items(self, value: Any) -> list[Any]:
        """Return a ``GenerateContentResponse``, or the JSON array of them sent without SSE, as events."""
        responses = value if isinstance(value, list) else [value]
        return [SSEEvent(data=json.dumps(response)) for response in responses]

    def handle(self, item: SSEEvent) -> Iterator[StreamEvent]:
        """Yield the first candidate's thoughts and text; note finish, usage, model and blocks."""
        data = self.reply_object(self.parse_json(item.data), "a stream event")
        state = self.state
        if data.get("modelVersion"):
            state.model = data["modelVersion"]
        if isinstance(data.get("usageMetadata"), dict):
            state.usage = usage_from_gemini(data["usageMetadata"])
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        if blocked:
            if not state.output_started:
                raise ContentFiltered(
                    f"{self.origin.name} refused the prompt ({blocked}). Rephrase the message and try again.",
                    provider=self.origin.name,
                )
            state.finish_reason = "content_filter"
        candidates = data.get("candidates") or ()
        if not candidates:
            return
        candidate = candidates[0]
        for part in (candidate.get("content") or {}).get("parts") or ():
            text = part.get("text")
            if text:
                yield ReasoningDelta(text) if part.get("thought") else TextDelta(text)
        reason = candidate.get("finishReason")
        if reason:
            state.finish_reason = _FINISH.get(reason, reason.lower())
            state.done = True  # the last response carries the reason (and the full usage)


@register("gemini")
class GeminiProvider(Provider):
    """Google's Gemini models through the Gemini API (not Vertex AI)."""

    display_name = "Google Gemini"
    default_base_url = "https://generativelanguage.googleapis.com"
    key_env = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    needs_key = True

    def auth_headers(self) -> dict[str, str]:
        """Return ``x-goog-api-key`` (a header, so the key never appears in a URL or a log)."""
        return {"x-goog-api-key": self.config.api_key or ""}

    def chat_request(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """Return the streaming URL and a body with contents, systemInstruction, generationConfig."""
        system, turns = split_system(request.messages)
        body: dict[str, Any] = {
            "contents": [{"role": _ROLES[role], "parts": [{"text": text}]} for role, text in turns],
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        config: dict[str, Any] = {}
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if request.max_tokens is not None:
            config["maxOutputTokens"] = request.max_tokens
        if config:
            body["generationConfig"] = config
        model = request.model.removeprefix("models/")
        return f"{self.base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse", body

    def stream_reader(self, state: CallState) -> GeminiStreamReader:
        """Return a reader for ``GenerateContentResponse`` events."""
        return GeminiStreamReader(state, self.origin)

    async def list_models(self) -> list[ModelInfo]:
        """GET {base}/v1beta/models page by page; ids lose their "models/" prefix."""
        models: list[ModelInfo] = []
        params: dict[str, str | int] = {"pageSize": _PAGE_SIZE}
        pages = PageCursor(self.name)
        while True:
            page = await self.get_object(f"{self.base_url}/v1beta/models", params)
            for item in bodies.objects(page.get("models")):
                name = bodies.text(item.get("name"))
                methods = item.get("supportedGenerationMethods")
                if not name or (isinstance(methods, list) and "generateContent" not in methods):
                    continue  # embedding-only models cannot chat
                models.append(
                    ModelInfo(
                        id=name.removeprefix("models/"),
                        display_name=bodies.text(item.get("displayName")),
                        context_window=bodies.integer(item.get("inputTokenLimit")),
                    )
                )
            token = pages.follow(page.get("nextPageToken"))
            if token is None:
                return unique(models)
            params = {"pageSize": _PAGE_SIZE, "pageToken": token}
