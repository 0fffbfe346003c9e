"""Remember answers to identical requests: the cache interface, its key, and an in-memory cache.

A cache maps a key (``request_key``: a hash of where the request goes and everything in it) to
a JSON object (``cached_reply``/``reply_from_cache``). Entries expire ``max_age`` seconds after
they were stored and the least recently used go first once there are more than ``max_entries``.
``MemoryResponseCache`` lives for one process; ``desktop_llm.storage.response_cache`` keeps the
same kind of cache in the database.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from desktop_llm.providers import ChatRequest, ChatResult, Usage

__all__ = ["MemoryResponseCache", "ResponseCache", "cached_reply", "reply_from_cache", "request_key"]

KEY_VERSION = 1  # part of every key: a change to what a key covers makes old entries unreachable


class ResponseCache(Protocol):
    """Where cached answers are kept; ``get`` of an expired or evicted key returns None."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the value stored under ``key``, marking it recently used, or None."""
        ...

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` (a JSON object) under ``key``, replacing any older value."""
        ...


def request_key(scope: str, request: ChatRequest) -> str:
    """Return the cache key of ``request`` sent to the provider identified by ``scope``.

    ``scope`` tells providers apart (the app passes the provider setting's id), since two
    servers may serve different models under one name.
    """
    identity = {
        "v": KEY_VERSION,
        "scope": scope,
        "model": request.model,
        "messages": [[message.role, message.content] for message in request.messages],
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def cached_reply(result: ChatResult) -> dict[str, Any]:
    """Return ``result`` as the JSON object a cache stores."""
    usage = result.usage
    return {
        "text": result.text,
        "reasoning": result.reasoning,
        "finish_reason": result.finish_reason,
        "model": result.model,
        "usage": None
        if usage is None
        else [usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.reasoning_tokens],
    }


def reply_from_cache(value: dict[str, Any]) -> ChatResult:
    """Return the ``ChatResult`` stored by ``cached_reply``."""
    usage = value.get("usage")
    return ChatResult(
        text=value["text"],
        usage=None if usage is None else Usage(*usage),
        finish_reason=value["finish_reason"],
        model=value["model"],
        reasoning=value.get("reasoning", ""),
    )


class MemoryResponseCache:
    """A response cache in memory: least recently used first out, entries expire after ``max_age``.

    Args:
        max_entries: how many answers to keep.
        max_age: seconds an answer stays valid after it was stored.
        clock: seconds; injectable so tests control time.
    """

    def __init__(
        self,
        *,
        max_entries: int = 1000,
        max_age: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or max_age <= 0:
            raise ValueError("A response cache needs room for one entry and a positive max_age.")
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the value under ``key`` and mark it recently used; None if absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at >= self.max_age:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``, evicting the least recently used beyond ``max_entries``."""
        self._entries[key] = (self._clock(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
