"""Export and import from the window: choose a file, show progress, then say what happened in plain words.

The main window and the settings dialog call :func:`export_conversation`, :func:`export_all`
and :func:`import_file` from their async handlers. The work runs in ``ExchangeService`` on the
database thread; a progress window appears if it takes more than a moment. Known failures
(a file that cannot be written, an import with problems) end in a message that lists them;
nothing else is caught.

File choosers are injectable (``choose_path``) so tests can answer them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from desktop_llm.services.exchange import (
    ExchangeProgress,
    ExchangeService,
    ExportFormat,
    ExportResult,
    suggested_filename,
)
from desktop_llm.storage.errors import ImportFailed, StorageError
from desktop_llm.storage.importer import ImportResult
from desktop_llm.ui.common.await_dialog import PathRequest, choose_path_with_dialog
from desktop_llm.ui.common.plain_text import make_plain

ChoosePath = Callable[[QWidget | None, PathRequest], Awaitable[Path | None]]
ResultT = TypeVar("ResultT", ExportResult, ImportResult)

JSON_FILTER = "Desktop LLM export (*.json)"
MARKDOWN_FILTER = "Markdown (*.md)"
IMPORT_FILTERS = (
    "Exports (*.json *.zip)",
    "Desktop LLM export (*.json)",
    "ChatGPT export (conversations.json *.zip)",
    "All files (*)",
)
# Shown only when the work is not over by then: a quick export should not flash a window.
PROGRESS_DELAY_MS = 400
_PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class Outcome:
    """How an export or import ended, as the result window says it.

    Args:
        succeeded: the file was written or imported.
        text: the result window's headline.
        details: the result window's explanation (problems, counts).
        message: the result window (already open, closes itself when dismissed).
        result: the service's result (``ExportResult`` / ``ImportResult``) when it succeeded.
    """

    succeeded: bool
    text: str
    details: str
    message: QMessageBox
    result: ExportResult | ImportResult | None = None


class ProgressWindow:
    """A busy or counting progress window that opens only if the work outlasts ``delay_ms``."""

    def __init__(self, parent: QWidget | None, title: str, delay_ms: int = PROGRESS_DELAY_MS) -> None:
        self.dialog = QProgressDialog(parent)
        self.dialog.setWindowTitle(title)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setCancelButton(None)  # the storage layer's work cannot be interrupted safely
        self.dialog.setRange(0, 0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setMinimumWidth(420)
        # Our own timer: QProgressDialog's minimumDuration only counts from a first setValue().
        self._timer = QTimer(self.dialog)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.dialog.show)
        self._timer.start(delay_ms)

    def update(self, progress: ExchangeProgress) -> None:
        """Show the stage's text, and how far along when the total is known."""
        self.dialog.setLabelText(progress.stage)
        if progress.total:
            self.dialog.setRange(0, progress.total)
            self.dialog.setValue(min(progress.done, progress.total))

    def close(self) -> None:
        """Close the window (or keep it from ever opening)."""
        self._timer.stop()
        self.dialog.hide()
        self.dialog.deleteLater()


def tell(parent: QWidget | None, succeeded: bool, title: str, text: str, details: str) -> QMessageBox:
    """Open a result window (information, or a warning when it failed) and return it."""
    icon = QMessageBox.Icon.Information if succeeded else QMessageBox.Icon.Warning
    message = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    message.setInformativeText(details)
    make_plain(message)  # the details quote the file, which may hold anything
    message.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    message.open()
    return message


def _outcome(
    parent: QWidget | None,
    title: str,
    text: str,
    details: str,
    result: ExportResult | ImportResult | None = None,
) -> Outcome:
    succeeded = result is not None
    return Outcome(succeeded, text, details, tell(parent, succeeded, title, text, details), result)


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}" if number == 1 else f"{number:,} {word}s"


def _export_details(result: ExportResult) -> str:
    what = f"{_count(result.conversations, 'conversation')} with {_count(result.messages, 'message')}"
    if result.format == "markdown":
        what = f"The conversation's current branch ({_count(result.messages, 'message')})"
    return f"{what} saved to {result.path}."


def import_summary(result: ImportResult) -> str:
    """Return what an import did in a sentence or two."""
    source = "ChatGPT export" if result.format == "chatgpt" else "export"
    parts = [
        f"Imported {_count(result.imported, 'conversation')} "
        f"({_count(result.messages, 'message')}) from the {source}."
    ]
    if result.skipped:
        parts.append(f"{_count(result.skipped, 'conversation')} you already had were skipped.")
    if result.renamed:
        parts.append(
            f"{_count(result.renamed, 'conversation')} got new ids because theirs were already in use."
        )
    extras = [
        _count(number, word)
        for number, word in ((result.folders, "folder"), (result.templates, "template"))
        if number
    ]
    if extras:
        parts.append(f"Also added: {', '.join(extras)}.")
    return " ".join(parts)


