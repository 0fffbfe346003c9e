"""Export conversations to JSON or Markdown and import exports, off the Qt thread, reporting progress.

The work itself is the storage layer's (``export_json``, ``markdown_export``, ``importer``); it
runs on the ``DatabaseThread`` because it reads or writes the database, so the UI stays live
while a 200 MB file is written or read. Progress reports reach the caller on the event loop's
thread, never on the worker.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO, cast

from desktop_llm.storage.atomic_write import atomic_text_file
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.export_json import ExportSummary, write_export
from desktop_llm.storage.importer import ImportResult, import_file
from desktop_llm.storage.markdown_export import export_markdown_file

ExportFormat = Literal["json", "markdown"]

# How often the writer may report bytes written: often enough to move, rarely enough to be free.
_REPORT_INTERVAL = 0.1
_UNSAFE_FILENAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass(frozen=True)
class ExchangeProgress:
    """What an export or import is doing, for a progress dialog.

    ``total`` 0 means the amount of work is unknown (show a busy indicator); ``done`` then
    counts what is known to be finished, in ``unit`` ("bytes" or "conversations").
    """

    stage: str
    done: int = 0
    total: int = 0
    unit: str = ""


ProgressCallback = Callable[[ExchangeProgress], None]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote, and where."""

    path: Path
    format: ExportFormat
    conversations: int
    messages: int


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def suggested_filename(title: str, export_format: ExportFormat) -> str:
    """Return a file name for a conversation's export, from its title."""
    stem = _UNSAFE_FILENAME.sub(" ", title).strip(" .")[:80].strip() or "conversation"
    return f"{stem}.{'md' if export_format == 'markdown' else 'json'}"


class _ReportingWriter(io.TextIOBase):
    """Pass text on to ``out`` and report the bytes written now and then (from the worker thread)."""

    def __init__(self, out: TextIO, report: Callable[[int], None]) -> None:
        super().__init__()
        self._out = out
        self._report = report
        self._written = 0
        self._last = 0.0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._out.write(text)
        self._written += len(text.encode("utf-8"))
        now = time.monotonic()
        if now - self._last >= _REPORT_INTERVAL:
            self._last = now
            self._report(self._written)
        return len(text)


class ExchangeService:
    """Export and import on the database thread, with progress reports.

    Args:
        db: the database thread; every export and import runs there.
    """

    def __init__(self, db: DatabaseThread) -> None:
        self._db = db

    async def conversation_title(self, conversation_id: str) -> str:
        """Return the conversation's title, to suggest a file name."""
        conversation = await self._db.call(lambda db: ConversationRepository(db).get(conversation_id))
        return conversation.title

    async def export_conversation(
        self,
        conversation_id: str,
        path: Path,
        export_format: ExportFormat = "json",
        *,
        progress: ProgressCallback | None = None,
    ) -> ExportResult:
        """Write one conversation to ``path``: its whole tree as JSON, or its active branch as Markdown.

        Raises:
            NotFound: the conversation was deleted meanwhile.
            StorageError: the file cannot be written (the message says why); ``path`` is untouched.
        """
        _notify(progress, ExchangeProgress(f"Exporting to {Path(path).name}…"))
        if export_format == "markdown":
            count = await self._db.call(export_markdown_file, conversation_id, Path(path))
            return ExportResult(Path(path), "markdown", 1, count)
        summary = await self._export_json(Path(path), [conversation_id], progress)
        return ExportResult(Path(path), "json", summary.conversations, summary.messages)

    async def export_all(self, path: Path, *, progress: ProgressCallback | None = None) -> ExportResult:
        """Write every conversation (trash and archive too), folder and template to ``path`` as JSON.

        Raises:
            StorageError: the file cannot be written; ``path`` is untouched.
        """
        total = await self._db.call(_count_conversations)
        _notify(progress, ExchangeProgress(f"Exporting {_plural(total, 'conversation')}…"))
        summary = await self._export_json(Path(path), None, progress)
        return ExportResult(Path(path), "json", summary.conversations, summary.messages)

    async def import_file(self, path: Path, *, progress: ProgressCallback | None = None) -> ImportResult:
        """Import a desktop-llm export, or a ChatGPT ``conversations.json`` or its .zip; all or nothing.

        Raises:
            ImportFailed: the file cannot be imported; ``.problems`` names each problem and
                nothing was changed.
        """
        path = Path(path)
        size = await asyncio.to_thread(_file_size, path)
        shown = f"{path.name} ({_megabytes(size)})" if size is not None else path.name
        _notify(progress, ExchangeProgress(f"Checking and importing {shown}…"))
        return await self._db.call(import_file, path)

    async def _export_json(
        self, path: Path, conversation_ids: Sequence[str] | None, progress: ProgressCallback | None
    ) -> ExportSummary:
        loop = asyncio.get_running_loop()

        def report(written: int) -> None:
            if progress is not None:
                stage = f"Exporting to {path.name}… {_megabytes(written)} written"
                loop.call_soon_threadsafe(progress, ExchangeProgress(stage, written, 0, "bytes"))

        def export(db: Database) -> ExportSummary:
            with atomic_text_file(path) as out:
                writer = cast(TextIO, _ReportingWriter(out, report))
                return write_export(db, writer, conversation_ids=conversation_ids)

        return await self._db.call(export)


def _notify(progress: ProgressCallback | None, update: ExchangeProgress) -> None:
    if progress is not None:
        progress(update)


def _count_conversations(db: Database) -> int:
    repository = ConversationRepository(db)
    return repository.count(include_archived=True) + repository.count(include_archived=True, trashed=True)


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None  # the importer names the problem precisely


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"
