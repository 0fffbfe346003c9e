"""Servers without limits meet ours: capped bodies, paging that ends, replies that end at their terminator.

Also: a streaming request answered with one whole JSON reply is read as that reply.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fakes.fake_clock import FakeClock
from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    KINDS_ON_SERVER,
    assert_event_order,
    chat,
    collect,
    make_provider,
    reasoning_of,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
)

from desktop_llm.providers import (
    AuthenticationError,
    Finish,
    ProviderConfig,
    ProviderTimeout,
    ServerError,
    StreamInterrupted,
    Usage,
)
from desktop_llm.providers.bodies import MAX_ERROR_BODY, MAX_LISTING_BODY
from desktop_llm.providers.paging import MAX_PAGES

MB = 1024 * 1024
# A reply that waited for the socket to close would wait this long: far past END_WITHIN.
PATIENT = {"read_timeout": 600.0}
END_WITHIN = 15.0  # seconds; a reply that ends at its terminator takes a fraction of one


class TickingClock(FakeClock):
    """A clock that moves ``step`` seconds each time it is read: every check sees time pass."""

    def __init__(self, step: float) -> None:
        super().__init__()
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


# -- bodies that are not streams ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_huge_error_body_is_not_read_whole(server: ProviderServer, kind: str) -> None:
    huge = 256 * MB
    server.push(
        Reply(
            status=500, raw_body=b"x" * (64 * 1024), raw_repeat=huge // (64 * 1024), content_type="text/plain"
        )
    )
    async with make_provider(server, kind, max_retries=0) as provider:
        with pytest.raises(ServerError) as caught:
            await collect(provider)
    assert "had a server error (500)" in str(caught.value) and len(str(caught.value)) < 600
    # The server notices that the client left, then records what it had written.
    [sent] = await asyncio.to_thread(server.wait_for_responses, 1, 10.0)
    assert sent < 32 * MB  # the client stopped reading near the cap (plus socket buffers)
    assert MAX_ERROR_BODY <= 1 * MB


@pytest.mark.parametrize("kind", ["openai", "gemini"])
async def test_a_model_list_past_the_cap_is_refused(server: ProviderServer, kind: str) -> None:
    key = "data" if kind == "openai" else "models"
    filler = [
        {"id": f"m{i}", "name": f"models/m{i}", "description": "x" * 1000}
        for i in range(MAX_LISTING_BODY // 1000)
    ]
    server.listing = lambda _query: json.dumps({key: filler}).encode()
    async with make_provider(server, kind, max_retries=0) as provider:
        with pytest.raises(ServerError, match="larger than"):
            await provider.list_models()


# -- paging ------------------------------------------------------------------------------------

PAGES: dict[str, Any] = {
    "openai": lambda models, cursor: {
        "data": [{"id": m} for m in models],
        "has_more": True,
        "last_id": cursor,
    },
    "anthropic": lambda models, cursor: {
        "data": [{"id": m} for m in models],
        "has_more": True,
        "last_id": cursor,
    },
    "gemini": lambda models, cursor: {
        "models": [{"name": f"models/{m}"} for m in models],
        "nextPageToken": cursor,
    },
}


@pytest.mark.parametrize("kind", sorted(PAGES))
async def test_paging_stops_when_the_cursor_repeats(server: ProviderServer, kind: str) -> None:
    server.listing = lambda _query: json.dumps(PAGES[kind](["a", "b"], "same-cursor")).encode()
    async with make_provider(server, kind) as provider:
        models = await provider.list_models()
    assert [m.id for m in models] == ["a", "b"]
    assert len(server.requests) == 2  # the first page, then the one whose cursor came back


@pytest.mark.parametrize("kind", sorted(PAGES))
async def test_paging_stops_after_the_page_limit(server: ProviderServer, kind: str) -> None:
    pages = iter(range(10_000))

    def listing(_query: dict[str, str]) -> bytes:
        page = next(pages)
        return json.dumps(PAGES[kind]([f"m{page}"], f"cursor-{page}")).encode()

    server.listing = listing
    async with make_provider(server, kind) as provider:
        models = await provider.list_models()
    assert len(server.requests) == MAX_PAGES
    assert [m.id for m in models] == [f"m{page}" for page in range(MAX_PAGES)]


# -- the end of a reply ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_a_reply_ends_at_its_terminator_while_the_connection_stays_open(
    server: ProviderServer, kind: str
) -> None:
    server.push(Reply(text="all of it", hold_open=True))
    async with make_provider(server, kind, **PATIENT) as provider, asyncio.timeout(END_WITHIN):
        events = await collect(provider)
    assert text_of(events) == "all of it"
    assert_event_order(events)


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_junk_after_the_terminator_is_ignored(server: ProviderServer, kind: str) -> None:
    junk = b"data: {not json\n\n" + b"\xff\xfe garbage \n" * 100
    server.push(Reply(text="all of it", after_terminator=junk, hold_open=True))
    async with make_provider(server, kind, **PATIENT) as provider, asyncio.timeout(END_WITHIN):
        events = await collect(provider)
    assert text_of(events) == "all of it" and isinstance(events[-1], Finish)


async def test_junk_in_the_same_chunk_as_ollamas_last_line_is_ignored(server: ProviderServer) -> None:
    body = (
        b'{"message":{"content":"hi"},"done":false}\n'
        b'{"message":{"content":""},"done":true,"done_reason":"stop"}\n'
        b"not json\n"
    )
    server.push(Reply(raw_body=body, content_type="application/x-ndjson", hold_open=True))
    async with make_provider(server, "ollama", **PATIENT) as provider, asyncio.timeout(END_WITHIN):
        events = await collect(provider)
    assert text_of(events) == "hi" and events[-1] == Finish("stop")


async def test_a_well_behaved_server_keeps_its_connection_for_the_next_reply(server: ProviderServer) -> None:
    async with make_provider(server, "anthropic") as provider:
        for _ in range(3):
            await collect(provider)
        assert server.open_connections == 1


# -- keep-alives without content ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_keepalives_alone_do_not_hold_a_reply_open_forever(server: ProviderServer, kind: str) -> None:
    server.push(Reply(ping_every=0.01))
    async with make_provider(server, kind, max_retries=0, content_timeout=300.0) as provider:
        provider.clock = TickingClock(step=100.0)  # each keep-alive arrives "100 s" after the last
        with pytest.raises(ProviderTimeout) as caught:
            await collect(provider)
    message = str(caught.value)
    assert "300 s without sending any of the reply" in message and "Settings > General" in message
    assert not caught.value.retryable


async def test_keepalives_after_some_text_interrupt_the_reply_keeping_it(server: ProviderServer) -> None:
    server.push(Reply(text="one two three", silence_after=1, silence_seconds=0.3, delay=0.0))
    clock = FakeClock()
    async with make_provider(server, "openai", max_retries=0, content_timeout=60.0) as provider:
        provider.clock = clock
        events = []
        async for event in provider.stream(chat()):
            events.append(event)
            clock.advance(59.0)  # content keeps coming within the limit: nothing fails
    assert text_of(events) == "one two three"

    server.push(Reply(text="one two three", ping_every=0.01))
    async with make_provider(server, "anthropic", max_retries=0, content_timeout=60.0) as provider:
        provider.clock = TickingClock(step=30.0)
        with pytest.raises(ProviderTimeout):
            await collect(provider)


def test_the_content_timeout_is_a_positive_setting_with_a_default() -> None:
    assert ProviderConfig("openai").content_timeout == 300.0
    assert ProviderConfig("openai", content_timeout=42).content_timeout == 42.0
    with pytest.raises(ValueError, match="positive"):
        ProviderConfig("openai", content_timeout=0)


# -- a whole JSON reply to a streaming request ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_a_whole_json_reply_to_a_streaming_request_is_read(server: ProviderServer, kind: str) -> None:
    server.push(
        Reply(
            text="The whole answer at once.",
            reasoning="Thinking it over." if kind != "openai" else "",
            whole_json=True,
            usage={"input_tokens": 11, "output_tokens": 7},
            model="served-model",
            finish="length",
        )
    )
    async with make_provider(server, kind) as provider:
        events = await collect(provider)
    assert server.chat_requests[0].json.get("stream", True) is not False  # it asked for a stream
    assert text_of(events) == "The whole answer at once."
    if kind != "openai":
        assert reasoning_of(events) == "Thinking it over."
    assert_event_order(events)
    assert events[-1] == Finish("length")
    usage = [e for e in events if isinstance(e, Usage)]
    assert usage and (usage[0].input_tokens, usage[0].output_tokens) == (11, 7)


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_a_whole_json_reply_gives_the_served_model(server: ProviderServer, kind: str) -> None:
    server.push(Reply(text="fine", whole_json=True, model="served-model"))
    async with make_provider(server, kind) as provider:
        result = await provider.complete(chat(model="asked-model"))
    assert (result.text, result.model, result.finish_reason) == ("fine", "served-model", "stop")


async def test_a_whole_json_reply_is_found_by_its_first_byte_whatever_its_content_type(
    server: ProviderServer,
) -> None:
    completion = {
        "object": "chat.completion",
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "sniffed"}, "finish_reason": "stop"}
        ],
    }
    body = b"\xef\xbb\xbf \n" + json.dumps(completion).encode()
    server.push(Reply(raw_body=body, content_type="text/event-stream", write_size=1))
    async with make_provider(server, "openai") as provider:
        assert (await provider.complete(chat())).text == "sniffed"


async def test_a_json_array_from_gemini_without_sse_is_read(server: ProviderServer) -> None:
    responses = [
        {"candidates": [{"content": {"parts": [{"text": "Hello "}]}}]},
        {"candidates": [{"content": {"parts": [{"text": "there"}]}, "finishReason": "STOP"}]},
    ]
    server.push(Reply(raw_body=json.dumps(responses).encode()))
    async with make_provider(server, "gemini") as provider:
        assert (await provider.complete(chat())).text == "Hello there"


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_an_error_object_as_the_whole_reply_is_that_error(server: ProviderServer, kind: str) -> None:
    bodies = {
        "openai": {"error": {"message": "Invalid API key", "type": "authentication_error"}},
        "anthropic": {
            "type": "error",
            "error": {"type": "authentication_error", "message": "Invalid API key"},
        },
        "gemini": {"error": {"code": 401, "message": "Invalid API key", "status": "UNAUTHENTICATED"}},
    }
    server.push(Reply(raw_body=json.dumps(bodies[kind]).encode()))
    async with make_provider(server, kind, max_retries=0) as provider:
        with pytest.raises(AuthenticationError, match="Invalid API key"):
            await collect(provider)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_whole_reply_cut_short_is_not_a_finished_reply(server: ProviderServer, kind: str) -> None:
    server.push(Reply(text="never whole", whole_json=True, malformed_after=0))
    async with make_provider(server, kind, max_retries=0) as provider:
        with pytest.raises((ServerError, StreamInterrupted), match="could not be read"):
            await collect(provider)
