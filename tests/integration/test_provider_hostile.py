"""Whatever a hostile or broken server sends, a provider call fails only with a ``ProviderError``.

Deeply nested JSON (in an event, an error body, a model list), values of the wrong type, text
no file can store, headers HTTP cannot carry, an address that is not a URL: each is named in
words a person can act on, and the app keeps running.
"""

from __future__ import annotations

import json

import pytest
from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    KINDS_ON_SERVER,
    chat,
    collect,
    error_of,
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
)

from desktop_llm.providers import (
    ConnectionFailed,
    ProviderConfig,
    ProviderError,
    ServerError,
    StreamInterrupted,
    TextDelta,
    create_provider,
)

DEPTH = 100_000  # far past Python's recursion limit
NESTED = b"[" * DEPTH + b"]" * DEPTH
NESTED_OBJECT = b'{"error":' * DEPTH + b"1" + b"}" * DEPTH
SSE_KINDS = ("openai", "anthropic", "gemini")


def sse_body(*events: bytes | str, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return b"".join(head + b"data: " + (e.encode() if isinstance(e, str) else e) + b"\n\n" for e in events)


# -- deeply nested JSON ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SSE_KINDS)
@pytest.mark.parametrize("nested", [NESTED, NESTED_OBJECT], ids=["array", "object"])
async def test_a_deeply_nested_event_is_unreadable_data(
    server: ProviderServer, kind: str, nested: bytes
) -> None:
    reply = Reply(raw_body=sse_body(nested), content_type="text/event-stream")
    error = await error_of(server, kind, reply)
    assert isinstance(error, ServerError)
    assert "nested too deeply" in str(error)


async def test_a_deeply_nested_ndjson_line_is_unreadable_data(server: ProviderServer) -> None:
    reply = Reply(raw_body=NESTED_OBJECT + b"\n", content_type="application/x-ndjson")
    error = await error_of(server, "ollama", reply)
    assert isinstance(error, ServerError) and "nested too deeply" in str(error)


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
@pytest.mark.parametrize("nested", [NESTED, NESTED_OBJECT], ids=["array", "object"])
async def test_a_deeply_nested_error_body_still_maps_by_status(
    server: ProviderServer, kind: str, nested: bytes
) -> None:
    error = await error_of(server, kind, Reply(status=503, raw_body=nested))
    assert isinstance(error, ServerError)
    assert error.status_code == 503 and "overloaded (503)" in str(error)
    assert len(str(error)) < 600  # the body is quoted, shortened


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_a_deeply_nested_model_list_is_unreadable_data(server: ProviderServer, kind: str) -> None:
    server.listing = lambda _query: NESTED_OBJECT
    async with make_provider(server, kind, max_retries=0) as provider:
        with pytest.raises(ServerError, match="nested too deeply"):
            await provider.list_models()


async def test_a_deeply_nested_error_event_is_unreadable_data(server: ProviderServer) -> None:
    body = sse_body(b'{"type":"error","error":' + NESTED + b"}", event="error")
    error = await error_of(server, "anthropic", Reply(raw_body=body, content_type="text/event-stream"))
    assert isinstance(error, ServerError) and "nested too deeply" in str(error)


# -- values of the wrong type ------------------------------------------------------------------

WRONG_SHAPES = [
    ("openai", sse_body('{"choices":[{"index":0,"delta":{"content":5}}]}')),
    ("openai", sse_body('{"choices":"abc"}')),
    ("openai", sse_body('{"choices":[{"index":0,"delta":[1]}]}')),
    (
        "openai",
        sse_body('{"model":{"x":1},"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"stop"}]}'),
    ),
    ("openai", sse_body('{"choices":[{"index":0,"delta":{},"finish_reason":7}]}')),
    ("anthropic", sse_body('{"type":"message_delta","delta":{"stop_reason":["x"]}}', event="message_delta")),
    ("anthropic", sse_body('{"type":"content_block_delta","delta":"text"}', event="content_block_delta")),
    ("anthropic", sse_body('{"type":"message_start","message":[1]}', event="message_start")),
    ("gemini", sse_body('{"candidates":["x"]}')),
    ("gemini", sse_body('{"candidates":[{"content":{"parts":[{"text":{"a":1}}]},"finishReason":"STOP"}]}')),
    ("gemini", sse_body('{"candidates":[{"finishReason":12}]}')),
    (
        "gemini",
        sse_body(
            '{"candidates":[{"content":{"parts":[{"functionCall":{"name":{"x":1}}}]},"finishReason":"STOP"}]}'
        ),
    ),
    (
        "openai",
        sse_body(
            '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":["x"],'
            '"function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}'
        ),
    ),
    ("ollama", b'{"message":[1],"done":false}\n'),
    ("ollama", b'{"message":{"content":"hi"},"done":true,"prompt_eval_count":"5"}\n'),
]


@pytest.mark.parametrize(("kind", "body"), WRONG_SHAPES)
async def test_values_of_the_wrong_type_are_unreadable_data(
    server: ProviderServer, kind: str, body: bytes
) -> None:
    content_type = "application/x-ndjson" if kind == "ollama" else "text/event-stream"
    error = await error_of(server, kind, Reply(raw_body=body, content_type=content_type))
    assert isinstance(error, ServerError)
    assert "could not be read" in str(error)


async def test_odd_entries_in_a_model_list_are_skipped(server: ProviderServer) -> None:
    server.listing = lambda _query: json.dumps(
        {
            "data": [
                {"id": "good-1"},
                {"id": 5},
                "junk",
                [1],
                {"id": {"x": 1}},
                {"id": "good-2", "owned_by": 3},
            ]
        }
    ).encode()
    async with make_provider(server, "openai") as provider:
        models = await provider.list_models()
    assert [(m.id, m.owned_by) for m in models] == [("good-1", ""), ("good-2", "")]


async def test_odd_gemini_and_ollama_listings_are_skipped(server: ProviderServer) -> None:
    server.listing = lambda _query: json.dumps(
        {
            "models": [
                {"name": "models/ok", "inputTokenLimit": "lots", "supportedGenerationMethods": 3},
                {"name": 7},
                "junk",
            ],
            "nextPageToken": {"not": "text"},
        }
    ).encode()
    async with make_provider(server, "gemini") as provider:
        models = await provider.list_models()
    assert [(m.id, m.context_window) for m in models] == [("ok", None)]

    server.listing = lambda _query: json.dumps({"models": [{"name": "llama3"}, {"model": 1}, 2]}).encode()
    async with make_provider(server, "ollama") as provider:
        assert [m.id for m in await provider.list_models()] == ["llama3"]


# -- text no file can store --------------------------------------------------------------------


async def test_lone_surrogates_in_text_become_replacement_characters(server: ProviderServer) -> None:
    body = sse_body(
        '{"model":"m\\ud800","choices":[{"index":0,"delta":{"content":"a\\ud800b \\ud83d\\ude00"}}]}',
        '{"choices":[{"index":0,"delta":{},"finish_reason":"stop\\udfff"}]}',
        "[DONE]",
    )
    server.push(Reply(raw_body=body, content_type="text/event-stream"))
    async with make_provider(server, "openai") as provider:
        result = await provider.complete(chat())
    assert result.text == "a\ufffdb \U0001f600"
    assert result.model == "m\ufffd" and result.finish_reason == "stop\ufffd"
    result.text.encode("utf-8")  # storable


async def test_an_error_body_with_lone_surrogates_is_quoted_cleanly(server: ProviderServer) -> None:
    error = await error_of(
        server, "openai", Reply(status=400, raw_body=b'{"error":{"message":"bad \\udc80"}}')
    )
    assert "bad \ufffd" in str(error)
    str(error).encode("utf-8")


# -- addresses that cannot be reached ----------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:99999/v1", "http://[::1/v1", "http://127.0.0.1:0/v1"])
async def test_an_address_that_is_not_a_url_is_a_connection_failure(base_url: str) -> None:
    config = ProviderConfig("openai-compatible", base_url=base_url)
    async with create_provider(config) as provider:
        with pytest.raises(ConnectionFailed, match="not a valid URL") as caught:
            await collect(provider)
        with pytest.raises(ConnectionFailed, match="not a valid URL"):
            await provider.list_models()
    assert not caught.value.retryable


async def test_text_deltas_after_a_hostile_stream_are_plain_strings(server: ProviderServer) -> None:
    """The good part of a stream still arrives as ``str`` before the bad event ends it."""
    body = sse_body(
        '{"choices":[{"index":0,"delta":{"content":"fine "}}]}', '{"choices":[{"delta":{"content":[1]}}]}'
    )
    server.push(Reply(raw_body=body, content_type="text/event-stream"))
    received = []
    async with make_provider(server, "openai", max_retries=0) as provider:
        with pytest.raises(ProviderError) as caught:
            async for event in provider.stream(chat()):
                received.append(event)
    assert text_of(received) == "fine " and all(isinstance(e, TextDelta) for e in received)
    assert getattr(caught.value, "partial_text", None) == "fine "


# -- the interruption's cause ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        sse_body('{"choices":[{"index":0,"delta":{"content":"Half a"}}]}'),  # ends before a finish reason
        sse_body('{"choices":[{"index":0,"delta":{"content":"Half a"}}]}', '{"choices":"bad"}'),
    ],
    ids=["ended-early", "malformed-after-output"],
)
async def test_an_interruption_is_never_its_own_cause(server: ProviderServer, body: bytes) -> None:
    server.push(Reply(raw_body=body, content_type="text/event-stream"))
    async with make_provider(server, "openai", max_retries=0) as provider:
        with pytest.raises(StreamInterrupted) as caught:
            await collect(provider)
    error = caught.value
    assert error.partial_text == "Half a"
    seen = []
    link: BaseException | None = error
    while link is not None:  # the chain of causes ends
        assert all(link is not earlier for earlier in seen), "a cycle in __cause__"
        seen.append(link)
        link = link.__cause__
    assert error.__cause__ is not error
