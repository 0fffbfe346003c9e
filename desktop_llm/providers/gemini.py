"""Speak Google's Gemini API: POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse.

Turns are ``contents`` with roles ``user`` and ``model``; the system prompt is
``systemInstruction``. Each SSE event is a whole ``GenerateContentResponse``; parts marked
``thought`` are the model's thinking. There is no terminator: the response that carries the
``finishReason`` (and the full usage) is the last, and the reply ends there.

Files go as ``inline_data`` parts. A call is a ``functionCall`` part whose ``thoughtSignature``
(and ``id``, when given) is kept in ``ToolCall.provider_data`` and sent back unchanged, or
Gemini 3 models refuse the next turn. Results go in the person's turn as ``functionResponse``
parts, their text wrapped as ``{"result": text}`` (the API wants an object). Tools are declared
with ``parametersJsonSchema``, which takes full JSON Schema (``parameters`` takes only an
OpenAPI subset and refuses common keywords such as ``additionalProperties``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from desktop_llm.providers import bodies
from desktop_llm.providers.attachments import GEMINI_IMAGES, Accepts, b64, check_attachments, media_type
from desktop_llm.providers.base import CallState, Provider, StreamReader
from desktop_llm.providers.errors import ContentFiltered
from desktop_llm.providers.paging import PageCursor, unique
from desktop_llm.providers.registry import register
from desktop_llm.providers.sse import SSEDecoder, SSEEvent
from desktop_llm.providers.turns import Turn, call_input, calls_by_id, group_turns, result_text, tool_name
from desktop_llm.providers.types import (
    ChatRequest,
    ModelInfo,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)

_PAGE_SIZE = 1000  # the API's maximum
_ACCEPTS = Accepts(images=GEMINI_IMAGES, pdf=True)
# The documented stand-in signature for calls that did not come from Gemini (another model's).
FOREIGN_SIGNATURE = "skip_thought_signature_validator"
# What a functionCall part carries that the next request must send back unchanged.
_KEPT = ("thoughtSignature", "id")
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


def _call_part(call: ToolCall) -> dict[str, Any]:
    kept = call.provider_data if isinstance(call.provider_data, dict) else {}
    function_call: dict[str, Any] = {"name": call.name, "args": call_input(call)}
    if kept.get("id"):
        function_call["id"] = kept["id"]
    part: dict[str, Any] = {"functionCall": function_call}
    if kept.get("thoughtSignature"):
        part["thoughtSignature"] = kept["thoughtSignature"]
    return part


def turn_parts(turn: Turn, calls: dict[str, ToolCall]) -> list[dict[str, Any]]:
    """Return one turn's parts: one text part when it is bare text, else text, files, calls, results."""
    if turn.plain:
        return [{"text": turn.text()}]
    parts: list[dict[str, Any]] = []
    for message in turn.messages:
        if message.role == "tool":
            response: dict[str, Any] = {
                "name": tool_name(message, calls),
                "response": {"result": result_text(message, calls)},
            }
            call = calls.get(message.tool_call_id or "")
            if call is not None and isinstance(call.provider_data, dict) and call.provider_data.get("id"):
                response["id"] = call.provider_data["id"]
            parts.append({"functionResponse": response})
            continue
        if message.content:
            parts.append({"text": message.content})
        parts.extend(
            {"inline_data": {"mime_type": media_type(attachment), "data": b64(attachment.data)}}
            for attachment in message.attachments
        )
        parts.extend(_call_part(call) for call in message.tool_calls)
    call_parts = [part for part in parts if "functionCall" in part]
    if call_parts and not any("thoughtSignature" in part for part in call_parts):
        # Calls made by another model carry no signature, and Gemini 3 refuses a function-call
        # turn without one; Google documents this value for exactly that case.
        call_parts[0]["thoughtSignature"] = FOREIGN_SIGNATURE
    return parts


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
            if isinstance(part.get("functionCall"), dict):
                self._add_call(part)
        reason = candidate.get("finishReason")
        if reason:
            state.finish_reason = _FINISH.get(reason, reason.lower())
            state.done = True  # the last response carries the reason (and the full usage)

    def _add_call(self, part: dict[str, Any]) -> None:
        call = part["functionCall"]
        kept = {key: value for key in _KEPT if (value := part.get(key) or call.get(key))}
        self.state.calls.add(
            call.get("name") or "",
            json.dumps(call.get("args") or {}, ensure_ascii=False),
            id=call.get("id"),
            provider_data=kept or None,
        )


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
        check_attachments(request.messages, _ACCEPTS, self.name)
        system, turns = group_turns(request.messages)
        calls = calls_by_id(request.messages)
        body: dict[str, Any] = {
            "contents": [{"role": _ROLES[turn.role], "parts": turn_parts(turn, calls)} for turn in turns],
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if request.tools:
            declarations = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "parametersJsonSchema": dict(tool.parameters),
                }
                for tool in request.tools
            ]
            body["tools"] = [{"functionDeclarations": declarations}]
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
