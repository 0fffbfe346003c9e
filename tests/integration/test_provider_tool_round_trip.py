"""Tool results sent back per kind: a two-step exchange the fake server checks as the real APIs do."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall
from provider_kit import (
    KINDS_ON_SERVER,
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
)

from desktop_llm.providers import ChatRequest, ChatResult, InvalidRequestError, Message, ToolCall, ToolSpec
from desktop_llm.providers.gemini import FOREIGN_SIGNATURE
from desktop_llm.providers.turns import INVALID_NOTE

WEATHER = ToolSpec("get_weather", "The weather in a city", {"type": "object", "properties": {"city": {}}})
ADD = ToolSpec("add_numbers", "Add two numbers", {"type": "object", "properties": {"a": {}, "b": {}}})
SIGNATURE = "dGhvdWdodC1zaWduYXR1cmU="
CALLS = [
    ScriptedCall("get_weather", '{"city": "Paris"}', id="call_w1", signature=SIGNATURE),
    ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_a2"),
]
QUESTION = Message("user", "Weather in Paris, and 40+2?")


def follow_up(first: ChatResult, *results: str, extra: tuple[Message, ...] = ()) -> ChatRequest:
    """Return the second request: the question, the model's calls, one result per call."""
    messages = [QUESTION, Message("assistant", first.text, tool_calls=first.tool_calls)]
    messages += [
        Message("tool", text, tool_call_id=call.id, name=call.name)
        for call, text in zip(first.tool_calls, results, strict=True)
    ]
    return ChatRequest(model="tool-model", messages=[*messages, *extra], tools=(WEATHER, ADD))


async def exchange(server: ProviderServer, kind: str, text: str = "") -> tuple[dict[str, Any], ChatResult]:
    """Run both steps; return the second request's body and the final answer."""
    server.push(Reply(text=text, tool_calls=CALLS), Reply(text="Sunny, and 42."))
    async with make_provider(server, kind) as provider:
        first = await provider.complete(
            ChatRequest(model="tool-model", messages=[QUESTION], tools=(WEATHER, ADD))
        )
        final = await provider.complete(follow_up(first, "sunny", "42"))
    return server.chat_requests[1].json, final


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_the_second_step_is_accepted_and_answered(server: ProviderServer, kind: str) -> None:
    _body, final = await exchange(server, kind)
    assert (final.text, final.finish_reason, final.tool_calls) == ("Sunny, and 42.", "stop", ())


@pytest.mark.parametrize("kind", ["openai", "openai-compatible"])
async def test_openai_results_follow_the_assistant_calls(server: ProviderServer, kind: str) -> None:
    body, _ = await exchange(server, kind)
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_w1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_a2",
                    "type": "function",
                    "function": {"name": "add_numbers", "arguments": '{"a": 40, "b": 2}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_w1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_a2", "content": "42"},
    ]


async def test_anthropic_sends_tool_use_then_one_user_turn_of_results(server: ProviderServer) -> None:
    body, _ = await exchange(server, "anthropic", text="Checking.")
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_w1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_a2", "name": "add_numbers", "input": {"a": 40, "b": 2}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_w1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "call_a2", "content": "42"},
            ],
        },
    ]


async def test_anthropic_puts_results_ahead_of_a_following_message_in_the_same_turn(
    server: ProviderServer,
) -> None:
    server.push(Reply(text="", tool_calls=CALLS[:1]), Reply(text="Rome is rainy."))
    async with make_provider(server, "anthropic") as provider:
        first = await provider.complete(ChatRequest(model="m", messages=[QUESTION], tools=(WEATHER,)))
        await provider.complete(follow_up(first, "sunny", extra=(Message("user", "And Rome?"),)))
    assert server.chat_requests[1].json["messages"][-1]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_w1", "content": "sunny"},
        {"type": "text", "text": "And Rome?"},
    ]


async def test_gemini_sends_calls_with_their_signature_then_function_responses(
    server: ProviderServer,
) -> None:
    body, _ = await exchange(server, "gemini")
    assert body["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_w1"},
                    "thoughtSignature": SIGNATURE,
                },
                {"functionCall": {"name": "add_numbers", "args": {"a": 40, "b": 2}, "id": "call_a2"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"result": "sunny"},
                        "id": "call_w1",
                    }
                },
                {"functionResponse": {"name": "add_numbers", "response": {"result": "42"}, "id": "call_a2"}},
            ],
        },
    ]


