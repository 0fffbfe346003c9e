"""The Anthropic provider against the fake server: Messages streaming, usage, request shape, models."""

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


async def test_stream_yields_thinking_text_usage_and_finish(server: ProviderServer) -> None:
    server.push(Reply(text="It is 4.", reasoning="Add them.", usage={"input_tokens": 9, "output_tokens": 6}))
    async with make_provider(server, "anthropic") as provider:
        events = await collect(provider)
    assert_event_order(events)
    assert reasoning_of(events) == "Add them."
    assert text_of(events) == "It is 4."
    assert events[-2:] == [Usage(9, 6), Finish("stop")]


async def test_input_usage_counts_cache_reads_and_writes(server: ProviderServer) -> None:
    usage = {
        "input_tokens": 1000,
        "output_tokens": 20,
        "cached_input_tokens": 600,
        "cache_creation_input_tokens": 300,
    }
    server.push(Reply(usage=usage), Reply(usage=usage))
    async with make_provider(server, "anthropic") as provider:
        events = await collect(provider)
        result = await provider.complete(chat())
    # input = input_tokens (100) + cache_read (600) + cache_creation (300)
    assert Usage(1000, 20, cached_input_tokens=600) in events
    assert result.usage == Usage(1000, 20, cached_input_tokens=600)


async def test_stop_reasons_map_to_contract_words(server: ProviderServer) -> None:
    for finish in ("length", "content_filter", "tool_calls", "stop"):
        server.push(Reply(finish=finish))
    async with make_provider(server, "anthropic") as provider:
        reasons = [(await collect(provider))[-1].reason for _ in range(4)]
    assert reasons == ["length", "content_filter", "tool_calls", "stop"]


async def test_complete_returns_server_model(server: ProviderServer) -> None:
    server.push(Reply(text="Hi.", model="claude-sonnet-4-5-20250929"))
    async with make_provider(server, "anthropic") as provider:
        result = await provider.complete(chat(model="claude-sonnet-4-5"))
    assert (result.text, result.model, result.finish_reason) == ("Hi.", "claude-sonnet-4-5-20250929", "stop")


async def test_request_puts_system_on_top_and_merges_turns(server: ProviderServer) -> None:
    request = chat(
        "system: Be terse.",
        "First question.",
        "Second question.",
        "assistant: An answer.",
        "system: Answer in French.",
        "Third.",
        model="claude-haiku-4-5",
        temperature=0.5,
    )
    async with make_provider(server, "anthropic") as provider:
        await collect(provider, request)
    sent = server.chat_requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.json == {
        "model": "claude-haiku-4-5",
        "max_tokens": 4096,
        "system": "Be terse.\n\nAnswer in French.",
        "messages": [
            {"role": "user", "content": "First question.\n\nSecond question."},
            {"role": "assistant", "content": "An answer."},
            {"role": "user", "content": "Third."},
        ],
        "stream": True,
        "temperature": 0.5,
    }


async def test_max_tokens_is_sent_when_set_and_system_omitted_when_absent(server: ProviderServer) -> None:
    async with make_provider(server, "anthropic") as provider:
        await collect(provider, chat("Hi", max_tokens=77))
    body = server.chat_requests[0].json
    assert body["max_tokens"] == 77
    assert "system" not in body
    assert "temperature" not in body


async def test_missing_message_stop_after_stop_reason_is_finished(server: ProviderServer) -> None:
    server.push(Reply(text="Done here.", omit_terminator=True))
    async with make_provider(server, "anthropic") as provider:
        events = await collect(provider)
    assert text_of(events) == "Done here."
    assert events[-1] == Finish("stop")


async def test_list_models_follows_every_page(server: ProviderServer) -> None:
    server.models = ["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5"]
    server.page_size = 1
    async with make_provider(server, "anthropic") as provider:
        models = await provider.list_models()
    assert [m.id for m in models] == ["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5"]
    listings = [r for r in server.requests if r.path == "/v1/models"]
    assert len(listings) == 3
    assert "after_id" not in listings[0].query
    assert listings[1].query["after_id"] == "claude-opus-4-1"
    assert all(r.headers["anthropic-version"] == "2023-06-01" for r in listings)
