"""OpenAI-compatible servers: presets and their quirks, no-key local servers, reasoning field names."""

from __future__ import annotations

import pytest
from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    KEY,
    chat,
    collect,
    make_provider,
    reasoning_of,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
)

from desktop_llm.providers import AuthenticationError, Finish, Usage
from desktop_llm.providers.base import CallState
from desktop_llm.providers.http_errors import Origin
from desktop_llm.providers.openai import OpenAIStreamReader


@pytest.mark.parametrize("preset", ["lmstudio", "llamacpp", "vllm"])
async def test_local_presets_need_no_key_and_send_none(server: ProviderServer, preset: str) -> None:
    server.push(Reply(text="Local reply.", reasoning="local thought"))
    base = server.url_for("openai-compatible")
    async with make_provider(
        server, "openai-compatible", preset=preset, api_key=None, base_url=base
    ) as provider:
        events = await collect(provider, chat(max_tokens=10))
    assert text_of(events) == "Local reply."
    assert reasoning_of(events) == "local thought"
    sent = server.chat_requests[0]
    assert "authorization" not in sent.headers
    assert sent.json["stream_options"] == {"include_usage": True}
    assert sent.json["max_tokens"] == 10
    assert any(isinstance(e, Usage) for e in events)


async def test_custom_server_without_preset(server: ProviderServer) -> None:
    async with make_provider(server, "openai-compatible", api_key=None) as provider:
        events = await collect(provider)
        models = await provider.list_models()
    assert events[-1] == Finish("stop")
    assert [m.id for m in models] == ["model-a", "model-b"]


async def test_mistral_preset_sends_no_stream_options(server: ProviderServer) -> None:
    async with make_provider(server, "openai-compatible", preset="mistral") as provider:
        events = await collect(provider, chat(max_tokens=20))
    body = server.chat_requests[0].json
    assert "stream_options" not in body
    assert body["max_tokens"] == 20
    assert server.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert events[-1] == Finish("stop")


@pytest.mark.parametrize("preset", ["openrouter", "groq", "deepseek", "mistral"])
async def test_hosted_presets_refuse_to_run_without_a_key(server: ProviderServer, preset: str) -> None:
    async with make_provider(server, "openai-compatible", preset=preset, api_key=None) as provider:
        with pytest.raises(AuthenticationError, match="Settings > Providers"):
            await collect(provider)
        with pytest.raises(AuthenticationError):
            await provider.list_models()
    assert server.requests == []


def _read(*lines: str) -> tuple[list[object], CallState]:
    """Feed raw SSE lines to an OpenAI stream reader; return its events and state."""
    state = CallState(model="requested")
    reader = OpenAIStreamReader(state, Origin(name="Test", base_url="http://127.0.0.1:9"))
    body = "".join(f"data: {line}\n\n" for line in lines).encode()
    return [*reader.feed(body), *reader.close()], state


def test_openrouter_reasoning_field_and_null_usage_and_choices() -> None:
    events, state = _read(
        '{"model":"m","choices":[{"index":0,"delta":{"reasoning":"hmm"}}],"usage":null}',
        '{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}',
        '{"choices":null,"usage":{"prompt_tokens":3,"completion_tokens":1,'
        '"prompt_tokens_details":null,"completion_tokens_details":null}}',
        "[DONE]",
    )
    assert reasoning_of(events) == "hmm"  # type: ignore[arg-type]
    assert text_of(events) == "ok"  # type: ignore[arg-type]
    assert state.usage == Usage(3, 1)
    assert (state.finish_reason, state.model, state.done) == ("stop", "m", True)


def test_groq_usage_under_x_groq_and_missing_choices() -> None:
    _events, state = _read(
        '{"choices":[{"index":0,"delta":{},"finish_reason":"length"}],'
        '"x_groq":{"usage":{"prompt_tokens":10,"completion_tokens":2}}}',
        '{"id":"x"}',
        "[DONE]",
    )
    assert state.usage == Usage(10, 2)
    assert state.finish_reason == "length"


def test_only_the_first_choice_is_read_and_events_after_done_are_ignored() -> None:
    events, _state = _read(
        '{"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]}',
        "[DONE]",
        '{"choices":[{"index":0,"delta":{"content":"late"}}]}',
    )
    assert text_of(events) == "mine"  # type: ignore[arg-type]
