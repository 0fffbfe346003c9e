"""Await a dialog's answer from a coroutine instead of running a nested event loop.

``QDialog.exec()`` and the static ``QMessageBox``/``QFileDialog`` helpers spin a second event
loop inside a qasync handler, which re-enters asyncio. These helpers ``open()`` the dialog
(window-modal) and await its ``finished`` signal, so the one loop keeps running.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from desktop_llm.ui.common.plain_text import make_plain


async def run_dialog(dialog: QDialog) -> int:
    """Open ``dialog`` and return its result code once it is closed."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_dialog_finished(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.finished.connect(on_dialog_finished)
    dialog.open()
    try:
        return await future
    finally:
        dialog.finished.disconnect(on_dialog_finished)


async def confirm(parent: QWidget | None, title: str, text: str, action: str) -> bool:
    """Ask whether to go ahead with something that cannot be undone; True when the person agrees.

    Args:
        action: the label of the button that goes ahead ("Delete forever").
    """
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Cancel, parent)
    go = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    make_plain(box)  # the question may quote a name from outside (a provider's, a template's)
    try:
        await run_dialog(box)
        return box.clickedButton() is go
    finally:
        box.deleteLater()


@dataclass(frozen=True)
class PathRequest:
    """What to ask for in a file chooser.

    Args:
        caption: the chooser's title.
        suggested: the folder or file to start at.
        filters: name filters, first the default ("JSON export (*.json)").
        save: choose a file to write (else one to read).
    """

    caption: str
    suggested: Path
    filters: tuple[str, ...]
    save: bool


async def choose_path_with_dialog(parent: QWidget | None, request: PathRequest) -> Path | None:
    """Let the person pick a file with a ``QFileDialog``; None when they cancel."""
    dialog = QFileDialog(parent, request.caption, str(request.suggested), ";;".join(request.filters))
    if request.save:
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
        dialog.selectFile(str(request.suggested))
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    try:
        if await run_dialog(dialog) != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
            return None
        chosen = Path(dialog.selectedFiles()[0])
        if request.save and not chosen.suffix:
            chosen = chosen.with_suffix(_default_suffix(dialog.selectedNameFilter()))
        return chosen
    finally:
        dialog.deleteLater()


def _default_suffix(name_filter: str) -> str:
    """Return ".json" for a filter like "JSON export (*.json)"."""
    _, _, patterns = name_filter.partition("(*")
    suffix = patterns.split(")")[0].split()[0] if patterns else ""
    return suffix if suffix.startswith(".") else ""
