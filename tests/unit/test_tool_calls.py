"""Tool-call assembly and turn grouping: pure helpers and stream readers fed raw bytes split anywhere."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.providers import Message, ToolCall
from desktop_llm.providers.anthropic import AnthropicStreamReader
from desktop_llm.providers.base import CallState, StreamReader
from desktop_llm.providers.gemini import GeminiStreamReader
from desktop_llm.providers.http_errors import Origin
from desktop_llm.providers.ollama import OllamaStreamReader
from desktop_llm.providers.openai import OpenAIStreamReader
from desktop_llm.providers.tool_calls import ToolCallBuilder
from desktop_llm.providers.turns import INVALID_NOTE, call_input, group_turns, result_text

ORIGIN = Origin(name="Test", base_url="http://127.0.0.1:9")


def test_pieces_are_assembled_by_key_in_first_seen_order_even_interleaved() -> None:
    builder = ToolCallBuilder()
    builder.piece(1, id="b", name="second", arguments='{"x"')
    builder.piece(0, id="a", name="first", arguments="{")
    builder.piece(1, arguments=": 1}")
    builder.piece(0, arguments="}")
    assert builder.build() == [ToolCall("b", "second", '{"x": 1}'), ToolCall("a", "first", "{}")]


def test_a_name_repeated_in_every_piece_is_kept_once_and_a_split_name_is_joined() -> None:
    builder = ToolCallBuilder()
    builder.piece(0, name="get_weather")
    builder.piece(0, name="get_weather", arguments="{}")
    builder.piece(1, name="add_")
    builder.piece(1, name="numbers")
    assert [call.name for call in builder.build()] == ["get_weather", "add_numbers"]


def test_made_up_ids_are_unique_in_the_reply_and_never_clash_with_the_providers() -> None:
    builder = ToolCallBuilder()
    builder.add("a", "{}")
    builder.add("b", "{}", id="call_1")
    builder.add("c", "{}", id="call_1")  # a repeated provider id gets a fresh one
    builder.add("d", "")
    ids = [call.id for call in builder.build()]
    assert ids == ["call_2", "call_1", "call_3", "call_4"]
    assert builder.build()[-1].arguments == "{}"


def test_tool_results_join_the_persons_turn_and_make_it_structured() -> None:
    call = ToolCall("c1", "add", '{"a": 1}')
    system, turns = group_turns(
        [
            Message("system", "Be brief."),
            Message("user", "Add."),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", "1", tool_call_id="c1"),
            Message("user", "Thanks."),
        ]
    )
    assert system == "Be brief."
    assert [(turn.role, len(turn.messages), turn.plain) for turn in turns] == [
        ("user", 1, True),
        ("assistant", 1, False),
        ("user", 2, False),
    ]


def test_invalid_arguments_are_wrapped_and_their_result_says_so() -> None:
    bad = ToolCall("c1", "add", '{"a": ')
    listed = ToolCall("c2", "add", "[1, 2]")  # JSON, but not an object
    assert call_input(bad) == {"invalid_json_arguments": '{"a": '}
    assert call_input(listed) == {"invalid_json_arguments": "[1, 2]"}
    assert call_input(ToolCall("c3", "add", "")) == {}
    calls = {"c1": bad}
    assert result_text(Message("tool", "failed", tool_call_id="c1"), calls) == f"failed\n\n{INVALID_NOTE}"
    assert result_text(Message("tool", "ok", tool_call_id="other"), calls) == "ok"


# -- readers fed the same bytes cut at arbitrary places -----------------------------------------

OPENAI_STREAM = (
    "".join(
        f"data: {json.dumps(chunk)}\n\n"
        for chunk in (
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Sure — "}}]},
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {"index": 0, "id": "c_0", "function": {"name": "wx", "arguments": ""}}
                            ]
                        },
                    }
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [
                                {"index": 1, "id": "c_1", "function": {"name": "add", "arguments": '{"a"'}}
                            ]
                        },
                    }
                ]
            },
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Zürich"}'}}]
                        },
                    }
                ]
            },
            {
                "choices": [
                    {"index": 0, "delta": {"tool_calls": [{"index": 1, "function": {"arguments": ": 2}"}}]}}
                ]
            },
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        )
    )
    + "data: [DONE]\n\n"
)

ANTHROPIC_STREAM = "".join(
    f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
    for event in (
        {"type": "message_start", "message": {"model": "claude", "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Sure — "}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "c_0", "name": "wx", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '"Zürich"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {"type": "tool_use", "id": "c_1", "name": "add", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"a": 2}'},
        },
        {"type": "content_block_stop", "index": 2},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    )
)
EXPECTED = [ToolCall("c_0", "wx", '{"city": "Zürich"}'), ToolCall("c_1", "add", '{"a": 2}')]


def _read(reader_class: type[StreamReader], body: bytes, cuts: list[int]) -> tuple[str, CallState]:
    state = CallState(model="m")
    reader = reader_class(state, ORIGIN)
    text = ""
    edges = [0, *sorted(set(cuts)), len(body)]
    for start, end in itertools.pairwise(edges):
        text += "".join(event.text for event in reader.feed(body[start:end]))  # type: ignore[union-attr]
    text += "".join(event.text for event in reader.close())  # type: ignore[union-attr]
    return text, state


@given(st.lists(st.integers(min_value=0, max_value=len(OPENAI_STREAM.encode())), max_size=40))
def test_openai_calls_split_at_any_byte_are_the_same(cuts: list[int]) -> None:
    text, state = _read(OpenAIStreamReader, OPENAI_STREAM.encode(), cuts)
    assert text == "Sure — "
    assert state.calls.build() == EXPECTED
    assert state.finish_reason == "tool_calls"


@given(st.lists(st.integers(min_value=0, max_value=len(ANTHROPIC_STREAM.encode())), max_size=40))
def test_anthropic_calls_split_at_any_byte_are_the_same(cuts: list[int]) -> None:
    text, state = _read(AnthropicStreamReader, ANTHROPIC_STREAM.encode(), cuts)
    assert text == "Sure — "
    assert state.calls.build() == EXPECTED
    assert state.finish_reason == "tool_calls"


def test_ollama_calls_arrive_whole_and_keep_string_arguments_as_they_came() -> None:
    lines = [
        {
            "message": {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"function": {"name": "wx", "arguments": {"city": "Zürich"}}},
                    {"function": {"name": "add", "arguments": '{"a": 2}'}},
                    {"function": {"name": "now"}},
                ],
            },
            "done": False,
        },
        {"message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"},
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    _text, state = _read(OllamaStreamReader, body, [])
    assert state.calls.build() == [
        ToolCall("call_1", "wx", '{"city": "Zürich"}'),
        ToolCall("call_2", "add", '{"a": 2}'),
        ToolCall("call_3", "now", "{}"),
    ]


def test_gemini_call_parts_keep_id_and_signature_and_default_to_empty_args() -> None:
    chunk = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "now", "id": "fc-1"}, "thoughtSignature": "c2ln"},
                        {"functionCall": {"name": "wx", "args": {"city": "Zürich"}}},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    _text, state = _read(GeminiStreamReader, f"data: {json.dumps(chunk)}\r\n\r\n".encode(), [])
    assert state.calls.build() == [
        ToolCall("fc-1", "now", "{}", {"thoughtSignature": "c2ln", "id": "fc-1"}),
        ToolCall("call_1", "wx", '{"city": "Zürich"}'),
    ]
    assert state.finish_reason == "stop"  # the base turns it into "tool_calls"