async def test_ollama_sends_calls_as_objects_and_results_with_tool_name(server: ProviderServer) -> None:
    body, _ = await exchange(server, "ollama")
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"function": {"name": "add_numbers", "arguments": {"a": 40, "b": 2}}},
            ],
        },
        {"role": "tool", "content": "sunny", "tool_name": "get_weather"},
        {"role": "tool", "content": "42", "tool_name": "add_numbers"},
    ]


def _bad_call_request() -> ChatRequest:
    bad = ToolCall("call_bad", "add_numbers", '{"a": 40, "b": ')
    return ChatRequest(
        model="m",
        messages=[
            QUESTION,
            Message("assistant", "", tool_calls=(bad,)),
            Message("tool", "Error: the arguments were not valid JSON.", tool_call_id="call_bad"),
        ],
        tools=(ADD,),
    )


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_a_call_with_bad_json_goes_back_in_a_shape_the_api_accepts(
    server: ProviderServer, kind: str
) -> None:
    async with make_provider(server, kind) as provider:
        await provider.complete(_bad_call_request())
    body = json.dumps(server.chat_requests[0].json)
    wrapped = {"invalid_json_arguments": '{"a": 40, "b": '}
    if kind.startswith("openai"):
        assert json.dumps('{"a": 40, "b": ') in body  # a string, as it came
        assert INVALID_NOTE not in json.loads(body)["messages"][-1]["content"]
    else:
        assert json.dumps(wrapped)[1:-1] in body
        assert json.dumps(INVALID_NOTE)[1:-1] in body


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("openai", "did not have response messages: call_a2"),
        ("anthropic", "without `tool_result` blocks immediately after: call_a2"),
        ("gemini", "number of function response parts"),
    ],
)
async def test_the_fake_refuses_a_call_left_without_its_result(
    server: ProviderServer, kind: str, words: str
) -> None:
    server.push(Reply(text="", tool_calls=CALLS))
    async with make_provider(server, kind) as provider:
        first = await provider.complete(ChatRequest(model="m", messages=[QUESTION], tools=(WEATHER, ADD)))
        half = follow_up(first, "sunny", "42")
        half = ChatRequest(model="m", messages=list(half.messages)[:-1], tools=half.tools)
        with pytest.raises(InvalidRequestError, match=words):
            await provider.complete(half)


async def test_the_fake_refuses_a_result_without_its_call(server: ProviderServer) -> None:
    stray = ChatRequest(model="m", messages=[QUESTION, Message("tool", "42", tool_call_id="call_x")])
    async with make_provider(server, "openai") as provider:
        with pytest.raises(InvalidRequestError, match="must be a response to a preceeding message"):
            await provider.complete(stray)
    async with make_provider(server, "anthropic") as provider:
        with pytest.raises(InvalidRequestError, match="unexpected `tool_use_id`"):
            await provider.complete(stray)


async def test_the_fake_refuses_a_gemini_call_sent_back_without_its_signature(server: ProviderServer) -> None:
    server.push(Reply(text="", tool_calls=CALLS))
    async with make_provider(server, "gemini") as provider:
        await provider.complete(ChatRequest(model="m", messages=[QUESTION], tools=(WEATHER, ADD)))
    sent = server.chat_requests[0].json
    turn = [
        {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "x"}}}],
        },
    ]
    url = server.url_for("gemini") + "/v1beta/models/m:generateContent"
    async with httpx.AsyncClient() as client:
        answer = await client.post(url, json={**sent, "contents": sent["contents"] + turn})
    assert answer.status_code == 400
    assert "thought_signature" in answer.json()["error"]["message"]


async def test_gemini_gets_the_stand_in_signature_for_calls_another_model_made(
    server: ProviderServer,
) -> None:
    server.push(Reply(text="", tool_calls=CALLS))
    async with make_provider(server, "gemini") as provider:
        first = await provider.complete(ChatRequest(model="m", messages=[QUESTION], tools=(WEATHER, ADD)))
        # As if another provider had made the calls: no provider_data.
        foreign = ChatResult(
            first.text,
            first.usage,
            first.finish_reason,
            first.model,
            tool_calls=tuple(ToolCall(c.id, c.name, c.arguments) for c in first.tool_calls),
        )
        final = await provider.complete(follow_up(foreign, "sunny", "42"))
    assert final.text == "Hello from the fake server."
    parts = server.chat_requests[1].json["contents"][1]["parts"]
    assert [part.get("thoughtSignature") for part in parts] == [FOREIGN_SIGNATURE, None]
