"""DataFolderLock in one process (the child-process and SIGKILL cases are in test_storage_crash.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop_llm.storage.errors import DataFolderLocked
from desktop_llm.storage.lock import DataFolderLock


def test_one_holder_at_a_time(tmp_path: Path) -> None:
    first, second = DataFolderLock(tmp_path), DataFolderLock(tmp_path)
    assert first.acquire()
    assert first.acquire()  # idempotent for the holder
    assert not second.acquire(attempts=1)
    assert second.holder_pid() == os.getpid()
    first.release()
    assert second.holder_pid() is None
    assert second.acquire()
    second.release()


def test_the_lock_file_names_the_holder_while_held_only(tmp_path: Path) -> None:
    lock = DataFolderLock(tmp_path / "new-folder")
    assert lock.holder_pid() is None  # no file yet
    lock.acquire()
    assert lock.path.read_text().strip() == str(os.getpid())
    lock.release()
    assert lock.path.read_text().strip() == ""
    lock.release()  # releasing twice is harmless


def test_context_manager_raises_a_readable_error_when_taken(tmp_path: Path) -> None:
    with DataFolderLock(tmp_path) as held:
        assert held.held
        with pytest.raises(DataFolderLocked) as raised, DataFolderLock(tmp_path):
            pass
        assert raised.value.pid == os.getpid()
        assert str(tmp_path) in str(raised.value)
        assert "already running" in str(raised.value)
    assert DataFolderLock(tmp_path).holder_pid() is None
