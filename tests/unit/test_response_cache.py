"""The response cache: keys, stored replies, and the LRU-with-expiry policy in memory and in SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fakes.fake_clock import FakeClock

from desktop_llm.providers import ChatRequest, ChatResult, Message, Usage
from desktop_llm.services.response_cache import (
    MemoryResponseCache,
    ResponseCache,
    cached_reply,
    reply_from_cache,
    request_key,
)
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.response_cache import SqliteResponseCache


@asynccontextmanager
async def memory_cache(tmp_path: Path, clock: FakeClock, **policy: float) -> AsyncIterator[ResponseCache]:
    yield MemoryResponseCache(clock=clock, **policy)  # type: ignore[arg-type]


@asynccontextmanager
async def sqlite_cache(tmp_path: Path, clock: FakeClock, **policy: float) -> AsyncIterator[ResponseCache]:
    async with DatabaseThread(tmp_path / "desktop-llm.sqlite3") as thread:
        yield SqliteResponseCache(thread, clock=clock, **policy)  # type: ignore[arg-type]


both = pytest.mark.parametrize("make_cache", [memory_cache, sqlite_cache], ids=["memory", "sqlite"])


@both
async def test_a_stored_value_comes_back_and_a_new_put_replaces_it(make_cache, tmp_path: Path) -> None:
    clock = FakeClock()
    async with make_cache(tmp_path, clock) as cache:
        assert await cache.get("k") is None
        await cache.put("k", {"text": "één", "n": [1, 2]})
        assert await cache.get("k") == {"text": "één", "n": [1, 2]}
        await cache.put("k", {"text": "two"})
        assert await cache.get("k") == {"text": "two"}


@both
async def test_entries_expire_max_age_after_they_were_stored(make_cache, tmp_path: Path) -> None:
    clock = FakeClock()
    async with make_cache(tmp_path, clock, max_age=60.0) as cache:
        await cache.put("k", {"v": 1})
        clock.advance(59.0)
        assert await cache.get("k") == {"v": 1}  # using it does not extend its life
        clock.advance(1.0)
        assert await cache.get("k") is None
        clock.advance(-30.0)
        assert await cache.get("k") is None  # an expired entry is gone, not hidden


@both
async def test_the_least_recently_used_entry_goes_first(make_cache, tmp_path: Path) -> None:
    clock = FakeClock()
    async with make_cache(tmp_path, clock, max_entries=3) as cache:
        for key in "abc":
            await cache.put(key, {"key": key})
            clock.advance(1.0)
        assert await cache.get("a") == {"key": "a"}  # now b is the least recently used
        clock.advance(1.0)
        await cache.put("d", {"key": "d"})
        assert [key for key in "abcd" if await cache.get(key) is not None] == ["a", "c", "d"]


@pytest.mark.parametrize(
    "construct",
    [MemoryResponseCache, lambda **policy: SqliteResponseCache(None, **policy)],  # type: ignore[arg-type]
    ids=["memory", "sqlite"],
)
def test_a_cache_needs_room_and_time(construct: Callable[..., object]) -> None:
    with pytest.raises(ValueError, match="one entry"):
        construct(max_entries=0)
    with pytest.raises(ValueError, match="positive max_age"):
        construct(max_age=0)


async def test_the_sqlite_cache_outlives_the_process_and_prunes(tmp_path: Path) -> None:
    clock = FakeClock(start=1_800_000_000.0)
    async with sqlite_cache(tmp_path, clock, max_age=100.0) as cache:
        await cache.put("old", {"v": 1})
        clock.advance(60.0)
        await cache.put("new", {"v": 2})
    async with sqlite_cache(tmp_path, clock, max_age=100.0) as cache:
        assert await cache.get("old") == {"v": 1}
        clock.advance(50.0)
        assert isinstance(cache, SqliteResponseCache)
        assert await cache.prune() == 1
        assert await cache.get("new") == {"v": 2}
        assert await cache.get("old") is None


def request(**changes: object) -> ChatRequest:
    fields: dict[str, object] = {
        "model": "m",
        "messages": [Message("system", "s"), Message("user", "u")],
        "temperature": 0.0,
        "max_tokens": None,
    }
    fields.update(changes)
    return ChatRequest(**fields)  # type: ignore[arg-type]


def test_equal_requests_share_a_key() -> None:
    assert request_key("p", request()) == request_key(
        "p", request(messages=(Message("system", "s"), Message("user", "u")))
    )


@pytest.mark.parametrize(
    "other",
    [
        ("q", request()),
        ("p", request(model="n")),
        ("p", request(messages=[Message("user", "s"), Message("user", "u")])),
        ("p", request(messages=[Message("system", "s"), Message("user", "u ")])),
        ("p", request(messages=[Message("system", "su")])),
        ("p", request(temperature=None)),
        ("p", request(temperature=0.5)),
        ("p", request(max_tokens=100)),
    ],
)
def test_anything_that_changes_the_answer_changes_the_key(other: tuple[str, ChatRequest]) -> None:
    assert request_key(*other) != request_key("p", request())


@pytest.mark.parametrize(
    "result",
    [
        ChatResult("text", Usage(5, 7, 1, 2), "length", "m-2024", reasoning="hmm"),
        ChatResult("", None, "stop", "m"),
    ],
)
def test_a_reply_survives_the_cache(result: ChatResult) -> None:
    assert reply_from_cache(cached_reply(result)) == result
