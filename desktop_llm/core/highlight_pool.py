"""Highlight code blocks in a worker process, one at a time, each within a time budget.

The app's thread never runs Pygments: it asks ``lookup`` for a finished result and, when there
is none yet, ``submit``s a job and shows the code plain meanwhile. A dispatcher thread feeds the
jobs to a child process (``highlight_worker``) and waits for each answer at most ``budget``
seconds; a child over budget is killed (a lexer can backtrack for minutes and a thread cannot
be stopped), the block stays plain for good, and the next job starts a fresh child. Listeners
hear each finished key on the dispatcher thread (the Qt view turns that into a queued signal).

Results are kept per (language, style, code digest), so reopening a conversation highlights
from memory and a block that once ran over budget is never tried again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

DEFAULT_BUDGET_SECONDS = 2.0
# Larger blocks stay plain: swapping colours into a block costs the Qt thread about 10 ms per
# 1,000 characters (Qt lays a table out whole), too long a stall beyond this size.
MAX_HIGHLIGHT_CHARS = 16_000
START_TIMEOUT_SECONDS = 20.0  # a fresh child imports Pygments; slow on a loaded machine
_CACHE_SIZE = 2048
_EOF = object()

HighlightKey = tuple[str, str, bytes]


def highlight_key(code: str, language: str, style: str) -> HighlightKey:
    """Return the cache key of ``code`` in ``language`` highlighted in Pygments ``style``."""
    digest = hashlib.blake2b(code.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return (language.lower(), style, digest)


@dataclass(frozen=True)
class HighlightJob:
    """One code block to highlight."""

    code: str
    language: str
    style: str

    @property
    def key(self) -> HighlightKey:
        """Return the job's cache key."""
        return highlight_key(self.code, self.language, self.style)


def worker_command() -> list[str]:
    """Return the command line that starts a highlight worker (the bundle runs itself with a flag)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--highlight-worker"]
    return [sys.executable, "-m", "desktop_llm.core.highlight_worker"]


class HighlightPool:
    """Highlight code off the caller's thread in a killable worker process.

    Args:
        budget: seconds one block may take before its worker is killed and it stays plain.
        max_chars: longer blocks are never highlighted.
        command: the worker's command line (default: ``worker_command()``).
    """

    def __init__(
        self,
        *,
        budget: float = DEFAULT_BUDGET_SECONDS,
        max_chars: int = MAX_HIGHLIGHT_CHARS,
        command: list[str] | None = None,
    ) -> None:
        self.budget = budget
        self.max_chars = max_chars
        self._command = command or worker_command()
        self._results: OrderedDict[HighlightKey, str | None] = OrderedDict()
        self._pending: set[HighlightKey] = set()
        self._jobs: queue.Queue[HighlightJob | None] = queue.Queue()
        self._listeners: list[Callable[[HighlightKey], None]] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[object] = queue.Queue()
        self._next_id = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.timeouts = 0  # blocks that ran over budget (their worker was killed)

    def add_listener(self, listener: Callable[[HighlightKey], None]) -> None:
        """Call ``listener(key)`` on the dispatcher thread whenever a job finishes."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[HighlightKey], None]) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def lookup(self, key: HighlightKey) -> tuple[bool, str | None]:
        """Return (known, html): html is None for a block that stays plain."""
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return True, self._results[key]
        return False, None

    def submit(self, job: HighlightJob) -> bool:
        """Queue ``job`` unless its result is known or already on the way; return True if queued."""
        key = job.key
        with self._lock:
            if self._closed or key in self._results or key in self._pending:
                return False
            if len(job.code) > self.max_chars:
                self._store(key, None)
                return False
            self._pending.add(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="highlight-dispatcher", daemon=True)
                self._thread.start()
        self._jobs.put(job)
        return True

    def idle(self) -> bool:
        """Return True when no job is queued or running."""
        with self._lock:
            return not self._pending

    def start(self) -> None:
        """Start the worker ahead of the first block (its start-up is then off the critical path)."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="highlight-dispatcher", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop the dispatcher and the worker; later jobs are refused."""
        with self._lock:
            self._closed = True
        self._jobs.put(None)
        self._kill()

    # -- the dispatcher thread -----------------------------------------------------------------

    def _store(self, key: HighlightKey, html: str | None) -> None:
        self._results[key] = html
        if len(self._results) > _CACHE_SIZE:
            self._results.popitem(last=False)

    def _run(self) -> None:
        self._ensure_process()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            html = self._highlight(job)
            key = job.key
            with self._lock:
                self._store(key, html)
                self._pending.discard(key)
            for listener in list(self._listeners):
                try:
                    listener(key)
                except RuntimeError:  # e.g. a view deleted meanwhile: log it, keep serving the rest
                    log.exception("a highlight listener failed")

    def _highlight(self, job: HighlightJob) -> str | None:
        process = self._ensure_process()
        if process is None or process.stdin is None:
            return None
        self._next_id += 1
        request = {"id": self._next_id, "code": job.code, "language": job.language, "style": job.style}
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
        except OSError as error:  # the worker died between jobs
            log.warning("the code highlighter stopped (%s); the block stays plain", error)
            self._kill()
            return None
        while True:
            try:
                reply = self._replies.get(timeout=self.budget)
            except queue.Empty:
                self.timeouts += 1
                log.warning(
                    "highlighting %d characters of %r took over %.1f s; shown plain",
                    len(job.code),
                    job.language,
                    self.budget,
                )
                self._kill()
                return None
            if reply is _EOF or not isinstance(reply, dict):
                if not self._closed:  # closing kills it on purpose
                    log.warning("the code highlighter exited; the block stays plain")
                self._kill()
                return None
            if reply.get("id") == self._next_id:
                html = reply.get("html")
                return html if isinstance(html, str) else None

    def _ensure_process(self) -> subprocess.Popen[str] | None:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if self._closed:
            return None
        try:
            process = subprocess.Popen(
                self._command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                encoding="utf-8",
                env=_worker_environment(),
            )
        except OSError as error:
            log.warning("cannot start the code highlighter (%s); code stays plain", error)
            return None
        self._replies = queue.Queue()
        replies = self._replies
        assert process.stdout is not None
        threading.Thread(
            target=_read_replies, args=(process.stdout, replies), name="highlight-reader", daemon=True
        ).start()
        self._process = process
        try:
            ready = replies.get(timeout=START_TIMEOUT_SECONDS)
        except queue.Empty:
            ready = None
        if not isinstance(ready, dict) or not ready.get("ready"):
            log.warning("the code highlighter did not start; code stays plain")
            self._kill()
            return None
        return process

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("the code highlighter (pid %d) did not exit after kill", process.pid)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError as error:  # a broken pipe on a killed child: nothing to flush
                    log.debug("closing the highlighter's pipe: %s", error)


def _read_replies(stream: IO[str], replies: queue.Queue[object]) -> None:
    try:
        for line in stream:
            replies.put(json.loads(line))
    except (OSError, ValueError) as error:  # the pipe closed under us, or a garbled line
        log.debug("highlighter reader stopped: %s", error)
    replies.put(_EOF)


def _worker_environment() -> dict[str, str]:
    # The child must import this package even when the parent found it by a sys.path entry.
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env
