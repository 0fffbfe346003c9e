"""DatabaseThread: one owning thread, awaited from asyncio, errors propagate, close drains the queue."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import SchemaTooNew, StorageError
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.settings import SettingsRepository


def _thread_name(db: Database) -> str:
    return threading.current_thread().name


def _set(db: Database, key: str, value: object) -> None:
    SettingsRepository(db).set(key, value)


def _get(db: Database, key: str) -> object:
    return SettingsRepository(db).get(key)


async def test_calls_run_on_one_database_thread_and_return_results(tmp_path: Path) -> None:
    async with DatabaseThread(tmp_path / "db.sqlite3") as thread:
        names = {await thread.call(_thread_name) for _ in range(3)}
        await thread.call(_set, "theme", {"name": "dark"})
        assert await thread.call(_get, "theme") == {"name": "dark"}
        assert await thread.call(_get, key="theme") == {"name": "dark"}
    assert len(names) == 1
    (name,) = names
    assert name.startswith("desktop-llm-database")
    assert name != threading.current_thread().name


async def test_exceptions_propagate_to_the_awaiting_coroutine(tmp_path: Path) -> None:
    def fail(db: Database) -> None:
        db.conn.execute("SELECT * FROM no_such_table")

    async with DatabaseThread(tmp_path / "db.sqlite3") as thread:
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            await thread.call(fail)
        assert await thread.call(lambda db: 42) == 42  # the thread survives a failed call


async def test_the_loop_keeps_running_while_the_database_works(tmp_path: Path) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    def slow(db: Database) -> str:
        time.sleep(0.2)  # stands in for a long query
        return "done"

    async with DatabaseThread(tmp_path / "db.sqlite3") as thread:
        task = asyncio.create_task(ticker())
        assert await thread.call(slow) == "done"
        task.cancel()
    assert ticks >= 5


async def test_aclose_waits_for_queued_work(tmp_path: Path) -> None:
    thread = DatabaseThread(tmp_path / "db.sqlite3")
    pending = [asyncio.ensure_future(thread.call(_set, f"key{i}", i)) for i in range(50)]
    await asyncio.sleep(0)  # let every call reach the queue
    await thread.aclose()
    await asyncio.gather(*pending)
    with Database.open(tmp_path / "db.sqlite3") as db:
        assert [_get(db, f"key{i}") for i in range(50)] == list(range(50))


def test_close_waits_for_queued_work_and_refuses_more(tmp_path: Path) -> None:
    thread = DatabaseThread(tmp_path / "db.sqlite3")
    futures = [thread._submit(_set, f"key{i}", i) for i in range(20)]
    thread.close()
    assert all(future.done() and future.exception() is None for future in futures)
    with pytest.raises(StorageError, match="closed"):
        thread.call_blocking(_get, "key0")
    thread.close()  # closing twice is harmless


def test_call_blocking_serves_plain_callers(tmp_path: Path) -> None:
    with DatabaseThread(tmp_path / "db.sqlite3") as thread:
        thread.call_blocking(_set, "font_size", 14)
        assert thread.call_blocking(_get, "font_size") == 14


async def test_an_open_failure_surfaces_on_every_call(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 1000")
    conn.close()
    async with DatabaseThread(path) as thread:
        for _ in range(2):
            with pytest.raises(SchemaTooNew):
                await thread.call(_get, "theme")
