"""The dialog for an unexpected error: what happened, the details to copy, and the log's path.

``crash_reporter`` shows it for whatever reaches ``sys.excepthook`` (a bug, never a known error).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.ui.common.plain_text import plain_label


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
