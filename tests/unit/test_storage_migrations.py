"""Migrations from a blank database, the backup before upgrading, refusing newer or foreign files."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from desktop_llm.storage import migrations
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database, connect
from desktop_llm.storage.errors import SchemaTooNew, StorageError

EXPECTED_TABLES = {
    "conversations",
    "messages",
    "folders",
    "provider_settings",
    "app_settings",
    "templates",
    "template_versions",
    "comparisons",
    "response_cache",
    "message_search",
    "conversation_search",
    "mcp_servers",
    "mcp_tool_approvals",
}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "desktop-llm.sqlite3"


def _names(conn: sqlite3.Connection, kind: str) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = ?", (kind,))}


def _make_v1(path: Path) -> sqlite3.Connection:
    """Build a version-1 database by hand, with one conversation committed; return its connection."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    assert migrations.migrate(conn, path, target=1) == 1
    conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
        ("c-last", "last commit before the upgrade", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
    )
    return conn


def test_blank_database_gets_every_table_index_and_pragma(path: Path) -> None:
    with Database.open(path) as db:
        assert db.schema_version == migrations.LATEST_VERSION == 6
        assert migrations.schema_version(db.conn) == 6
        assert _names(db.conn, "table") >= EXPECTED_TABLES
        assert {
            "messages_by_conversation",
            "messages_by_parent",
            "conversations_by_activity",
            "messages_streaming",
        } <= _names(db.conn, "index")
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert list(path.parent.glob("*.backup-*")) == []  # nothing to back up in a new file


def test_each_migration_applies_from_a_blank_database_in_turn(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = connect(path)
    for number in range(1, migrations.LATEST_VERSION + 1):
        assert migrations.migrate(conn, path, target=number) == number
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_reopening_a_current_database_changes_nothing(path: Path) -> None:
    Database.open(path).close()
    with Database.open(path) as db:
        assert db.schema_version == migrations.LATEST_VERSION
    assert list(path.parent.glob("*.backup-*")) == []


def test_older_schema_is_backed_up_with_its_last_commit_then_migrated(path: Path) -> None:
    writer = _make_v1(path)
    # A second open connection keeps SQLite from checkpointing: the last commit lives only in the WAL.
    reader = sqlite3.connect(path)
    reader.execute("SELECT count(*) FROM conversations").fetchone()
    assert path.with_name(path.name + "-wal").stat().st_size > 0
    writer.close()

    with Database.open(path) as db:
        assert db.schema_version == migrations.LATEST_VERSION
        assert db.conn.execute("SELECT title FROM conversations WHERE id = 'c-last'").fetchone()[0] == (
            "last commit before the upgrade"
        )
    reader.close()

    backups = list(path.parent.glob(f"{path.name}.backup-v1-*"))
    assert len(backups) == 1
    copy = sqlite3.connect(backups[0])
    try:
        assert copy.execute("PRAGMA user_version").fetchone()[0] == 1
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT title FROM conversations").fetchall() == [
            ("last commit before the upgrade",)
        ]
        assert "conversations_by_activity" not in _names(copy, "index")  # the copy is the old schema
    finally:
        copy.close()


