"""The official SDKs against ours on files and tools: the same request bodies, the same calls read.

Each SDK sends a question with an image (and a PDF where the kind reads PDFs) and two tools,
reads the scripted parallel tool calls from a stream cut into small writes, then sends the calls
and their results back the way its documentation shows. Ours does the same exchange on the same
script. The fake server checks both second requests as the real API would; the SDK's bodies are
the oracle for ours (after each SDK's own harmless spelling: Google's camelCase field names,
nulls left out).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import anthropic
import ollama
import openai
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall
from google import genai
from google.genai import types as gt
from provider_kit import (
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
)

from desktop_llm.providers import Attachment, ChatRequest, Message, ToolSpec

QUESTION = "What do the picture and the report say, and what is the weather in Paris?"
MODEL = "some-model"
PNG = Attachment("chart.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
PDF = Attachment("report.pdf", "application/pdf", b"%PDF-1.7\n" + b"lorem ipsum " * 12)
WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)
ADD = ToolSpec(
    "add_numbers",
    "Add two numbers",
    {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
)
SIGNATURE = base64.b64encode(b"opaque thought signature").decode()
CALLS = [
    ScriptedCall("get_weather", '{"city": "Paris"}', id="call_w1", signature=SIGNATURE),
    ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_a2"),
]
RESULTS = {"get_weather": "sunny", "add_numbers": "42"}
FINAL = "Sunny, and 42."


@dataclass
class Exchange:
    """What one client did: its two request bodies, the calls it read, the final text."""

    first: dict[str, Any]
    second: dict[str, Any]
    calls: list[tuple[str, str, dict[str, Any]]]  # id, name, arguments
    final: str


def b64(attachment: Attachment) -> str:
    return base64.b64encode(attachment.data).decode()


def script(server: ProviderServer) -> None:
    server.push(
        Reply(text="Checking.", tool_calls=CALLS, write_size=7, arguments_piece=3),
        Reply(text=FINAL),
    )


def bodies(server: ProviderServer) -> tuple[dict[str, Any], dict[str, Any]]:
    first, second = server.chat_requests[-2:]
    return first.json, second.json


BYTES = frozenset({"data", "thoughtSignature", "thought_signature"})


def std_b64(text: str) -> str:
    """Return base64 text (standard or URL-safe alphabet, as google-genai sends) in the standard one."""
    return base64.b64encode(
        base64.b64decode(text, altchars=b"-_" if "-" in text or "_" in text else None)
    ).decode()


def camel(value: Any) -> Any:
    """Spell every key in camelCase, leave out nulls, bytes in standard base64 (Google takes any of these)."""
    if isinstance(value, dict):
        return {
            re.sub(r"_([a-z])", lambda m: m[1].upper(), key): std_b64(item) if key in BYTES else camel(item)
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


async def ours(server: ProviderServer, kind: str, files: tuple[Attachment, ...]) -> Exchange:
    script(server)
    question = Message("user", QUESTION, attachments=files)
    async with make_provider(server, kind) as provider:
        first = await provider.complete(ChatRequest(MODEL, [question], tools=(WEATHER, ADD)))
        answer = [
            question,
            Message("assistant", first.text, tool_calls=first.tool_calls),
            *(Message("tool", RESULTS[c.name], tool_call_id=c.id, name=c.name) for c in first.tool_calls),
        ]
        final = await provider.complete(ChatRequest(MODEL, answer, tools=(WEATHER, ADD)))
    calls = [(c.id, c.name, json.loads(c.arguments)) for c in first.tool_calls]
    assert first.finish_reason == "tool_calls"
    return Exchange(*bodies(server), calls, final.text)


# -- OpenAI ---------------------------------------------------------------------------------------


def openai_tools() -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in (WEATHER, ADD)
    ]


def sdk_openai(server: ProviderServer) -> Exchange:
    script(server)
    content = [
        {"type": "text", "text": QUESTION},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
        {
            "type": "file",
            "file": {"filename": "report.pdf", "file_data": f"data:application/pdf;base64,{b64(PDF)}"},
        },
    ]
    messages: list[Any] = [{"role": "user", "content": content}]
    with openai.OpenAI(base_url=server.url_for("openai"), api_key="k", max_retries=0) as client:
        with client.chat.completions.stream(model=MODEL, messages=messages, tools=openai_tools()) as stream:
            message = stream.get_final_completion().choices[0].message
        calls = message.tool_calls or []
        messages.append(
            {
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c in calls
                ],
            }
        )
        messages += [
            {"role": "tool", "tool_call_id": c.id, "content": RESULTS[c.function.name]} for c in calls
        ]
        final = client.chat.completions.create(model=MODEL, messages=messages, tools=openai_tools())
    parsed = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls]
    return Exchange(*bodies(server), parsed, final.choices[0].message.content or "")


async def test_openai_sdk_and_ours_send_the_same_and_read_the_same(server: ProviderServer) -> None:
    sdk = sdk_openai(server)
    mine = await ours(server, "openai", (PNG, PDF))
    assert (mine.calls, mine.final) == (sdk.calls, sdk.final)
    assert sdk.calls == [
        ("call_w1", "get_weather", {"city": "Paris"}),
        ("call_a2", "add_numbers", {"a": 40, "b": 2}),
    ]
    for key in ("messages", "tools"):
        assert mine.first[key] == sdk.first[key]
        assert mine.second[key] == sdk.second[key]


# -- Anthropic ------------------------------------------------------------------------------------


def sdk_anthropic(server: ProviderServer) -> Exchange:
    script(server)
    source = {"type": "base64", "media_type": "image/png", "data": b64(PNG)}
    document = {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)}
    messages: list[Any] = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": QUESTION},
                {"type": "image", "source": source},
                {"type": "document", "source": document},
            ],
        }
    ]
    tools: list[Any] = [
        {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in (WEATHER, ADD)
    ]
    with anthropic.Anthropic(base_url=server.url_for("anthropic"), api_key="k", max_retries=0) as client:
        with client.messages.stream(model=MODEL, max_tokens=4096, messages=messages, tools=tools) as stream:
            message = stream.get_final_message()
        uses = [block for block in message.content if block.type == "tool_use"]
        messages.append({"role": "assistant", "content": message.content})
        results = [{"type": "tool_result", "tool_use_id": u.id, "content": RESULTS[u.name]} for u in uses]
        messages.append({"role": "user", "content": results})
        final = client.messages.create(model=MODEL, max_tokens=4096, messages=messages, tools=tools)
    parsed = [(u.id, u.name, dict(u.input)) for u in uses]  # type: ignore[arg-type]
    text = "".join(block.text for block in final.content if block.type == "text")
    return Exchange(*bodies(server), parsed, text)


async def test_anthropic_sdk_and_ours_send_the_same_and_read_the_same(server: ProviderServer) -> None:
    sdk = sdk_anthropic(server)
    mine = await ours(server, "anthropic", (PNG, PDF))
    assert (mine.calls, mine.final) == (sdk.calls, sdk.final)
    assert [call[1:] for call in sdk.calls] == [
        ("get_weather", {"city": "Paris"}),
        ("add_numbers", {"a": 40, "b": 2}),
    ]
    for key in ("messages", "tools"):
        assert camel(mine.first[key]) == camel(sdk.first[key])
        assert camel(mine.second[key]) == camel(sdk.second[key])


# -- Gemini ---------------------------------------------------------------------------------------


def sdk_gemini(server: ProviderServer) -> Exchange:
    script(server)
    declarations = [
        gt.FunctionDeclaration(name=t.name, description=t.description, parameters_json_schema=t.parameters)
        for t in (WEATHER, ADD)
    ]
    config = gt.GenerateContentConfig(tools=[gt.Tool(function_declarations=declarations)])
    question = gt.Content(
        role="user",
        parts=[
            gt.Part.from_text(text=QUESTION),
            gt.Part.from_bytes(data=PNG.data, mime_type="image/png"),
            gt.Part.from_bytes(data=PDF.data, mime_type="application/pdf"),
        ],
    )
    options = gt.HttpOptions(base_url=server.url_for("gemini"), api_version="v1beta")
    client = genai.Client(api_key="k", http_options=options)
    try:
        text, call_parts = "", []
        for chunk in client.models.generate_content_stream(model=MODEL, contents=[question], config=config):
            for part in chunk.candidates[0].content.parts or []:  # type: ignore[index, union-attr]
                text += part.text or ""
                if part.function_call:
                    call_parts.append(part)
        model_turn = gt.Content(role="model", parts=[gt.Part.from_text(text=text), *call_parts])
        responses = [
            gt.Part(
                function_response=gt.FunctionResponse(
                    id=part.function_call.id,
                    name=part.function_call.name,
                    response={"result": RESULTS[part.function_call.name or ""]},
                )
            )
            for part in call_parts
        ]
        contents = [question, model_turn, gt.Content(role="user", parts=responses)]
        final = client.models.generate_content(model=MODEL, contents=contents, config=config)
    finally:
        client.close()
    assert base64.b64encode(call_parts[0].thought_signature or b"").decode() == SIGNATURE
    parsed = [
        (p.function_call.id or "", p.function_call.name or "", dict(p.function_call.args or {}))
        for p in call_parts
    ]
    return Exchange(*bodies(server), parsed, final.text or "")


async def test_gemini_sdk_and_ours_send_the_same_and_read_the_same(server: ProviderServer) -> None:
    sdk = sdk_gemini(server)
    mine = await ours(server, "gemini", (PNG, PDF))
    assert (mine.calls, mine.final) == (sdk.calls, sdk.final)
    for key in ("contents", "tools"):
        assert camel(mine.first[key]) == camel(sdk.first[key])
        assert camel(mine.second[key]) == camel(sdk.second[key])
    # The signature went back on the call's part, in both.
    assert mine.second["contents"][1]["parts"][1]["thoughtSignature"] == SIGNATURE


# -- Ollama ---------------------------------------------------------------------------------------


def sdk_ollama(server: ProviderServer) -> Exchange:
    script(server)
    messages: list[Any] = [{"role": "user", "content": QUESTION, "images": [PNG.data]}]
    tools = openai_tools()
    with ollama.Client(host=server.url_for("ollama")) as client:
        text, calls = "", []
        for part in client.chat(model=MODEL, messages=messages, tools=tools, stream=True):
            text += part.message.content or ""
            calls += part.message.tool_calls or []
        messages.append({"role": "assistant", "content": text, "tool_calls": calls})
        messages += [
            {"role": "tool", "content": RESULTS[c.function.name], "tool_name": c.function.name} for c in calls
        ]
        final = client.chat(model=MODEL, messages=messages, tools=tools)
    parsed = [(f"call_{n}", c.function.name, dict(c.function.arguments)) for n, c in enumerate(calls, 1)]
    return Exchange(*bodies(server), parsed, final.message.content or "")


async def test_ollama_sdk_and_ours_send_the_same_and_read_the_same(server: ProviderServer) -> None:
    sdk = sdk_ollama(server)
    mine = await ours(server, "ollama", (PNG,))
    assert (mine.calls, mine.final) == (sdk.calls, sdk.final)
    assert camel(mine.first["messages"]) == camel(sdk.first["messages"])
    assert camel(mine.second["messages"]) == camel(sdk.second["messages"])
    assert camel(mine.first["tools"]) == camel(sdk.first["tools"])


# -- non-streaming answers with calls, as each SDK reads them --------------------------------------


def test_each_sdk_reads_the_calls_of_a_whole_answer(server: ProviderServer) -> None:
    expected = [("get_weather", {"city": "Paris"}), ("add_numbers", {"a": 40, "b": 2})]
    server.push(*(Reply(text="", tool_calls=CALLS) for _ in range(4)))
    ask: list[Any] = [{"role": "user", "content": QUESTION}]
    with openai.OpenAI(base_url=server.url_for("openai"), api_key="k", max_retries=0) as client:
        choice = client.chat.completions.create(model=MODEL, messages=ask, tools=openai_tools()).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [
        (c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []
    ] == expected
    with anthropic.Anthropic(base_url=server.url_for("anthropic"), api_key="k", max_retries=0) as claude:
        message = claude.messages.create(model=MODEL, max_tokens=64, messages=ask)
    assert message.stop_reason == "tool_use"
    assert [(b.name, b.input) for b in message.content if b.type == "tool_use"] == expected
    client_g = genai.Client(api_key="k", http_options=gt.HttpOptions(base_url=server.url_for("gemini")))
    try:
        response = client_g.models.generate_content(model=MODEL, contents=QUESTION)
    finally:
        client_g.close()
    assert [(c.name, c.args) for c in response.function_calls or []] == expected
    assert response.candidates[0].content.parts[0].thought_signature == base64.b64decode(SIGNATURE)  # type: ignore[index, union-attr]
    with ollama.Client(host=server.url_for("ollama")) as llama:
        answer = llama.chat(model=MODEL, messages=ask, stream=False)
    assert [
        (c.function.name, dict(c.function.arguments)) for c in answer.message.tool_calls or []
    ] == expected
    assert answer.done_reason == "stop"
