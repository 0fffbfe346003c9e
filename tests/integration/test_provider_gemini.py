"""The Gemini provider against the fake server: SSE streaming, thoughts, usage, request shape, models."""

from __future__ import annotations

from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    KEY,
    assert_event_order,
    chat,
    collect,
    make_provider,
    reasoning_of,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
)

from desktop_llm.providers import Finish, Usage


async def test_stream_yields_thoughts_text_usage_and_finish(server: ProviderServer) -> None:
    server.push(
        Reply(
            text="Paris.",
            reasoning="The capital of France.",
            usage={"input_tokens": 7, "output_tokens": 9, "reasoning_tokens": 5, "cached_input_tokens": 2},
        )
    )
    async with make_provider(server, "gemini") as provider:
        events = await collect(provider)
    assert_event_order(events)
    assert reasoning_of(events) == "The capital of France."
    assert text_of(events) == "Paris."
    # output = candidatesTokenCount (4) + thoughtsTokenCount (5)
    assert events[-2:] == [Usage(7, 9, cached_input_tokens=2, reasoning_tokens=5), Finish("stop")]


async def test_finish_reasons_map_to_contract_words(server: ProviderServer) -> None:
    server.push(Reply(finish="length"), Reply(finish="content_filter"))
    async with make_provider(server, "gemini") as provider:
        assert (await collect(provider))[-1] == Finish("length")
        assert (await collect(provider))[-1] == Finish("content_filter")


async def test_complete_returns_text_and_server_model(server: ProviderServer) -> None:
    server.push(Reply(text="Bonjour.", model="gemini-2.5-flash-001"))
    async with make_provider(server, "gemini") as provider:
        result = await provider.complete(chat(model="gemini-2.5-flash"))
    assert (result.text, result.model) == ("Bonjour.", "gemini-2.5-flash-001")
    assert result.usage is not None


async def test_request_shape_and_key_header(server: ProviderServer) -> None:
    request = chat(
        "system: Be terse.",
        "Hi",
        "assistant: Hello!",
        "How are you?",
        model="models/gemini-2.5-pro",
        temperature=0.3,
        max_tokens=64,
    )
    async with make_provider(server, "gemini") as provider:
        await collect(provider, request)
    sent = server.chat_requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-pro:streamGenerateContent"
    assert sent.query == {"alt": "sse"}
    assert sent.headers["x-goog-api-key"] == KEY
    assert sent.json == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello!"}]},
            {"role": "user", "parts": [{"text": "How are you?"}]},
        ],
        "systemInstruction": {"parts": [{"text": "Be terse."}]},
        "generationConfig": {"temperature": 0.3, "maxOutputTokens": 64},
    }


async def test_generation_config_and_system_are_omitted_when_unset(server: ProviderServer) -> None:
    async with make_provider(server, "gemini") as provider:
        await collect(provider, chat("Hi"))
    assert server.chat_requests[0].json == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


async def test_list_models_follows_page_tokens_and_drops_prefix(server: ProviderServer) -> None:
    server.models = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash"]
    server.page_size = 2
    async with make_provider(server, "gemini") as provider:
        models = await provider.list_models()
    assert [m.id for m in models] == ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash"]
    assert models[0].context_window == 1_048_576
    listings = [r for r in server.requests if r.method == "GET"]
    assert [r.path for r in listings] == ["/v1beta/models", "/v1beta/models"]
    assert listings[1].query["pageToken"]
    assert all("key" not in r.query for r in listings)
