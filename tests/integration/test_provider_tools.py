"""Tool calling per kind against the fake server: tools sent, calls read from streams split anywhere."""

from __future__ import annotations

import json

import pytest
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall
from provider_kit import (
    KINDS_ON_SERVER,
    assert_event_order,
    collect,
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
    tool_calls_of,
)

from desktop_llm.providers import (
    ChatRequest,
    Finish,
    Message,
    ProviderError,
    StreamInterrupted,
    ToolCall,
    ToolSpec,
)

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADD = ToolSpec("add_numbers", "Add two numbers", {"type": "object", "properties": {"a": {}, "b": {}}})
# Arguments as json.dumps writes them, so kinds that send an object give back the same text.
PARIS = ScriptedCall("get_weather", '{"city": "Paris — Île-de-France"}', id="call_w1")
SUM = ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_a2")


def ask(*tools: ToolSpec) -> ChatRequest:
    return ChatRequest(
        model="tool-model", messages=[Message("user", "Weather in Paris, and 40+2?")], tools=tools
    )


def expected_ids(kind: str, calls: list[ScriptedCall]) -> list[str]:
    """Gemini and Ollama send no ids unless scripted with one; Ollama never does."""
    if kind == "ollama":
        return [f"call_{n}" for n in range(1, len(calls) + 1)]
    return [call.id or "" for call in calls]


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_tools_are_sent_in_each_kinds_shape(server: ProviderServer, kind: str) -> None:
    async with make_provider(server, kind) as provider:
        await collect(provider, ask(WEATHER, ADD))
    tools = server.chat_requests[0].json["tools"]
    if kind == "anthropic":
        assert tools == [
            {
                "name": "get_weather",
                "description": "The weather in a city",
                "input_schema": dict(WEATHER.parameters),
            },
            {"name": "add_numbers", "description": "Add two numbers", "input_schema": dict(ADD.parameters)},
        ]
    elif kind == "gemini":
        assert tools == [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "The weather in a city",
                        "parametersJsonSchema": dict(WEATHER.parameters),
                    },
                    {
                        "name": "add_numbers",
                        "description": "Add two numbers",
                        "parametersJsonSchema": dict(ADD.parameters),
                    },
                ]
            }
        ]
    else:
        assert tools == [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
            }
            for t in (WEATHER, ADD)
        ]


@pytest.mark.parametrize("arguments_piece", [1, 3, None])
@pytest.mark.parametrize("write_size", [1, 5, 13, None])
@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_parallel_calls_split_anywhere_are_assembled(
    server: ProviderServer, kind: str, write_size: int | None, arguments_piece: int | None
) -> None:
    calls = [PARIS, SUM]
    server.push(
        Reply(text="Let me check.", tool_calls=calls, write_size=write_size, arguments_piece=arguments_piece)
    )
    async with make_provider(server, kind) as provider:
        events = await collect(provider, ask(WEATHER, ADD))
    assert_event_order(events)
    assert text_of(events) == "Let me check."
    got = tool_calls_of(events)
    assert [(c.name, c.arguments) for c in got] == [(c.name, c.arguments) for c in calls]
    assert [c.id for c in got] == expected_ids(kind, calls)
    assert events[-1] == Finish("tool_calls")


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_complete_returns_the_calls_and_made_up_ids_are_unique(
    server: ProviderServer, kind: str
) -> None:
    calls = [ScriptedCall("get_weather", '{"city": "Oslo"}'), ScriptedCall("get_weather", '{"city": "Rome"}')]
    server.push(Reply(text="", tool_calls=calls))
    async with make_provider(server, kind) as provider:
        result = await provider.complete(ask(WEATHER))
    assert (result.text, result.finish_reason) == ("", "tool_calls")
    assert [json.loads(c.arguments) for c in result.tool_calls] == [{"city": "Oslo"}, {"city": "Rome"}]
    ids = [c.id for c in result.tool_calls]
    assert len(set(ids)) == 2 and all(ids)
    if kind in ("gemini", "ollama"):
        assert ids == ["call_1", "call_2"]


@pytest.mark.parametrize("kind", ["openai", "openai-compatible", "anthropic"])
async def test_arguments_that_are_not_json_reach_the_caller_as_they_came(
    server: ProviderServer, kind: str
) -> None:
    bad = ScriptedCall("add_numbers", '{"a": 40, "b": ', id="call_bad")
    server.push(Reply(text="", tool_calls=[bad], arguments_piece=2, write_size=3))
    async with make_provider(server, kind) as provider:
        result = await provider.complete(ask(ADD))
    assert result.tool_calls == (ToolCall("call_bad", "add_numbers", '{"a": 40, "b": '),)


async def test_anthropic_empty_input_means_an_empty_object(server: ProviderServer) -> None:
    server.push(Reply(text="", tool_calls=[ScriptedCall("now", "", id="toolu_1")]))
    async with make_provider(server, "anthropic") as provider:
        result = await provider.complete(ask(ToolSpec("now")))
    assert result.tool_calls == (ToolCall("toolu_1", "now", "{}"),)


async def test_gemini_keeps_the_thought_signature_and_id_in_provider_data(server: ProviderServer) -> None:
    calls = [
        ScriptedCall("get_weather", '{"city": "Paris"}', signature="c2lnbmF0dXJlLTE="),
        ScriptedCall("add_numbers", '{"a": 1, "b": 2}', id="fc-7"),
    ]
    server.push(Reply(text="", tool_calls=calls))
    async with make_provider(server, "gemini") as provider:
        result = await provider.complete(ask(WEATHER, ADD))
    assert [c.provider_data for c in result.tool_calls] == [
        {"thoughtSignature": "c2lnbmF0dXJlLTE="},
        {"id": "fc-7"},
    ]
    assert [c.id for c in result.tool_calls] == ["call_1", "fc-7"]


async def test_text_before_a_call_streams_before_the_call_arrives(server: ProviderServer) -> None:
    server.push(Reply(text="One moment please.", tool_calls=[PARIS], arguments_piece=2))
    async with make_provider(server, "openai") as provider:
        events = await collect(provider, ask(WEATHER))
    first_call = next(i for i, e in enumerate(events) if isinstance(e, ToolCall))
    assert text_of(events[:first_call]) == "One moment please."
    assert len([e for e in events[:first_call] if not isinstance(e, ToolCall)]) == 3  # three text deltas


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_stream_cut_inside_a_call_is_interrupted_with_the_text_so_far(
    server: ProviderServer, kind: str
) -> None:
    server.push(
        Reply(text="Checking now.", tool_calls=[PARIS, SUM], arguments_piece=2, drop_after_tool_events=5)
    )
    async with make_provider(server, kind) as provider:
        events = []
        with pytest.raises(StreamInterrupted) as caught:
            async for event in provider.stream(ask(WEATHER)):
                events.append(event)
    assert caught.value.partial_text == "Checking now."
    assert not tool_calls_of(events)


async def test_a_stream_cut_inside_a_call_before_any_text_is_retried_then_fails(
    server: ProviderServer,
) -> None:
    cut = Reply(text="", tool_calls=[PARIS], arguments_piece=2, drop_after_tool_events=3)
    server.push(cut, cut)
    async with make_provider(server, "openai", max_retries=1) as provider:
        with pytest.raises(ProviderError) as caught:
            await collect(provider, ask(WEATHER))
    assert caught.value.retryable
    assert len(server.chat_requests) == 2
