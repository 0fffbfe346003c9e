"""Apply numbered schema migrations, each in one transaction, recorded in ``PRAGMA user_version``.

``MIGRATIONS[n - 1]`` takes a database from version ``n - 1`` to ``n``; it is an SQL script or a
function of the connection. A migration is never edited once released: a change is a new one.
Before an existing database is migrated, it is copied with SQLite's backup API (which reads
through the connection, so commits still in the WAL are included) to
``<file>.backup-v<old>-<timestamp>``. A database newer than the newest migration is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from desktop_llm.core.private_files import private_file
from desktop_llm.storage.errors import SchemaTooNew, StorageError
from desktop_llm.storage.searchtext import INDEX_FUNCTION

Migration = str | Callable[[sqlite3.Connection], None]

_TOKENIZER = "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'"

# Version 1: the whole schema. Rows carry an INTEGER PRIMARY KEY ``seq`` besides their UUID
# because the search indexes refer to rowids, and only a declared rowid survives VACUUM.
SCHEMA_1 = f"""
CREATE TABLE folders (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE conversations (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    folder_id TEXT REFERENCES folders (id) ON DELETE SET NULL,
    archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    deleted_at TEXT,
    -- no foreign key: a provider may be deleted, or come from the environment
    provider_id TEXT,
    model TEXT,
    system_prompt TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(params)),
    -- deferred: an import may write a conversation before its messages
    current_leaf_id TEXT REFERENCES messages (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- deferred: an import may write a child before its parent
    parent_id TEXT REFERENCES messages (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL DEFAULT '',
    reasoning TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'complete'
        CHECK (status IN ('streaming', 'complete', 'stopped', 'interrupted', 'error')),
    error TEXT,
    provider_id TEXT,
    model TEXT,
    finish_reason TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cached_input_tokens INTEGER,
    reasoning_tokens INTEGER,
    latency_ms INTEGER,
    created_at TEXT NOT NULL,
    pinned INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1))
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at);
CREATE INDEX messages_by_parent ON messages (parent_id);

CREATE TABLE provider_settings (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    base_url TEXT,
    preset TEXT,
    default_model TEXT,
    key_env_var TEXT,
    extra TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(extra)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE app_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL CHECK (json_valid(value))
);

CREATE TABLE templates (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    default_version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE template_versions (
    template_id TEXT NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    number INTEGER NOT NULL CHECK (number >= 1),
    body TEXT NOT NULL CHECK (json_valid(body)),
    note TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (template_id, number)
);
CREATE TRIGGER template_versions_are_immutable BEFORE UPDATE ON template_versions
BEGIN
    SELECT RAISE(ABORT, 'template versions are immutable: add a new version instead');
END;

CREATE TABLE comparisons (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    created_at TEXT NOT NULL
);

CREATE TABLE response_cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL CHECK (json_valid(value)),
    created_at TEXT NOT NULL,
    last_used_at TEXT NOT NULL
);
CREATE INDEX response_cache_by_use ON response_cache (last_used_at);

-- Full-text search. Both indexes are external-content tables over views that feed the text
-- through {INDEX_FUNCTION}() (see searchtext.py), so the text is stored once. Messages
-- are indexed when they leave 'streaming', never while they stream.
CREATE VIEW message_search_source AS
    SELECT seq, {INDEX_FUNCTION}(content) AS body FROM messages WHERE status != 'streaming';
CREATE VIRTUAL TABLE message_search USING fts5 (
    body, content = 'message_search_source', content_rowid = 'seq', {_TOKENIZER}
);
CREATE VIEW conversation_search_source AS
    SELECT seq, {INDEX_FUNCTION}(title) AS body FROM conversations;
CREATE VIRTUAL TABLE conversation_search USING fts5 (
    body, content = 'conversation_search_source', content_rowid = 'seq', {_TOKENIZER}
);

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages WHEN new.status != 'streaming'
BEGIN
    INSERT INTO message_search (rowid, body) VALUES (new.seq, {INDEX_FUNCTION}(new.content));
