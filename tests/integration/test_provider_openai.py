"""The OpenAI provider against the fake server: streaming, complete, models, request shape."""

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

from desktop_llm.providers import Finish, ReasoningDelta, TextDelta, Usage


async def test_stream_yields_text_usage_and_finish_in_order(server: ProviderServer) -> None:
    server.push(Reply(text="Hello there, friend.", usage={"input_tokens": 12, "output_tokens": 4}))
    async with make_provider(server, "openai") as provider:
        events = await collect(provider)
    assert_event_order(events)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " there,", " friend."]
    assert events[-2:] == [Usage(12, 4), Finish("stop")]


async def test_stream_splits_reasoning_from_text(server: ProviderServer) -> None:
    server.push(Reply(text="The answer is 4.", reasoning="Two plus two is four."))
    async with make_provider(server, "openai") as provider:
        events = await collect(provider)
    assert_event_order(events)
    assert reasoning_of(events) == "Two plus two is four."
    assert text_of(events) == "The answer is 4."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in events[:first_text])


async def test_usage_details_are_read(server: ProviderServer) -> None:
    usage = {"input_tokens": 100, "output_tokens": 30, "cached_input_tokens": 64, "reasoning_tokens": 12}
    server.push(Reply(usage=usage))
    async with make_provider(server, "openai") as provider:
        events = await collect(provider)
    assert Usage(100, 30, cached_input_tokens=64, reasoning_tokens=12) in events


async def test_no_usage_reported_means_no_usage_event(server: ProviderServer) -> None:
    server.push(Reply(usage=None), Reply(usage=None))
    async with make_provider(server, "openai") as provider:
        events = await collect(provider)
        result = await provider.complete(chat())
    assert not any(isinstance(e, Usage) for e in events)
    assert result.usage is None


async def test_events_split_at_every_byte_decode_the_same(server: ProviderServer) -> None:
    text = "Ünïcödé 文字 and emoji 😀 survive one-byte writes."
    server.push(Reply(text=text, write_size=1))
    async with make_provider(server, "openai") as provider:
        events = await collect(provider)
    assert text_of(events) == text
    assert_event_order(events)


async def test_complete_returns_text_usage_finish_and_server_model(server: ProviderServer) -> None:
    server.push(
        Reply(
            text="Short.",
            reasoning="Think.",
            finish="length",
            model="gpt-4o-mini-2024-07-18",
            usage={"input_tokens": 5, "output_tokens": 3},
        )
    )
    async with make_provider(server, "openai") as provider:
        result = await provider.complete(chat(model="gpt-4o-mini"))
    assert result.text == "Short."
    assert result.reasoning == "Think."
    assert result.finish_reason == "length"
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert result.usage == Usage(5, 3)


async def test_complete_reports_the_requested_model_when_the_server_names_none(
    server: ProviderServer,
) -> None:
    async with make_provider(server, "openai") as provider:
        result = await provider.complete(chat(model="gpt-4.1"))
    assert result.model == "gpt-4.1"  # the fake echoes the requested name


async def test_finish_reasons_pass_through(server: ProviderServer) -> None:
    server.push(Reply(finish="content_filter"), Reply(finish="tool_calls"))
    async with make_provider(server, "openai") as provider:
        assert (await collect(provider))[-1] == Finish("content_filter")
        assert (await collect(provider))[-1] == Finish("tool_calls")


async def test_request_body_and_headers(server: ProviderServer) -> None:
    request = chat("system: Be terse.", "Hi", "assistant: Hello!", "How are you?", model="gpt-4o")
    async with make_provider(server, "openai", headers={"X-Team": "blue"}) as provider:
        await collect(provider, request)
    sent = server.chat_requests[0]
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["x-team"] == "blue"
    assert sent.headers["user-agent"].startswith("desktop-llm/")
    assert sent.json == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "How are you?"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def test_temperature_and_length_cap_are_sent_only_when_set(server: ProviderServer) -> None:
    async with make_provider(server, "openai") as provider:
        await collect(provider, chat(temperature=0.2, max_tokens=50))
        await collect(provider, chat(temperature=0.0))
    first, second = (request.json for request in server.chat_requests)
    assert first["temperature"] == 0.2
    assert first["max_completion_tokens"] == 50
    assert "max_tokens" not in first
    assert second["temperature"] == 0.0
    assert "max_completion_tokens" not in second


async def test_missing_terminator_after_finish_is_a_finished_reply(server: ProviderServer) -> None:
    server.push(Reply(text="All done.", omit_terminator=True))
    async with make_provider(server, "openai") as provider:
        events = await collect(provider)
    assert text_of(events) == "All done."
    assert events[-1] == Finish("stop")


async def test_list_models(server: ProviderServer) -> None:
    server.models = ["gpt-4o", "gpt-4o-mini", "o3"]
    async with make_provider(server, "openai") as provider:
        models = await provider.list_models()
    assert [m.id for m in models] == ["gpt-4o", "gpt-4o-mini", "o3"]
    listing = server.requests[-1]
    assert (listing.method, listing.path) == ("GET", "/v1/models")
    assert listing.headers["authorization"] == f"Bearer {KEY}"


async def test_connection_is_reused_across_requests(server: ProviderServer) -> None:
    async with make_provider(server, "openai") as provider:
        for _ in range(3):
            await collect(provider)
        assert server.open_connections == 1