def import_problems(error: ImportFailed) -> str:
    """Return the problems of a failed import as a list a person can read and act on."""
    shown = [f"• {problem}" for problem in error.problems[:_PROBLEMS_SHOWN]]
    hidden = len(error.problems) - len(shown)
    if hidden > 0:
        shown.append(f"…and {_count(hidden, 'more problem')}.")
    return "\n".join([*shown, "", "Nothing was imported; your conversations are unchanged."])


def _import_failure(error: StorageError) -> str:
    if isinstance(error, ImportFailed):
        return import_problems(error)
    return str(error)  # the database refused the write (disk full, busy)


async def _run_with_progress(
    parent: QWidget | None,
    action: str,
    work: Callable[[Callable[[ExchangeProgress], None]], Awaitable[ResultT]],
    *,
    failed_text: str,
    finished_text: str,
    details: Callable[[ResultT], str],
    delay_ms: int,
    failure_details: Callable[[StorageError], str] = str,
) -> Outcome:
    """Run ``work`` behind a progress window, then say how it ended ("Export failed", "Import finished").

    Args:
        action: "Export" or "Import", for the window titles.
        work: the service call; it is given the progress window's update function.
        failed_text: the headline when a ``StorageError`` ends it (nothing else is caught).
        finished_text: the headline when it succeeds.
        details: the explanation of a success.
        failure_details: the explanation of a failure.
    """
    progress = ProgressWindow(parent, f"{action}ing", delay_ms)
    try:
        result = await work(progress.update)
    except StorageError as error:
        return _outcome(parent, f"{action} failed", failed_text, failure_details(error))
    finally:
        progress.close()
    return _outcome(parent, f"{action} finished", finished_text, details(result), result)


def _export_format(path: Path, export_format: ExportFormat | None) -> ExportFormat:
    if export_format is not None:
        return export_format
    return "markdown" if path.suffix.lower() in (".md", ".markdown") else "json"


async def export_conversation(
    parent: QWidget | None,
    exchange: ExchangeService,
    conversation_id: str,
    *,
    export_format: ExportFormat | None = None,
    choose_path: ChoosePath = choose_path_with_dialog,
    start_folder: Path | None = None,
    progress_delay_ms: int = PROGRESS_DELAY_MS,
) -> Outcome | None:
    """Ask where to save one conversation, export it (JSON, or Markdown by choice or ``.md``), and say so.

    Args:
        export_format: force a format; None lets the chosen file's name decide (``.md``: Markdown).

    Returns:
        How it ended, or None when the person cancelled the file chooser.
    """
    title = await exchange.conversation_title(conversation_id)
    filters = (
        (MARKDOWN_FILTER, JSON_FILTER) if export_format == "markdown" else (JSON_FILTER, MARKDOWN_FILTER)
    )
    suggested = suggested_filename(title, export_format or "json")
    path = await choose_path(
        parent,
        PathRequest("Export conversation", (start_folder or Path.home()) / suggested, filters, save=True),
    )
    if path is None:
        return None
    chosen_format = _export_format(path, export_format)
    # A StorageError ends it, NotFound included: the conversation was deleted meanwhile.
    return await _run_with_progress(
        parent,
        "Export",
        lambda progress: exchange.export_conversation(
            conversation_id, path, chosen_format, progress=progress
        ),
        failed_text="The conversation could not be exported.",
        finished_text="Conversation exported.",
        details=_export_details,
        delay_ms=progress_delay_ms,
    )


async def export_all(
    parent: QWidget | None,
    exchange: ExchangeService,
    *,
    choose_path: ChoosePath = choose_path_with_dialog,
    start_folder: Path | None = None,
    progress_delay_ms: int = PROGRESS_DELAY_MS,
) -> Outcome | None:
    """Ask where to save everything, export it as JSON, and say what was written.

    Returns:
        How it ended, or None when the person cancelled the file chooser.
    """
    suggested = (start_folder or Path.home()) / "desktop-llm-export.json"
    path = await choose_path(parent, PathRequest("Export all conversations", suggested, (JSON_FILTER,), True))
    if path is None:
        return None
    return await _run_with_progress(
        parent,
        "Export",
        lambda progress: exchange.export_all(path, progress=progress),
        failed_text="Your conversations could not be exported.",
        finished_text="All conversations exported.",
        details=_export_details,
        delay_ms=progress_delay_ms,
    )


async def import_file(
    parent: QWidget | None,
    exchange: ExchangeService,
    *,
    choose_path: ChoosePath = choose_path_with_dialog,
    start_folder: Path | None = None,
    progress_delay_ms: int = PROGRESS_DELAY_MS,
) -> Outcome | None:
    """Ask for a Desktop LLM or ChatGPT export (.json or .zip), import it all or nothing, and report.

    Returns:
        How it ended, or None when the person cancelled the file chooser.
    """
    path = await choose_path(
        parent, PathRequest("Import conversations", start_folder or Path.home(), IMPORT_FILTERS, False)
    )
    if path is None:
        return None
    return await _run_with_progress(
        parent,
        "Import",
        lambda progress: exchange.import_file(path, progress=progress),
        failed_text=f"{path.name} could not be imported.",
        finished_text="Import finished.",
        details=import_summary,
        delay_ms=progress_delay_ms,
        failure_details=_import_failure,
    )
