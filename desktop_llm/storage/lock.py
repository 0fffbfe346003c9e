"""Hold the data-folder lock: one GUI per data folder, released by the OS when its process dies.

The lock is an OS file lock on ``<data>/.lock`` (``fcntl.flock`` on Linux and macOS, ``msvcrt``
byte-range locking on Windows); the file also holds the holder's process id for messages. The
lock belongs to the open file, so it disappears with the process however it ends, SIGKILL
included: there is no stale lock to clean up. Only the holder may turn leftover ``streaming``
replies into ``interrupted``; the command line never takes the lock.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from desktop_llm.storage.errors import DataFolderLocked, StorageError

LOCK_FILENAME = ".lock"
# Windows locks bytes, and a locked byte cannot be read by others: lock one far past the pid.
_WINDOWS_LOCK_OFFSET = 1 << 20

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except PermissionError:
            return False
        except OSError as error:
            if error.errno in (13, 36):  # EACCES, EDEADLOCK: someone else holds it
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class DataFolderLock:
    """An exclusive, process-lifetime lock on a data folder.

    Args:
        folder: the data folder; the lock file is ``folder / ".lock"``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILENAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self, *, attempts: int = 3) -> bool:
        """Take the lock; return False when another process (or another lock object) holds it.

        A few quick retries ride over :meth:`holder_pid` probes, which hold it for an instant.
        """
        if self._fd is not None:
            return True
        fd = self._open()
        for attempt in range(attempts):
            if _try_lock(fd):
                break
            if attempt + 1 < attempts:
                time.sleep(0.02)
        else:
            os.close(fd)
            return False
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode().ljust(16))
        self._fd = fd
        return True

    def acquire_or_raise(self) -> DataFolderLock:
        """Take the lock or raise :class:`DataFolderLocked` naming the holder; return self."""
        if not self.acquire():
            raise DataFolderLocked(self.folder, self.holder_pid())
        return self

    def release(self) -> None:
        """Give the lock up (a no-op when not held)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, b" " * 16)  # no stale pid for the next reader
            _unlock(fd)
        finally:
            os.close(fd)

    def holder_pid(self) -> int | None:
        """Return the pid of the process holding the lock, or None when nobody holds it."""
        if self._fd is not None:
            return os.getpid()
        if not self.path.exists():
            return None
        fd = self._open()
        try:
            if _try_lock(fd):
                _unlock(fd)
                return None
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 16).decode("ascii", "replace").strip()
        finally:
            os.close(fd)
        return int(text) if text.isdigit() else None

    def _open(self) -> int:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StorageError(
                f"Cannot open the lock file {self.path}: {error}. Check the data folder is writable."
            ) from error

    def __enter__(self) -> DataFolderLock:
        return self.acquire_or_raise()

    def __exit__(self, *exc_info: object) -> None:
        self.release()
