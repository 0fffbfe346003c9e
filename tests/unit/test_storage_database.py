"""Transactions (commit, rollback, nesting, failed commits) and known errors made readable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import StorageError


def _setting(db: Database, key: str) -> str | None:
    row = db.conn.execute("SELECT value FROM app_settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _put(conn: sqlite3.Connection, key: str) -> None:
    conn.execute("INSERT INTO app_settings (key, value) VALUES (?, '1')", (key,))


def test_transaction_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    with db.transaction() as conn:
        _put(conn, "kept")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        _put(conn, "dropped")
        raise RuntimeError("boom")
    assert _setting(db, "kept") == "1"
    assert _setting(db, "dropped") is None
    assert not db.conn.in_transaction


def test_transaction_takes_the_write_lock_at_begin(db: Database) -> None:
    other = sqlite3.connect(db.path, timeout=0)
    try:
        with db.transaction(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_nested_transaction_joins_the_outer_one(db: Database) -> None:
    with pytest.raises(RuntimeError), db.transaction() as conn:
        _put(conn, "outer")
        with db.transaction() as inner:
            _put(inner, "inner")
        raise RuntimeError("the outer block fails after the inner one succeeded")
    assert _setting(db, "outer") is None
    assert _setting(db, "inner") is None


def test_a_failing_nested_block_rolls_back_only_itself(db: Database) -> None:
    with db.transaction() as conn:
        _put(conn, "outer")
        with pytest.raises(RuntimeError), db.transaction() as inner:
            _put(inner, "inner")
            raise RuntimeError("inner fails")
        _put(conn, "after")
    assert _setting(db, "outer") == "1"
    assert _setting(db, "inner") is None
    assert _setting(db, "after") == "1"
    assert not db.conn.in_transaction


def test_a_commit_refused_by_a_deferred_foreign_key_leaves_no_open_transaction(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError), db.transaction() as conn:
        conn.execute(
            "INSERT INTO conversations (id, created_at, updated_at, current_leaf_id) "
            "VALUES ('c', 'now', 'now', 'no-such-message')"
        )
    assert not db.conn.in_transaction
    assert db.conn.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0


def test_a_busy_database_becomes_a_storage_error_with_advice(db: Database) -> None:
    other = sqlite3.connect(db.path)
    other.execute("BEGIN IMMEDIATE")
    db.conn.execute("PRAGMA busy_timeout = 50")  # the real 5 s would only slow the test
    try:
        with pytest.raises(StorageError, match="busy") as raised, db.transaction():
            pass
        assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    finally:
        other.rollback()
        other.close()


def test_a_bug_in_sql_is_not_disguised(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"), db.transaction() as conn:
        conn.execute("SELECT * FROM no_such_table")


def test_an_unwritable_folder_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="data folder"):
        Database.open(blocker / "sub" / "desktop-llm.sqlite3")


def test_a_transaction_abandoned_until_after_close_ends_quietly(tmp_path) -> None:
    db = Database.open(tmp_path / "abandoned.sqlite3")
    block = db.transaction()
    block.__enter__()
    db.close()
    # What the garbage collector does to a block left open by Ctrl-C: close its generator.
    block.gen.close()  # raised "Cannot operate on a closed database" before
