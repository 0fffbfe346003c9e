"""The data folder is owner-only (0700) and every file we write there or export is 0600."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path

import pytest

from desktop_llm.core.paths import resolve_paths
from desktop_llm.core.private_files import private_file
from desktop_llm.storage import migrations
from desktop_llm.storage.atomic_write import atomic_text_file
from desktop_llm.storage.database import Database, connect
from desktop_llm.storage.lock import DataFolderLock

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "getuid"), reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask():
    """Run as most desktops do (umask 022): anything not made private would be world-readable."""
    import os

    before = os.umask(0o022)
    yield
    os.umask(before)


def test_the_folders_are_created_owner_only(tmp_path) -> None:
    paths = resolve_paths(tmp_path / "fresh" / "data").ensure()
    for folder in (paths.data, paths.logs, paths.cache):
        assert mode(folder) == 0o700, folder


def test_a_readable_data_folder_of_ours_is_tightened(tmp_path) -> None:
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    paths = resolve_paths(data)
    paths.database.write_bytes(b"")
    paths.ensure()
    assert mode(data) == 0o700


def test_the_database_its_wal_and_shm_are_owner_only(tmp_path) -> None:
    path = tmp_path / "data" / "desktop-llm.sqlite3"
    database = Database.open(path)
    try:
        database.conn.execute("CREATE TABLE t(x)")  # writes through the WAL
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert mode(file) == 0o600, file
        assert mode(path.parent) == 0o700
    finally:
        database.conn.close()


def test_an_older_readable_database_is_tightened(tmp_path) -> None:
    path = tmp_path / "desktop-llm.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    Database.open(path).conn.close()
    assert mode(path) == 0o600


def test_the_backup_before_a_migration_is_owner_only(tmp_path) -> None:
    path = tmp_path / "desktop-llm.sqlite3"
    conn = connect(path)
    try:
        copy = migrations.backup(conn, path, 1)
    finally:
        conn.close()
    assert mode(copy) == 0o600


def test_the_lock_file_and_exports_are_owner_only(tmp_path) -> None:
    lock = DataFolderLock(tmp_path)
    assert lock.acquire()
    assert mode(lock.path) == 0o600
    export = tmp_path / "export.json"
    with atomic_text_file(export) as out:
        out.write("{}")
    assert mode(export) == 0o600
    assert mode(private_file(tmp_path / "new.txt")) == 0o600


def test_the_log_and_its_rotated_files_are_owner_only(tmp_path) -> None:
    from desktop_llm.services.logs import KeyRedactor, configure_logging

    root = logging.getLogger()
    before = list(root.handlers), root.level
    path = configure_logging(tmp_path / "logs", KeyRedactor())
    try:
        logging.getLogger("desktop_llm.test").warning("one line")
        handler = next(h for h in root.handlers if h not in before[0] and hasattr(h, "doRollover"))
        handler.doRollover()
        logging.getLogger("desktop_llm.test").warning("another line")
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(before[1])
    assert mode(tmp_path / "logs") == 0o700
    assert mode(path) == 0o600
    assert mode(path.with_name(path.name + ".1")) == 0o600
