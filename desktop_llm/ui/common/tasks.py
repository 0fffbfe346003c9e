"""Run the UI's coroutines on the qasync loop: keep every task, and route its failure.

:class:`TaskKeeper` is the qasync glue for async handlers (STYLE.md practice 7): it keeps a
strong reference to every task it starts (asyncio keeps only weak ones), shows *known* failures
(provider, storage, keyring and chat-rule errors, which carry a message for a person) through a
callback, and sends anything else, a bug, to ``sys.excepthook`` and so to the crash dialog.

This module imports no service: the window builds a keeper before its first paint (the sidebar
searches through it), and the services load after that paint.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


async def cancel_stray_tasks() -> int:
    """Cancel every other task on the loop and wait for each to end; return how many there were.

    The last step of shutdown: tasks nobody keeps (a dialog's qasync slots, its own loads) would
    otherwise have their steps run by qasync's last pass of Qt events, after the loop stopped,
    where ``asyncio.to_thread`` and friends fail with "no running event loop".
    """
    current = asyncio.current_task()
    stray = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in stray:
        task.cancel()
    for task, outcome in zip(stray, await asyncio.gather(*stray, return_exceptions=True), strict=True):
        if isinstance(outcome, Exception):
            log.warning("a task ended with an error while shutting down: %r", task, exc_info=outcome)
    return len(stray)


class TaskKeeper:
    """Start coroutines as tasks, keep them alive, and route their failures.

    Args:
        show_error: called with a known error's message (say, the status bar or a message box).
    """

    def __init__(self, show_error: Callable[[str], None]) -> None:
        self._show_error = show_error
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def run(
        self,
        coroutine: Coroutine[Any, Any, Any],
        *,
        on_error: Callable[[str], None] | None = None,
    ) -> asyncio.Task[Any] | None:
        """Start ``coroutine`` now; known failures go to ``on_error`` (default: ``show_error``).

        Once the keeper is closed the coroutine is closed unstarted and None is returned.
        """
        if self._closed:
            # A Qt timer (a debounced refresh) can fire after shutdown, even after the loop has
            # stopped: qasync would run the task's steps with no running loop.
            log.debug("not started after shutdown: %s", getattr(coroutine, "__qualname__", coroutine))
            coroutine.close()
            return None
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, on_error or self._show_error))
        return task

    @property
    def pending(self) -> int:
        """How many tasks are still running."""
        return len(self._tasks)

    async def join(self) -> None:
        """Wait for every running task (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Start nothing from now on (shutdown); running tasks are left to ``cancel_all``/``join``."""
        self._closed = True

    def cancel_all(self) -> None:
        """Cancel every running task (shutdown)."""
        for task in list(self._tasks):
            task.cancel()

    def _finished(self, task: asyncio.Task[Any], on_error: Callable[[str], None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        # Here, not at the top: the error types come with the services (see the module docstring),
        # which are loaded by the time any task can fail.
        from desktop_llm.ui.common.chat_bridge import KNOWN_ERRORS

        if isinstance(error, KNOWN_ERRORS):
            log.info("shown to the user: %s", error)
            on_error(str(error))
            return
        sys.excepthook(type(error), error, error.__traceback__)
