"""Run SQLite work on the one thread that owns the connection; coroutines and plain callers queue on it.

DESIGN.md "Layers and threads": nothing that blocks runs on the Qt thread. Every database call
goes through a :class:`DatabaseThread`: a single-worker executor that opens the database on
its own thread (so ``sqlite3``'s same-thread check holds) and runs ``fn(database, ...)`` there,
one call at a time, in the order they were queued.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import StorageError

T = TypeVar("T")
P = ParamSpec("P")


class DatabaseThread:
    """The one thread that owns the SQLite connection; coroutines await work on it.

    The database is opened on the thread as the first queued job, so constructing this never
    blocks; if opening fails (say :class:`SchemaTooNew`), every call raises that error.

    Args:
        path: the database file.
        opener: how to open it (tests and tools may pass their own).
    """

    def __init__(self, path: Path, *, opener: Callable[[Path], Database] = Database.open) -> None:
        self.path = Path(path)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="desktop-llm-database"
        )
        self._closed = False
        self._opened = self._executor.submit(opener, self.path)

    async def call(self, fn: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(database, *args, **kwargs)`` on the database thread and return its result.

        Works from any running asyncio loop (qasync's included). Exceptions propagate. If the
        awaiting task is cancelled before the job starts, the job is dropped; once started it
        runs to the end (SQLite work is not interruptible), and its result is discarded.
        """
        return await asyncio.wrap_future(self._submit(fn, *args, **kwargs))

    def call_blocking(
        self, fn: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(database, *args, **kwargs)`` on the database thread and wait for it (CLI, tests)."""
        return self._submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        """Finish every queued job, close the database and stop the thread."""
        if self._closed:
            return
        self._closed = True
        closing = self._executor.submit(self._close_database)
        self._executor.shutdown(wait=True)
        closing.result()

    async def aclose(self) -> None:
        """Like :meth:`close`, awaited without blocking the loop."""
        if self._closed:
            return
        self._closed = True
        await asyncio.wrap_future(self._executor.submit(self._close_database))
        self._executor.shutdown(wait=False)  # the queue is empty: the close was the last job

    def _submit(
        self, fn: Callable[Concatenate[Database, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        if self._closed:
            raise StorageError(f"The database {self.path} is closed; no more work can be queued.")
        return self._executor.submit(self._run, functools.partial(fn, **kwargs), args)

    def _run(self, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        return fn(self._opened.result(), *args)

    def _close_database(self) -> None:
        if self._opened.exception() is None:
            self._opened.result().close()

    async def __aenter__(self) -> DatabaseThread:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __enter__(self) -> DatabaseThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