END;
CREATE TRIGGER messages_search_update AFTER UPDATE OF content, status ON messages
    WHEN (old.status != 'streaming' OR new.status != 'streaming')
        AND (old.content IS NOT new.content OR old.status IS NOT new.status)
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        SELECT 'delete', old.seq, {INDEX_FUNCTION}(old.content) WHERE old.status != 'streaming';
    INSERT INTO message_search (rowid, body)
        SELECT new.seq, {INDEX_FUNCTION}(new.content) WHERE new.status != 'streaming';
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages WHEN old.status != 'streaming'
BEGIN
    INSERT INTO message_search (message_search, rowid, body)
        VALUES ('delete', old.seq, {INDEX_FUNCTION}(old.content));
END;

CREATE TRIGGER conversations_search_insert AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_search (rowid, body) VALUES (new.seq, {INDEX_FUNCTION}(new.title));
END;
CREATE TRIGGER conversations_search_update AFTER UPDATE OF title ON conversations
    WHEN old.title IS NOT new.title
BEGIN
    INSERT INTO conversation_search (conversation_search, rowid, body)
        VALUES ('delete', old.seq, {INDEX_FUNCTION}(old.title));
    INSERT INTO conversation_search (rowid, body) VALUES (new.seq, {INDEX_FUNCTION}(new.title));
END;
CREATE TRIGGER conversations_search_delete AFTER DELETE ON conversations
BEGIN
    INSERT INTO conversation_search (conversation_search, rowid, body)
        VALUES ('delete', old.seq, {INDEX_FUNCTION}(old.title));
