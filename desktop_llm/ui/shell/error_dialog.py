"""Unexpected errors: logged in full, then shown in a dialog with the details and the log's path.

Known errors (a provider refusing a key, a full disk) never come here: they are shown where they
happen, in words a person can act on. What reaches ``sys.excepthook`` is a bug; qasync sends slot
failures there too. The reporter keeps the app running, since the conversations are already
saved and the person may want to carry on.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.ui.common.plain_text import plain_label

log = logging.getLogger(__name__)


class ErrorDialog(QDialog):
    """Say that something unexpected went wrong, with the details to copy and the log's path.

    Args:
        summary: one line: the error's type and message.
        details: the traceback (already redacted).
        log_path: the log file that has the full record.
    """

    def __init__(self, summary: str, details: str, log_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Desktop LLM: unexpected error")
        self.resize(640, 420)
        self._details = details
        self._log_path = log_path
        intro = QLabel(
            "<b>Something went wrong that Desktop LLM did not expect.</b><br>"
            "Your conversations are saved. You can keep working; if this happens again, "
            "please report it with the details below.<br><br>"
            f"Log file: <code>{_escape(str(log_path))}</code>"
        )
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label = plain_label(summary)
        self.summary_label.setWordWrap(True)
        self.details_view = QPlainTextEdit(details)
        self.details_view.setReadOnly(True)
        self.details_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy details")
        copy.clicked.connect(self.on_copy_clicked)
        open_folder = QPushButton("Open log folder")
        open_folder.clicked.connect(self.on_open_folder_clicked)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(open_folder, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)

    def on_copy_clicked(self) -> None:
        """Put the details on the clipboard."""
        QGuiApplication.clipboard().setText(self._details)

    def on_open_folder_clicked(self) -> None:
        """Open the log folder in the file manager."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._log_path.parent)))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class CrashReporter:
    """A ``sys.excepthook``: log the exception, then show an :class:`ErrorDialog` for it.

    Args:
        log_path: the log file named in the dialog.
        redact: removes keys from the text shown (the log handler redacts on its own).
        parent: returns the window to centre the dialog on (None before it exists).
    """

    def __init__(
        self,
        log_path: Path,
        *,
        redact: Callable[[str], str] = lambda text: text,
        parent: Callable[[], QWidget | None] = lambda: None,
    ) -> None:
        self._log_path = log_path
        self._redact = redact
        self._parent = parent
        self.dialogs: list[ErrorDialog] = []

    def install(self) -> None:
        """Become ``sys.excepthook``."""
        sys.excepthook = self

    def __call__(self, kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        """Handle one uncaught exception."""
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        log.critical("unexpected error", exc_info=(kind, error, trace))
        if QApplication.instance() is None:
            sys.__excepthook__(kind, error, trace)
            return
        summary = self._redact(f"{kind.__name__}: {error}")
        details = self._redact("".join(traceback.format_exception(kind, error, trace)))
        # Several failures in a burst (a bug in a repaint) would stack dialogs; one is enough.
        if any(dialog.isVisible() for dialog in self.dialogs):
            return
        dialog = ErrorDialog(summary, details, self._log_path, self._parent())
        dialog.finished.connect(lambda _result, d=dialog: self._forget(d))
        self.dialogs.append(dialog)
        # Non-modal show(), not exec(): a nested event loop inside qasync's would re-enter it.
        dialog.show()

    def _forget(self, dialog: ErrorDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()
