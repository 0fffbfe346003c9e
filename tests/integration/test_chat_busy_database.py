"""A reply keeps streaming and is saved whole while another process holds the database's write lock.

The command line imports in one transaction; a GUI streaming at that moment must neither stop
nor lose its text. SQLite's busy timeout is shortened here so the test takes a second or two.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from fakes.provider_server import ProviderServer, Reply
from test_chat_service import Harness

from desktop_llm.services import chat as chat_module
from desktop_llm.services.chat_events import StreamDelta
from desktop_llm.storage import database


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(chat_module, "FINISH_RETRY_DELAY", 0.05)


def hold_write_lock(path) -> sqlite3.Connection:
    """Take the write lock as a command-line import does (BEGIN IMMEDIATE), from another connection."""
    other = sqlite3.connect(path, isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")
    return other


async def test_a_reply_survives_another_writer_holding_the_database(tmp_path, server) -> None:
    harness = Harness(tmp_path / "chat.sqlite3", server)
    words = " ".join(f"w{i}" for i in range(30))
    server.push(Reply(text=words, delay=0.02))
    conversation_id = await harness.new_conversation()
    sending = asyncio.ensure_future(harness.chat.send(conversation_id, "go"))
    await harness.until(lambda: harness.of(StreamDelta))

    importer = hold_write_lock(tmp_path / "chat.sqlite3")
    # Held past the end of the stream: both the periodic saves and the final save meet the lock.
    await harness.until(lambda: len(harness.of(StreamDelta)) >= 30)
    await asyncio.sleep(0.3)
    importer.execute("COMMIT")
    importer.close()
    reply = await sending

    assert reply.status == "complete"
    assert reply.content == words
    loaded = await harness.conversations.load(conversation_id)
    assert loaded.path[-1].content == words and loaded.path[-1].status == "complete"
    await harness.close()
    harness.db.close()


async def test_a_title_that_cannot_be_saved_is_logged_and_the_chat_keeps_its_title(
    tmp_path, server, caplog
) -> None:
    harness = Harness(tmp_path / "chat.sqlite3", server, auto_titles=True)
    server.push(Reply(text="Paris."), Reply(text="Capital of France", delay=0.3))
    conversation_id = await harness.new_conversation()
    await harness.chat.send(conversation_id, "What is the capital of France?")
    titling = list(harness.chat._background)

    importer = hold_write_lock(tmp_path / "chat.sqlite3")
    try:
        outcomes = await asyncio.gather(*titling, return_exceptions=True)
    finally:
        importer.execute("COMMIT")
        importer.close()

    assert outcomes and all(outcome is None for outcome in outcomes)
    assert any("could not save the title" in r.getMessage() for r in caplog.records)
    assert (await harness.conversations.get(conversation_id)).title == "What is the capital of France?"
    await harness.close()
    harness.db.close()


async def test_a_provider_failure_while_titling_is_logged_and_the_first_words_are_kept(
    tmp_path, server, caplog
) -> None:
    harness = Harness(tmp_path / "chat.sqlite3", server, auto_titles=True)
    server.push(Reply(text="Paris."), *[Reply(status=400, error_message="no titles today")] * 3)
    conversation_id = await harness.new_conversation()
    await harness.chat.send(conversation_id, "What is the capital of France?")
    await asyncio.gather(*harness.chat._background)

    logged = [r.getMessage() for r in caplog.records if r.name == "desktop_llm.services.titles"]
    assert len(logged) == 1 and "no titles today" in logged[0]
    assert (await harness.conversations.get(conversation_id)).title == "What is the capital of France?"
    await harness.close()
    harness.db.close()
