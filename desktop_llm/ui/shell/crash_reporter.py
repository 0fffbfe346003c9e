"""Unexpected errors reach ``sys.excepthook``: log them in full, then show the error dialog.

Known errors (a provider refusing a key, a full disk) never come here: they are shown where they
happen, in words a person can act on. What reaches ``sys.excepthook`` is a bug; qasync sends slot
failures there too. The reporter keeps the app running, since the conversations are already
saved and the person may want to carry on. It is installed before the window's first paint; the
dialog's module loads with the first error.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:
    from desktop_llm.ui.shell.error_dialog import ErrorDialog

log = logging.getLogger(__name__)


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
        from desktop_llm.ui.shell.error_dialog import ErrorDialog  # see the module docstring

        dialog = ErrorDialog(summary, details, self._log_path, self._parent())
        dialog.finished.connect(lambda _result, d=dialog: self._forget(d))
        self.dialogs.append(dialog)
        # Non-modal show(), not exec(): a nested event loop inside qasync's would re-enter it.
        dialog.show()

    def _forget(self, dialog: ErrorDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()
