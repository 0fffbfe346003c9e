"""Speak Ollama's native API: POST {base}/api/chat answers with one JSON object a line (NDJSON).

Each line carries ``message.content`` (and ``message.thinking`` for thinking models); the last
has ``done: true`` with ``done_reason`` and the token counts. Ollama needs no key.

Images go in a message's ``images`` list (base64); Ollama reads no PDFs. Tool calls arrive
whole in ``message.tool_calls`` (arguments as an object); results go back as
``{"role": "tool", "content", "tool_name"}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from desktop_llm.providers import bodies
from desktop_llm.providers.attachments import Accepts, b64, check_attachments
from desktop_llm.providers.base import CallState, Provider, StreamReader, bearer_headers
from desktop_llm.providers.ndjson import NDJSONDecoder
from desktop_llm.providers.openai import function_tools
from desktop_llm.providers.registry import register
from desktop_llm.providers.turns import call_input, calls_by_id, result_text, tool_name
from desktop_llm.providers.types import (
    ChatRequest,
    Message,
    ModelInfo,
    ProviderConfig,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)

DEFAULT_PORT = 11434
_ACCEPTS = Accepts()


def normalize_host(host: str) -> str:
    """Return an ``OLLAMA_HOST``-style address as a URL: ``localhost`` -> ``http://localhost:11434``."""
    host = host.strip().rstrip("/")
    if "://" in host:
        return host
    # As Ollama's own client does: no scheme means plain HTTP, and then no port means the default.
    url = f"http://{host}"
    return url if urlsplit(url).port is not None else f"{url}:{DEFAULT_PORT}"


def ollama_message(message: Message, calls: dict[str, ToolCall]) -> dict[str, Any]:
    """Return one message: text, with ``images``, ``tool_calls`` or a tool result's ``tool_name``."""
    if message.role == "tool":
        return {
            "role": "tool",
            "content": result_text(message, calls),
            "tool_name": tool_name(message, calls),
        }
    body: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.attachments:
        body["images"] = [b64(attachment.data) for attachment in message.attachments]
    if message.tool_calls:
        body["tool_calls"] = [
            {"function": {"name": call.name, "arguments": call_input(call)}} for call in message.tool_calls
        ]
    return body


class OllamaStreamReader(StreamReader):
    """Read /api/chat lines up to the one with ``done: true`` (or one whole reply, without ``stream``)."""

    json_lines = True

    def new_decoder(self) -> NDJSONDecoder:
        """Return an NDJSON decoder."""
        return NDJSONDecoder()

    def handle(self, item: Any) -> Iterator[StreamEvent]:
        """Yield thinking and text; on the last line note the reason and the counts."""
        item = self.reply_object(item, "a stream line")
        state = self.state
        if item.get("model"):
            state.model = item["model"]
        message = item.get("message") or {}
        if message.get("thinking"):
            yield ReasoningDelta(message["thinking"])
        if message.get("content"):
            yield TextDelta(message["content"])
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {} if isinstance(call, dict) else {}
            arguments = function.get("arguments")
            state.calls.add(
                function.get("name") or "",
                arguments if isinstance(arguments, str) else json.dumps(arguments or {}, ensure_ascii=False),
                id=call.get("id") if isinstance(call, dict) else None,
            )
        if item.get("done"):
            state.finish_reason = item.get("done_reason") or "stop"
            if "prompt_eval_count" in item or "eval_count" in item:
                state.usage = Usage(
                    input_tokens=item.get("prompt_eval_count") or 0,
                    output_tokens=item.get("eval_count") or 0,
                )
            state.done = True


@register("ollama")
class OllamaProvider(Provider):
    """A local (or remote) Ollama server."""

    display_name = "Ollama"
    default_base_url = f"http://127.0.0.1:{DEFAULT_PORT}"

    def resolve_base_url(self, config: ProviderConfig) -> str:
        """Return the base URL, adding ``http://`` (and the default port) to a bare host."""
        return normalize_host(config.base_url) if config.base_url else self.default_base_url

    def auth_headers(self) -> dict[str, str]:
        """Return a bearer token only if one was configured (a server behind an auth proxy)."""
        return bearer_headers(self.config.api_key)

    def chat_request(self, request: ChatRequest) -> tuple[str, dict[str, Any]]:
        """Return POST {base}/api/chat with sampling settings under ``options``."""
        check_attachments(request.messages, _ACCEPTS, self.name)
        calls = calls_by_id(request.messages)
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [ollama_message(message, calls) for message in request.messages],
            "stream": True,
        }
        if request.tools:
            body["tools"] = function_tools(request.tools)
        options: dict[str, Any] = {}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        if request.max_tokens is not None:
            options["num_predict"] = request.max_tokens
        if options:
            body["options"] = options
        return f"{self.base_url}/api/chat", body

    def stream_reader(self, state: CallState) -> OllamaStreamReader:
        """Return a reader for /api/chat lines."""
        return OllamaStreamReader(state, self.origin)

    async def list_models(self) -> list[ModelInfo]:
        """GET {base}/api/tags: the locally installed models."""
        page = await self.get_object(f"{self.base_url}/api/tags")
        return [
            ModelInfo(id=bodies.text(item.get("model")) or name, display_name=name)
            for item in bodies.objects(page.get("models"))
            if (name := bodies.text(item.get("name"))) or bodies.text(item.get("model"))
        ]
