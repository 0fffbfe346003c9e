"""An import writes in short transactions, hidden until it publishes everything at once, or nothing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.chatgpt_export import write_export
from fakes.exchange_samples import populate, populate_files_and_tools, table_contents

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database, connect
from desktop_llm.storage.errors import ImportFailed
from desktop_llm.storage.export_json import export_json_file
from desktop_llm.storage.import_writer import remove_abandoned
from desktop_llm.storage.importer import import_file
from desktop_llm.storage.search import search


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """An export with folders, templates, attachments and tools: everything an import publishes."""
    with Database.open(tmp_path / "source.sqlite3") as source:
        populate(source)
        populate_files_and_tools(source)
        export_json_file(source, tmp_path / "all.json")
    return tmp_path / "all.json"


@pytest.fixture
def db(tmp_path: Path):
    database = Database.open(tmp_path / "target.sqlite3")
    yield database
    database.close()


def _other_writer(path: Path) -> sqlite3.Connection:
    """A second connection, as the window in another process has, that will not wait at all."""
    conn = connect(path)  # with the search function its triggers call, like the window's
    conn.execute("PRAGMA busy_timeout = 0")
    conn.row_factory = None
    return conn


def _visible(db: Database) -> tuple[int, int, int]:
    conversations = ConversationRepository(db)
    return (
        conversations.count(include_archived=True) + conversations.count(trashed=True),
        len(conversations.list_folders()),
        len(search(db, "Paris", include_trash=True)),
    )


def test_between_batches_another_writer_never_waits_and_sees_nothing_of_the_import(
    db: Database, exported: Path
) -> None:
    other = _other_writer(db.path)
    seen: list[tuple[int, int, int]] = []

    def meanwhile() -> None:
        # The window saves a setting: with the import between transactions, the lock is free.
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT OR REPLACE INTO app_settings (key, value) VALUES ('theme', '\"dark\"')")
        other.execute("COMMIT")
        seen.append(_visible(db))

    result = import_file(db, exported, batch_messages=1, after_batch=meanwhile)

    assert result.imported == 7
    assert len(seen) >= 7  # a transaction per conversation (or more: attachment bytes go first)
    assert set(seen) == {(0, 0, 0)}  # nothing showed until the end: no conversation, folder, or hit
    assert _visible(db) == (7, 2, 1)
    assert (
        db.conn.execute("SELECT count(*) FROM conversations WHERE hidden_by_import IS NOT NULL").fetchone()[0]
        == 0
    )
    other.close()


def test_the_published_import_is_what_one_transaction_wrote(
    db: Database, exported: Path, tmp_path: Path
) -> None:
    with Database.open(tmp_path / "whole.sqlite3") as whole:
        import_file(whole, exported)  # one batch: everything in the last transaction
        expected = table_contents(whole.path)
    import_file(db, exported, batch_messages=1)
    assert table_contents(db.path) == expected


def test_a_failure_midway_removes_every_hidden_row(db: Database, exported: Path) -> None:
    before = table_contents(db.path)
    batches = 0

    def fail_on_the_fourth() -> None:
        nonlocal batches
        batches += 1
        if batches == 4:
            raise KeyboardInterrupt  # Ctrl-C between two transactions

    with pytest.raises(KeyboardInterrupt):
        import_file(db, exported, batch_messages=1, after_batch=fail_on_the_fourth)

    assert table_contents(db.path) == before  # no conversation, message, folder, template or file
    assert db.conn.execute("SELECT count(*) FROM message_search").fetchone()[0] == 0


def test_a_file_changed_between_the_readings_leaves_nothing(db: Database, tmp_path: Path) -> None:
    export = tmp_path / "conversations.json"
    write_export(export, 3_000_000)  # larger than the reader's buffer: the end is read late
    before = table_contents(db.path)
    original = export.read_bytes()
    cut = original.rindex(b"garden")

    def change_the_end() -> None:
        # The same length, so the reader carries on at its offset into the changed text.
        export.write_bytes(original[:cut] + b"GARDEN" + original[cut + 6 :])

    with pytest.raises(ImportFailed, match="changed while it was being imported"):
        import_file(db, export, batch_messages=1, after_batch=change_the_end)
    assert table_contents(db.path) == before


def test_rows_left_by_an_import_that_was_killed_are_removed_by_the_next(db: Database, exported: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stranded = ConversationRepository(db).create("stranded")
    alive = ConversationRepository(db).create("another import, still running")
    with db.transaction() as conn:
        conn.execute(
            "UPDATE conversations SET hidden_by_import = ? WHERE id = ?", (f"{dead_pid}:x", stranded.id)
        )
        conn.execute("UPDATE conversations SET hidden_by_import = ? WHERE id = ?", (f"{1}:y", alive.id))

    assert remove_abandoned(db) == 1
    remaining = {row[0] for row in db.conn.execute("SELECT id FROM conversations")}
    assert remaining == {alive.id}  # pid 1 is alive: its import may still publish


def test_an_id_taken_by_another_writer_midway_is_named_and_undone(db: Database, exported: Path) -> None:
    ids = [c["id"] for c in json.loads(exported.read_text(encoding="utf-8"))["conversations"]]
    other = _other_writer(db.path)
    stamp = "2026-01-01T00:00:00.000Z"

    def take_the_last_id() -> None:
        if other.execute("SELECT count(*) FROM conversations WHERE id = ?", (ids[-1],)).fetchone()[0] == 0:
            other.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, 'theirs', ?, ?)",
                (ids[-1], stamp, stamp),
            )

    with pytest.raises(ImportFailed, match="another program wrote to the database during the import"):
        import_file(db, exported, batch_messages=1, after_batch=take_the_last_id)
    rows = db.conn.execute("SELECT id, title FROM conversations").fetchall()
    assert [tuple(row) for row in rows] == [(ids[-1], "theirs")]
    other.close()
