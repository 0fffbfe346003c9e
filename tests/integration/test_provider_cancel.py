"""A stream stopped half-way (closed, cancelled, timed out) frees its connection at once."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest
from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    KINDS_ON_SERVER,
    chat,
    collect,
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
)

from desktop_llm.providers import Finish, TextDelta
from desktop_llm.providers.base import Provider

LONG = Reply(text=" ".join(f"word{i}" for i in range(200)), delay=0.02)


async def _until_closed(server: ProviderServer, within: float = 2.0) -> int:
    """Wait (without blocking the loop) for the server to see every connection closed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    # The count lives on the server's thread; there is no event to wait on, so poll it.
    while server.open_connections and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    return server.open_connections


async def _read_some(provider: Provider, count: int = 3) -> None:
    """Consume ``count`` text deltas, then wait on the stream forever (until cancelled)."""
    seen = 0
    async for event in provider.stream(chat()):
        if isinstance(event, TextDelta):
            seen += 1
        if seen == count:
            await asyncio.Event().wait()


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_closing_the_stream_half_way_closes_the_connection(server: ProviderServer, kind: str) -> None:
    server.push(LONG)
    async with make_provider(server, kind) as provider:
        async with aclosing(provider.stream(chat())) as events:
            async for event in events:
                if isinstance(event, TextDelta) and event.text == " word2":
                    break
        assert await _until_closed(server) == 0


@pytest.mark.parametrize("kind", KINDS_ON_SERVER)
async def test_cancelling_the_task_half_way_closes_the_connection(server: ProviderServer, kind: str) -> None:
    server.push(LONG)
    async with make_provider(server, kind) as provider:
        task = asyncio.create_task(_read_some(provider))
        await asyncio.to_thread(server.wait_for_requests, 1)
        await asyncio.sleep(0.1)  # let a few deltas arrive
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _until_closed(server) == 0


async def test_a_timeout_around_complete_closes_the_connection(server: ProviderServer) -> None:
    server.push(LONG)
    async with make_provider(server, "anthropic") as provider:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.15):
                await provider.complete(chat())
        assert await _until_closed(server) == 0


async def test_cancel_while_waiting_for_headers_closes_the_connection(server: ProviderServer) -> None:
    server.push(Reply(status=503, silence_before=5.0))
    async with make_provider(server, "openai") as provider:
        task = asyncio.create_task(collect(provider))
        await asyncio.to_thread(server.wait_for_requests, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _until_closed(server) == 0


async def test_the_provider_still_works_after_a_cancelled_stream(server: ProviderServer) -> None:
    server.push(LONG, Reply(text="Next one."))
    async with make_provider(server, "gemini") as provider:
        async with aclosing(provider.stream(chat())) as events:
            async for _event in events:
                break
        events = await collect(provider)
    assert events[-1] == Finish("stop")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Next one."


async def test_closing_the_provider_closes_idle_connections(server: ProviderServer) -> None:
    async with make_provider(server, "ollama", api_key=None) as provider:
        await collect(provider)
        assert server.open_connections == 1  # kept alive in the pool for the next request
    assert await _until_closed(server) == 0
