"""Keep the batch runner's response cache in the database's ``response_cache`` table.

The same policy as the in-memory cache of ``desktop_llm.services.response_cache``: an entry
expires ``max_age`` seconds after it was stored, and once there are more than ``max_entries``
the least recently used go first. ``get`` and ``put`` are coroutines that run their SQL on the
``DatabaseThread``, so the Qt thread never waits on the disk; ``prune`` removes expired rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.timeutil import format_timestamp


class SqliteResponseCache:
    """The response cache in the ``response_cache`` table (key, value JSON, created_at, last_used_at).

    Args:
        thread: the database thread that owns the connection.
        max_entries: how many answers to keep.
        max_age: seconds an answer stays valid after it was stored.
        clock: wall-clock seconds since the epoch (entries outlive the process); injectable for tests.
    """

    def __init__(
        self,
        thread: DatabaseThread,
        *,
        max_entries: int = 10_000,
        max_age: float = 30 * 24 * 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1 or max_age <= 0:
            raise ValueError("A response cache needs room for one entry and a positive max_age.")
        self._thread = thread
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock

    def _stamp(self, seconds_ago: float = 0.0) -> str:
        return format_timestamp(datetime.fromtimestamp(self._clock() - seconds_ago, UTC))

    async def get(self, key: str) -> dict[str, Any] | None:
        """Return the value under ``key`` and mark it recently used; None if absent or expired."""
        return await self._thread.call(_get, key, now=self._stamp(), expired_before=self._stamp(self.max_age))

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Store ``value`` under ``key``, evicting the least recently used beyond ``max_entries``."""
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        await self._thread.call(_put, key, text, now=self._stamp(), max_entries=self.max_entries)

    async def prune(self) -> int:
        """Delete every expired entry; return how many went."""
        return await self._thread.call(_prune, expired_before=self._stamp(self.max_age))


def _get(db: Database, key: str, *, now: str, expired_before: str) -> dict[str, Any] | None:
    with db.transaction() as conn:
        row = conn.execute("SELECT value, created_at FROM response_cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        value, created_at = row
        # An expiry is checked against the time of storing, not of last use: a cached answer
        # must not live forever just because it keeps being asked for.
        if created_at <= expired_before:
            conn.execute("DELETE FROM response_cache WHERE key = ?", (key,))
            return None
        conn.execute("UPDATE response_cache SET last_used_at = ? WHERE key = ?", (now, key))
    answer: dict[str, Any] = json.loads(value)
    return answer


def _put(db: Database, key: str, value: str, *, now: str, max_entries: int) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO response_cache (key, value, created_at, last_used_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, created_at = excluded.created_at, "
            "last_used_at = excluded.last_used_at",
            (key, value, now, now),
        )
        # Walks the last_used_at index from the newest; rows past the limit are the least recently used.
        conn.execute(
            "DELETE FROM response_cache WHERE key IN (SELECT key FROM response_cache "
            "ORDER BY last_used_at DESC, rowid DESC LIMIT -1 OFFSET ?)",
            (max_entries,),
        )


def _prune(db: Database, *, expired_before: str) -> int:
    with db.transaction() as conn:
        return conn.execute("DELETE FROM response_cache WHERE created_at <= ?", (expired_before,)).rowcount