END;
"""

# Version 2: the indexes behind the two hot start-up queries: the first page of the
# conversation list, and finding replies left 'streaming' by a crash.
SCHEMA_2 = """
CREATE INDEX conversations_by_activity ON conversations (pinned DESC, updated_at DESC);
CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';
"""

# Version 3: attachments and tool messages.
# Attachment bytes are stored once per sha256 (the same screenshot in ten messages is one row);
# the name and media type belong to each message's reference, since the same bytes can be sent
# under two names. A blob goes when its last reference does (the trigger), so deleting messages,
# purging a conversation or emptying the trash frees it; deleting messages cascades to their
# references. ``seq`` is the rowid that incremental blob I/O (``Connection.blobopen``) needs.
# Tool calls are a JSON list on the assistant message; a 'tool' message holds one result, its
# text in ``content`` (so the search index takes it in like any other message).
SCHEMA_3 = """
CREATE TABLE attachment_blobs (
    seq INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    size INTEGER NOT NULL CHECK (size >= 0),
    data BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE message_attachments (
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    -- deferred: an import may write a message before the bytes it refers to
    sha256 TEXT NOT NULL REFERENCES attachment_blobs (sha256) DEFERRABLE INITIALLY DEFERRED,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (message_id, position)
) WITHOUT ROWID;
CREATE INDEX message_attachments_by_blob ON message_attachments (sha256);
CREATE TRIGGER message_attachments_release AFTER DELETE ON message_attachments
    WHEN NOT EXISTS (SELECT 1 FROM message_attachments WHERE sha256 = old.sha256)
BEGIN
    DELETE FROM attachment_blobs WHERE sha256 = old.sha256;
END;

ALTER TABLE messages ADD COLUMN tool_calls TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls));
ALTER TABLE messages ADD COLUMN tool_call_id TEXT;
ALTER TABLE messages ADD COLUMN tool_name TEXT;
ALTER TABLE messages ADD COLUMN tool_server TEXT;
ALTER TABLE messages ADD COLUMN tool_is_error INTEGER NOT NULL DEFAULT 0 CHECK (tool_is_error IN (0, 1));
ALTER TABLE messages ADD COLUMN tool_duration_ms INTEGER;
"""

_OLD_ROLES = "CHECK (role IN ('system', 'user', 'assistant'))"
_NEW_ROLES = "CHECK (role IN ('system', 'user', 'assistant', 'tool'))"


def _widen_roles(conn: sqlite3.Connection) -> None:
    """Let the messages table accept the 'tool' role by rewriting its CHECK constraint in place.

    Rebuilding the table would drop the old one, and with foreign keys on (they cannot be turned
    off inside a transaction) that drop deletes every message and cascades into the
    conversations' leaves. A CHECK that only grows accepts every existing row, so SQLite's
    documented in-place schema edit (``writable_schema`` and a ``schema_version`` bump, see
    "Making other kinds of table schema changes" in its ALTER TABLE page) is safe here.
    """
    row = conn.execute("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'messages'").fetchone()
    sql = row[0]
    if sql.count(_OLD_ROLES) != 1:
        raise StorageError(
            "The messages table does not have the expected role constraint; cannot upgrade it."
        )
    version = int(conn.execute("PRAGMA schema_version").fetchone()[0])
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute(
            "UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = 'messages'",
            (sql.replace(_OLD_ROLES, _NEW_ROLES),),
        )
        # PRAGMA takes no parameters; ``version`` is an int read just above.
        conn.execute(f"PRAGMA schema_version = {version + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


def _migrate_3(conn: sqlite3.Connection) -> None:
    _widen_roles(conn)
    _run_script(conn, SCHEMA_3)


# Version 4: an import writes in short transactions (a window writing meanwhile never waits
# long), its conversations hidden until the last one publishes them all: ``hidden_by_import``
# names the import ("<pid>:<uuid>") while it runs and is NULL for every visible conversation.
SCHEMA_4 = """
ALTER TABLE conversations ADD COLUMN hidden_by_import TEXT;
CREATE INDEX conversations_importing ON conversations (hidden_by_import) WHERE hidden_by_import IS NOT NULL;
"""

# Version 5: template batches sent to a provider's batch engine. A batch may be split into
# several provider jobs; each row remembers its job and, once fetched, its result. No key is
# ever stored: a batch names its provider entry, and the key is looked up again on every poll.
SCHEMA_5 = """
CREATE TABLE remote_batches (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    provider_id TEXT NOT NULL,
    provider_kind TEXT NOT NULL,
    model TEXT NOT NULL,
    template_id TEXT,
    template_version INTEGER,
    template_name TEXT NOT NULL DEFAULT '',
    columns TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(columns)),
    params TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    state TEXT NOT NULL
        CHECK (state IN ('submitting', 'running', 'cancelling', 'ended', 'cancelled', 'expired', 'failed')),
    error TEXT,
    total INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX remote_batches_by_state ON remote_batches (state);

