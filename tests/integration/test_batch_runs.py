"""Batch runs against the fake provider server with real sockets and our real OpenAI provider.

Every row ends done or failed with its reason under faults (429 with retry-after, dropped
streams, server errors); the rate limit holds as the server counts requests; cancel and resume;
answers to identical requests come from the cache (in memory and in SQLite).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fakes.fake_clock import FakeClock
from fakes.provider_server import ProviderServer, Reply

from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.providers import ProviderConfig, RetryPolicy, create_provider
from desktop_llm.providers.base import Provider
from desktop_llm.services.batch import BatchProgress, BatchRunner
from desktop_llm.services.rate_limit import RateLimiter
from desktop_llm.services.response_cache import MemoryResponseCache, ResponseCache
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.response_cache import SqliteResponseCache

KEY = "sk-batch-test-key"
TEMPLATE = PromptTemplate(
    name="Translate",
    system="You translate into {language}.",
    user="Translate: {text}",
    specs=(VariableSpec("language", default="French", trusted=True),),
)


def rows(count: int) -> list[dict[str, str]]:
    return [{"text": f"sentence {index}", "id": f"r{index}"} for index in range(count)]


def asked(server: ProviderServer) -> list[str]:
    """Return the user message of every chat request the server received, in order."""
    return [request.json["messages"][-1]["content"] for request in server.chat_requests]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    """The retry waits the providers asked for (recorded, not slept)."""
    return []


@pytest.fixture
def provider(server: ProviderServer, waits: list[float]) -> Provider:
    """Our OpenAI provider pointed at the server; tests close it with ``async with``."""

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    config = ProviderConfig("openai", api_key=KEY, base_url=server.url_for("openai"))
    return create_provider(config, retry=RetryPolicy(max_retries=3, sleep=no_wait))


async def test_every_row_is_sent_as_its_own_rendered_request(
    server: ProviderServer, provider: Provider
) -> None:
    async with provider:
        runner = BatchRunner(provider, TEMPLATE, rows(12), model="gpt-test", temperature=0.3, concurrency=4)
        results = await runner.run()
        assert sorted(results) == list(range(12))
        assert all(result.ok and result.text == "Hello from the fake server." for result in results.values())
        assert all(result.usage is not None and result.model == "gpt-test" for result in results.values())
        assert sorted(asked(server)) == sorted(f"Translate: sentence {index}" for index in range(12))
        body = server.chat_requests[0].json
        assert body["messages"][0] == {"role": "system", "content": "You translate into French."}
        assert (body["model"], body["temperature"]) == ("gpt-test", 0.3)


async def test_under_faults_every_row_ends_done_or_failed_with_its_reason(
    server: ProviderServer, provider: Provider, waits: list[float]
) -> None:
    async with provider:
        # One request at a time, so each row meets the replies scripted for it.
        server.push(
            Reply(status=429, headers={"retry-after": "1"}),  # row 0: retried after 1 s, then answered
            Reply(text="zero"),
            Reply(text="one two three", drop_after=1),  # row 1: the connection drops mid-stream
            *[Reply(status=500, error_message="the GPU caught fire")] * 4,  # row 2: 1 + 3 retries, all fail
            Reply(status=429, headers={"retry-after": "2"}),  # row 3: two 429s, then answered
            Reply(status=429, headers={"retry-after-ms": "250"}),
            Reply(text="three"),
            Reply(status=400, error_message="max_tokens is too large"),  # row 4: not retryable
            Reply(text="five"),  # row 5
        )
        results = await BatchRunner(provider, TEMPLATE, rows(6), model="m", concurrency=1).run()

        assert [results[index].status for index in range(6)] == [
            "done",
            "failed",
            "failed",
            "done",
            "failed",
            "done",
        ]
        assert [results[index].text for index in (0, 3, 5)] == ["zero", "three", "five"]
        assert "cut off" in (results[1].error or "") and results[1].text == "one"
        assert "500" in (results[2].error or "") and "the GPU caught fire" in (results[2].error or "")
        assert "max_tokens is too large" in (results[4].error or "")
        assert all(KEY not in (result.error or "") for result in results.values())
        assert len(server.chat_requests) == 2 + 1 + 4 + 3 + 1 + 1
        # The 429s' own waits were honoured (the three 500 retries back off by their own rule).
        assert [waits[0], *waits[-2:]] == [1.0, 2.0, 0.25]
        assert len(waits) == 6


async def test_concurrent_rows_under_faults_all_finish(server: ProviderServer, provider: Provider) -> None:
    async with provider:
        # Whichever request meets a fault: a 429 or 503 is retried (there are three, so even a
        # row meeting all of them stays within its three retries), a dropped stream fails
        # exactly the row that met it.
        server.push(
            Reply(status=429, headers={"retry-after": "1"}),
            Reply(text="a b c", drop_after=1),
            Reply(status=429, headers={"retry-after": "1"}),
            Reply(status=503),
            Reply(text="a b c", drop_after=2),
        )
        events: list[BatchProgress] = []
        runner = BatchRunner(
            provider, TEMPLATE, rows(20), model="m", concurrency=5, on_progress=events.append
        )
        results = await runner.run()
        assert len(results) == 20 and runner.unfinished() == []
        failed = [result for result in results.values() if not result.ok]
        assert len(failed) == 2
        assert all("cut off" in (result.error or "") for result in failed)
        assert (events[-1].done, events[-1].failed, events[-1].total) == (18, 2, 20)
        assert len(server.chat_requests) == 20 + 3  # every row once, plus one retry per 429/503


@pytest.mark.parametrize("window", [60.0, 0.3], ids=["fake-minute", "real-short-window"])
async def test_the_rate_limit_holds_as_the_server_counts(
    server: ProviderServer, provider: Provider, window: float
) -> None:
    """At most 3 requests reach the server per window, counted by the server.

    The limiter sleeps only when a window is full, and lets nothing through while it sleeps. So
    at that moment the test waits until the server has received every request let through so
    far, then checks that no other request arrives before the window is over. The window is
    either a fake minute (the clock jumps) or a real 0.3 s.
    """
    async with provider:
        fake = FakeClock()
        real = window < 1.0
        seen_per_window: list[int] = []

        async def sleep_and_check(seconds: float) -> None:
            expected = 3 * (len(seen_per_window) + 1)
            await asyncio.to_thread(server.wait_for_requests, expected, 10.0)
            await (asyncio.sleep(seconds) if real else asyncio.sleep(0.2))  # a stray request arrives now
            seen_per_window.append(len(server.chat_requests) - 3 * len(seen_per_window))
            if not real:
                await fake.sleep(seconds)

        clock = time.monotonic if real else fake
        limiter = RateLimiter(3, window, clock=clock, sleep=sleep_and_check)
        runner = BatchRunner(provider, TEMPLATE, rows(10), model="m", concurrency=10, rate_limiter=limiter)
        results = await runner.run()
        assert len(results) == 10 and all(result.ok for result in results.values())
        assert seen_per_window == [3, 3, 3]
        assert len(server.chat_requests) == 10
        if not real:
            assert fake.sleeps == [60.0, 60.0, 60.0]


async def test_cancel_then_resume_sends_each_unfinished_row_again(
    server: ProviderServer, provider: Provider
) -> None:
    async with provider:
        runner: BatchRunner

        def cancel_after_four(progress: BatchProgress) -> None:
            if progress.finished == 4:
                runner.cancel()

        server.push(*[Reply(text="quick")] * 4, *[Reply(text="slow", silence_before=60.0)] * 2)
        runner = BatchRunner(
            provider, TEMPLATE, rows(10), model="m", concurrency=2, on_progress=cancel_after_four
        )
        # The slow requests in flight at the cancel must be abandoned, not awaited for a minute.
        first = await asyncio.wait_for(runner.run(), timeout=30)
        assert runner.cancelled and len(first) == 4
        finished_first = {f"Translate: sentence {index}" for index in first}
        asked_first = asked(server)
        server.reset()  # drop a slow reply no abandoned request popped

        runner.on_progress = None
        results = await runner.run()
        assert sorted(results) == list(range(10)) and all(result.ok for result in results.values())
        counts = Counter(asked_first + asked(server))
        assert all(counts[text] == 1 for text in finished_first)  # finished rows are never sent again
        assert set(counts) == {f"Translate: sentence {index}" for index in range(10)}


@asynccontextmanager
async def open_cache(kind: str, folder: Path) -> AsyncIterator[ResponseCache]:
    if kind == "memory":
        yield MemoryResponseCache()
        return
    async with DatabaseThread(folder / "desktop-llm.sqlite3") as thread:
        yield SqliteResponseCache(thread)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_identical_requests_are_answered_from_the_cache(
    server: ProviderServer, provider: Provider, kind: str, tmp_path: Path
) -> None:
    async with provider, open_cache(kind, tmp_path) as cache:
        await check_cache_hits(server, provider, cache)


async def check_cache_hits(server: ProviderServer, provider: Provider, cache: ResponseCache) -> None:
    server.push(Reply(text="un"), Reply(text="deux"))
    data = [{"text": "one"}, {"text": "two"}, {"text": "one"}]
    first = await BatchRunner(
        provider, TEMPLATE, data, model="m", temperature=0, cache=cache, concurrency=1
    ).run()
    assert [(first[i].text, first[i].cached) for i in range(3)] == [
        ("un", False),
        ("deux", False),
        ("un", True),
    ]
    assert len(server.chat_requests) == 2

    again = await BatchRunner(provider, TEMPLATE, data, model="m", temperature=0, cache=cache).run()
    assert [again[i].text for i in range(3)] == ["un", "deux", "un"]
    assert all(result.cached for result in again.values())
    assert len(server.chat_requests) == 2  # the server saw nothing new

    warmer = await BatchRunner(provider, TEMPLATE, data[:1], model="m", temperature=0.7, cache=cache).run()
    assert not warmer[0].cached and len(server.chat_requests) == 3  # off by default above temperature 0