def test_newer_schema_is_refused_with_a_message_naming_the_file_and_left_untouched(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = path.read_bytes()

    with pytest.raises(SchemaTooNew) as raised:
        Database.open(path)

    message = str(raised.value)
    assert str(path) in message
    assert "Update Desktop LLM" in message
    assert "99" in message
    assert raised.value.found == 99 and raised.value.known == migrations.LATEST_VERSION
    assert path.read_bytes() == before
    assert list(path.parent.glob("*.backup-*")) == []


def test_a_file_with_tables_but_no_version_is_not_ours(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE someone_elses (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="not a Desktop LLM database"):
        Database.open(path)


def test_a_file_that_is_not_sqlite_gives_an_actionable_error(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is a text file, not a database" * 200)
    with pytest.raises(StorageError) as raised:
        Database.open(path)
    assert str(path) in str(raised.value)
    assert "backup" in str(raised.value)


def test_a_failing_migration_rolls_back_completely(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = connect(path)
    broken = (
        migrations.SCHEMA_1,
        "CREATE TABLE half_done (x);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrations.migrate(conn, path, migrations=broken)
    assert migrations.schema_version(conn) == 1
    assert "half_done" not in _names(conn, "table")
    assert not conn.in_transaction
    conn.close()


def test_a_migration_may_be_a_function_and_runs_in_its_own_transaction(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = connect(path)
    seen: list[bool] = []

    def add_column(connection: sqlite3.Connection) -> None:
        seen.append(connection.in_transaction)
        connection.execute("ALTER TABLE folders ADD COLUMN colour TEXT")

    assert migrations.migrate(conn, path, migrations=(migrations.SCHEMA_1, add_column)) == 2
    assert seen == [True]
    assert "colour" in {row[1] for row in conn.execute("PRAGMA table_info(folders)")}
    conn.close()


def test_backup_names_carry_the_old_version_and_a_timestamp(path: Path) -> None:
    name = migrations.backup_path(path, 3).name
    assert name.startswith("desktop-llm.sqlite3.backup-v3-")
    assert name.endswith("Z")


def test_several_connections_creating_the_schema_at_once_all_succeed(path: Path) -> None:
    # A first launch of the GUI and a command run together must not see each other's half-made schema.
    barrier = threading.Barrier(4)
    versions: list[int] = []
    errors: list[BaseException] = []

    def open_once() -> None:
        barrier.wait()
        try:
            with Database.open(path) as db:
                versions.append(db.schema_version)
        except (StorageError, sqlite3.Error) as error:  # reported by the test thread below
            errors.append(error)

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions == [migrations.LATEST_VERSION] * 4


def test_version_2_data_survives_the_attachments_and_tools_migration(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    assert migrations.migrate(conn, path, target=2) == 2
    stamp = "2026-01-01T00:00:00.000Z"
    conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c', 'kept', ?, ?)",
        (stamp, stamp),
    )
    conn.execute(
        "INSERT INTO messages (id, conversation_id, role, content, created_at) "
        "VALUES ('q', 'c', 'user', 'walrus', ?)",
        (stamp,),
    )
    conn.execute(
        "INSERT INTO messages (id, conversation_id, parent_id, role, content, created_at) "
        "VALUES ('a', 'c', 'q', 'assistant', 'tusks', ?)",
        (stamp,),
    )
    conn.execute("UPDATE conversations SET current_leaf_id = 'a' WHERE id = 'c'")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO messages (id, conversation_id, role, created_at) VALUES ('t', 'c', 'tool', ?)",
            (stamp,),
        )
    conn.close()

    with Database.open(path) as db:
        assert db.schema_version == migrations.LATEST_VERSION == 6
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert {"attachment_blobs", "message_attachments"} <= _names(db.conn, "table")
        assert db.conn.execute("SELECT current_leaf_id FROM conversations").fetchone()[0] == "a"
        rows = db.conn.execute(
            "SELECT id, parent_id, tool_calls, tool_is_error FROM messages ORDER BY seq"
        ).fetchall()
        assert [tuple(row) for row in rows] == [("q", None, None, 0), ("a", "q", None, 0)]
        found = db.conn.execute(
            "SELECT rowid FROM message_search WHERE message_search MATCH 'walrus'"
        ).fetchall()
        assert len(found) == 1
        db.conn.execute(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, created_at, tool_call_id) "
            "VALUES ('t', 'c', 'a', 'tool', 'result', ?, 'call_1')",
            (stamp,),
        )
        with pytest.raises(sqlite3.IntegrityError):
            db.conn.execute(
                "INSERT INTO messages (id, conversation_id, role, created_at) VALUES ('r', 'c', 'robot', ?)",
                (stamp,),
            )


def test_version_3_conversations_stay_visible_after_the_hidden_import_migration(path: Path) -> None:
    path.parent.mkdir(parents=True)
    conn = connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    assert migrations.migrate(conn, path, target=3) == 3
    stamp = "2026-01-01T00:00:00.000Z"
    conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c', 'kept', ?, ?)",
        (stamp, stamp),
    )
    conn.close()

    with Database.open(path) as db:
        assert db.schema_version == migrations.LATEST_VERSION
        hidden = db.conn.execute("SELECT hidden_by_import FROM conversations").fetchall()
        assert [tuple(row) for row in hidden] == [(None,)]
        assert "conversations_importing" in _names(db.conn, "index")
        assert [c.title for c in ConversationRepository(db).list()] == ["kept"]
        assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(list(path.parent.glob(f"{path.name}.backup-v3-*"))) == 1
