"""Adapt the chat service's events to Qt signals, and run the UI's coroutines on the qasync loop.

The chat service reports to one plain callable; :class:`ChatBridge` is that callable and turns
each typed event into a typed Qt signal, so widgets connect to what they need and nothing in
``services/`` knows about Qt.

:class:`TaskKeeper` is the qasync glue for async handlers (STYLE.md practice 7): it keeps a
strong reference to every task it starts (asyncio keeps only weak ones), shows *known* failures
(provider, storage, keyring and chat-rule errors, which carry a message for a person) through a
callback, and sends anything else, a bug, to ``sys.excepthook`` and so to the crash dialog.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop_llm.providers import ProviderError
from desktop_llm.secrets import SecretsError
from desktop_llm.services.attachment_prep import AttachmentError, AttachmentRefused
from desktop_llm.services.chat import ChatBusy, NoModelChosen
from desktop_llm.services.chat_events import (
    ChatEvent,
    ContextNotice,
    StreamDelta,
    StreamFinished,
    StreamRetrying,
    StreamStarted,
    TitleChanged,
    ToolApprovalNeeded,
    ToolCallDone,
    ToolCallRunning,
    ToolNotice,
    ToolRoundSaved,
)
from desktop_llm.services.provider_directory import UnknownProvider
from desktop_llm.services.remote_batches import BatchStillSubmitting
from desktop_llm.storage.errors import StorageError

log = logging.getLogger(__name__)

# Failures whose message is written for a person: shown as they are, never as a crash report.
KNOWN_ERRORS: tuple[type[BaseException], ...] = (
    ProviderError,
    StorageError,
    SecretsError,
    ChatBusy,
    NoModelChosen,
    UnknownProvider,
    AttachmentError,
    AttachmentRefused,
    BatchStillSubmitting,
)


class ChatBridge(QObject):
    """Turn ``ChatEvent`` objects into Qt signals; pass an instance as the chat service's listener.

    The service calls the listener on the event loop's thread, which under qasync is the Qt
    thread, so the signals are emitted directly.

    Signals:
        stream_started(object): a ``StreamStarted`` (user message, empty assistant message).
        stream_delta(str, str, str, str): conversation id, message id, text, reasoning.
        stream_retrying(str, str, float): conversation id, message id, seconds until the retry.
        stream_finished(object): a ``StreamFinished`` with the saved message.
        title_changed(str, str): conversation id, new title.
        context_notice(str, str): conversation id, a sentence for the status bar.
        tool_approval_needed(object): a ``ToolApprovalNeeded``: ask the person.
        tool_call_running(object): a ``ToolCallRunning``.
        tool_round_saved(object): a ``ToolRoundSaved`` (the reply goes on).
        tool_call_done(object): a ``ToolCallDone`` with the saved tool message.
        tool_notice(str, str): conversation id, a sentence about the reply's tools.
    """

    stream_started = Signal(object)
    stream_delta = Signal(str, str, str, str)
    stream_retrying = Signal(str, str, float)
    stream_finished = Signal(object)
    title_changed = Signal(str, str)
    context_notice = Signal(str, str)
    tool_approval_needed = Signal(object)
    tool_call_running = Signal(object)
    tool_round_saved = Signal(object)
    tool_call_done = Signal(object)
    tool_notice = Signal(str, str)

    def __call__(self, event: ChatEvent) -> None:
        """Emit the signal for ``event``."""
        if isinstance(event, StreamDelta):
            self.stream_delta.emit(event.conversation_id, event.message_id, event.text, event.reasoning)
        elif isinstance(event, StreamStarted):
            self.stream_started.emit(event)
        elif isinstance(event, StreamFinished):
            self.stream_finished.emit(event)
        elif isinstance(event, StreamRetrying):
            self.stream_retrying.emit(event.conversation_id, event.message_id, event.delay)
        elif isinstance(event, TitleChanged):
            self.title_changed.emit(event.conversation_id, event.title)
        elif isinstance(event, ContextNotice):
            self.context_notice.emit(event.conversation_id, event.text)
        elif isinstance(event, ToolApprovalNeeded):
            self.tool_approval_needed.emit(event)
        elif isinstance(event, ToolCallRunning):
            self.tool_call_running.emit(event)
        elif isinstance(event, ToolRoundSaved):
            self.tool_round_saved.emit(event)
        elif isinstance(event, ToolCallDone):
            self.tool_call_done.emit(event)
        elif isinstance(event, ToolNotice):
            self.tool_notice.emit(event.conversation_id, event.text)


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
        if isinstance(error, KNOWN_ERRORS):
            log.info("shown to the user: %s", error)
            on_error(str(error))
            return
        sys.excepthook(type(error), error, error.__traceback__)
