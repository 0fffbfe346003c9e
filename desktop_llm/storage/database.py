"""Open the SQLite file the way Desktop LLM needs it, and run transactions on it.

The connection belongs to the thread that opened it (``sqlite3`` checks); the app reaches it
through :class:`desktop_llm.storage.executor.DatabaseThread`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from desktop_llm.core.private_files import private_file, private_folder
from desktop_llm.storage import migrations
from desktop_llm.storage.errors import DatabaseBusy, StorageError
from desktop_llm.storage.searchtext import INDEX_FUNCTION, index_text

BUSY_TIMEOUT_MS = 5000

# sqlite3 error texts that are the environment's doing, with what a person can do about them.
BUSY_ERROR = "database is locked"
_KNOWN_ERRORS = (
    (BUSY_ERROR, "another program kept the database busy for more than 5 seconds; try again"),
    ("disk is full", "the disk is full; free some space and try again"),
    ("disk i/o error", "the disk reported an error; check the drive and try again"),
    ("attempt to write a readonly database", "the database file is read-only; check its permissions"),
    ("unable to open database file", "the file cannot be opened; check the folder exists and is writable"),
    ("file is not a database", "the file is not a Desktop LLM database, or is damaged; restore a backup"),
    ("database disk image is malformed", "the file is damaged; restore a backup (*.backup-v*)"),
)


def explain(error: sqlite3.Error, path: Path) -> StorageError | None:
    """Return a StorageError for a known environmental sqlite3 error, or None for a bug."""
    text = str(error).lower()
    for needle, advice in _KNOWN_ERRORS:
        if needle in text:
            kind = DatabaseBusy if needle == BUSY_ERROR else StorageError
            return kind(f"Database {path}: {advice} ({error}).")
    return None


@contextmanager
def translated_errors(path: Path) -> Iterator[None]:
    """Re-raise known environmental sqlite3 errors as StorageError with advice."""
    try:
        yield
    except sqlite3.Error as error:
        known = explain(error, path)
        if known is None:
            raise
        raise known from error


def connect(path: Path) -> sqlite3.Connection:
    """Return an autocommit connection to ``path`` with the search function (not yet configured)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    conn.create_function(INDEX_FUNCTION, 1, index_text, deterministic=True)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def configure(conn: sqlite3.Connection, path: Path) -> None:
    """Switch to WAL with ``synchronous=NORMAL`` (no commit lost to a crash) and enforce foreign keys."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StorageError(f"Database {path}: could not switch to WAL mode (got {mode!r}).")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


class Database:
    """One open, migrated Desktop LLM database.

    Attributes:
        conn: the autocommit connection; owned by the thread that opened it.
        path: the database file.
        schema_version: the schema version after migration.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, schema_version: int) -> None:
        self.conn = conn
        self.path = path
        self.schema_version = schema_version
        self._depth = 0

    @classmethod
    def open(cls, path: Path) -> Database:
        """Open (creating if needed) and migrate the database at ``path``.

        Raises:
            SchemaTooNew: the file was written by a newer Desktop LLM.
            StorageError: the file cannot be opened, is not ours, or is damaged.
        """
        path = Path(path)
        try:
            private_folder(path.parent)
            # Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the
            # database's own mode, so they are private too.
            private_file(path)
        except OSError as error:
            raise StorageError(f"Cannot create the data folder {path.parent}: {error}.") from error
        with translated_errors(path):
            conn = connect(path)
            try:
                # Refuse a newer file before anything (even the journal mode) touches it.
                migrations.refuse_newer(conn, path)
                configure(conn, path)
                version = migrations.migrate(conn, path)
            except BaseException:
                conn.close()
                raise
        return cls(conn, path, version)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT`` or ``ROLLBACK``.

        Nested use becomes a savepoint, so a repository call inside a caller's transaction (an
        import) joins it, and an error inside rolls back only the inner block before propagating.
        """
        depth = self._depth
        with translated_errors(self.path):
            if depth == 0:
                self.conn.execute("BEGIN IMMEDIATE")
                commit, rollback = "COMMIT", "ROLLBACK"
            else:
                name = f"nested_{depth}"
                self.conn.execute(f"SAVEPOINT {name}")
                commit, rollback = f"RELEASE {name}", f"ROLLBACK TO {name}"
            self._depth = depth + 1
            try:
                yield self.conn
            except BaseException:
                self._depth = depth
                if self._open_transaction():
                    self.conn.execute(rollback)
                    if depth > 0:
                        self.conn.execute(commit)  # a savepoint stays open after ROLLBACK TO
                raise
            self._depth = depth
            try:
                self.conn.execute(commit)
            except sqlite3.Error:
                # A failed COMMIT (say, a deferred foreign key) leaves the transaction open.
                if depth == 0 and self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def _open_transaction(self) -> bool:
        """Whether a transaction is open; False once the connection is closed.

        A block abandoned by Ctrl-C can be finalised by the garbage collector after the
        connection was closed; closing already rolled back whatever was not committed.
        """
        try:
            return self.conn.in_transaction
        except sqlite3.ProgrammingError:
            return False

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL when the last one closes)."""
        self.conn.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