CREATE TABLE remote_batch_jobs (
    batch_id TEXT NOT NULL REFERENCES remote_batches (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    state TEXT NOT NULL,
    rows INTEGER NOT NULL,
    -- the provider's own counts while the job runs (rows get their results when it is over)
    succeeded INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    fetched INTEGER NOT NULL DEFAULT 0 CHECK (fetched IN (0, 1)),
    PRIMARY KEY (batch_id, job_id)
);

CREATE TABLE remote_batch_rows (
    batch_id TEXT NOT NULL REFERENCES remote_batches (id) ON DELETE CASCADE,
    row INTEGER NOT NULL,
    job_id TEXT,
    input TEXT NOT NULL CHECK (json_valid(input)),
    cache_key TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    output TEXT,
    reasoning TEXT,
    error TEXT,
    cached INTEGER NOT NULL DEFAULT 0 CHECK (cached IN (0, 1)),
    model TEXT,
    finish_reason TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cached_input_tokens INTEGER,
    reasoning_tokens INTEGER,
    PRIMARY KEY (batch_id, row)
) WITHOUT ROWID;
"""

# Version 6: MCP servers (no secret values: those are in the keyring) and the tools a person
# chose to "always allow", per server.
SCHEMA_6 = """
CREATE TABLE mcp_servers (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    transport TEXT NOT NULL CHECK (transport IN ('stdio', 'http')),
    command TEXT NOT NULL DEFAULT '',
    args TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(args)),
    env TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(env)),
    url TEXT NOT NULL DEFAULT '',
    headers TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(headers)),
    -- names of env variables and headers whose values are in the keyring
    secret_names TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(secret_names)),
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE mcp_tool_approvals (
    server_id TEXT NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    tool TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (server_id, tool)
);
"""

MIGRATIONS: tuple[Migration, ...] = (SCHEMA_1, SCHEMA_2, _migrate_3, SCHEMA_4, SCHEMA_5, SCHEMA_6)
LATEST_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """Return the database's ``PRAGMA user_version``."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection,
    path: Path,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    target: int | None = None,
) -> int:
    """Bring the database at ``path`` up to ``target`` (default: the newest) and return its version.

    Args:
        conn: an autocommit connection (``isolation_level=None``) with the search function registered.
        path: the database file, for the backup's name and for messages.
        migrations: the migration list (tests pass their own to exercise failures).
        target: stop at this version (tests build older databases this way).
    """
    known = len(migrations)
    goal = known if target is None else target
    # Read the version and the table list in one snapshot: another process may be creating the
    # schema right now, and tables without a version would look like someone else's file.
    conn.execute("BEGIN")
    try:
        current = refuse_newer(conn, path, known=known)
        foreign = current == 0 and _has_tables(conn)
    finally:
        conn.execute("COMMIT")
    if current >= goal:
        return current
    if foreign:
        raise StorageError(
            f"{path} is not a Desktop LLM database (it has tables but no schema version). "
            "Choose another data folder, or move the file aside."
        )
    if current > 0:
        backup(conn, path, current)
    for number in range(current + 1, goal + 1):
        _apply(conn, number, migrations[number - 1], path)
    return schema_version(conn)


def refuse_newer(conn: sqlite3.Connection, path: Path, *, known: int = LATEST_VERSION) -> int:
    """Return the schema version; raise SchemaTooNew when it is newer than ``known``."""
    current = schema_version(conn)
    if current > known:
        raise SchemaTooNew(path, current, known)
    return current


def backup_path(path: Path, version: int, moment: datetime | None = None) -> Path:
    """Return where the backup of ``path`` at schema ``version`` goes."""
    stamp = (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return path.with_name(f"{path.name}.backup-v{version}-{stamp}")


def backup(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the database with SQLite's backup API before a migration; return the copy's path."""
    target = backup_path(path, version)
    try:
        private_file(target)  # a copy of every conversation: owner-only like the database
    except OSError as error:
        raise StorageError(f"Could not back up {path} to {target} before upgrading it: {error}.") from error
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
    except sqlite3.Error as error:
        raise StorageError(
            f"Could not back up {path} to {target} before upgrading it: {error}. "
            "Free some disk space or check the folder's permissions; nothing was changed."
        ) from error
    finally:
        copy.close()
    return target


def _has_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").fetchone() is not None


def _apply(conn: sqlite3.Connection, number: int, migration: Migration, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while this one waited for the write lock.
        if schema_version(conn) >= number:
            conn.execute("ROLLBACK")
            return
        if isinstance(migration, str):
            _run_script(conn, migration)
        else:
            migration(conn)
        # PRAGMA takes no parameters; ``number`` is an int from our own loop.
        conn.execute(f"PRAGMA user_version = {int(number)}")
        conn.execute("COMMIT")
    except BaseException as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(error, sqlite3.OperationalError) and "fts5" in str(error):
            raise StorageError(
                f"Could not prepare {path}: this build of SQLite has no full-text search (FTS5). "
                "Install Desktop LLM from its official package, which includes it."
            ) from error
        raise


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT first; running statement by statement keeps one transaction.
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"migration ends with an incomplete statement: {statement.strip()[:60]!r}")
