"""The text browser under the chat view: loads nothing, copies text without labels, highlights matches."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QColor, QImage, QTextCharFormat
from PySide6.QtWidgets import QFrame, QTextEdit, QWidget

from desktop_llm.core.message_chrome import THUMB_SCHEME
from desktop_llm.ui.common.formula_browser import FormulaBrowser
from desktop_llm.ui.common.math_images import MathImages

MAX_HIGHLIGHTS = 1000


class ChatBrowser(FormulaBrowser):
    """Show the conversation document.

    It never loads a resource from the network or a file: remote images in replies stay
    unfetched; the only images are thumbnails of attached files, which come from
    ``image_source`` (by the stored bytes' hash), and formulas, drawn by ``math``. It puts
    the selection's text without interface labels on the clipboard, and never follows a link
    itself (the chat view decides what a click means).

    Args:
        parent: the chat view.
        copy_text: returns the text to copy for a selection's [start, end) positions.
        math: draws the formulas (``math:`` names).
    """

    def __init__(self, parent: QWidget, copy_text: Callable[[int, int], str], math: MathImages) -> None:
        super().__init__(math, parent)
        self._copy_text = copy_text
        self.setUndoRedoEnabled(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.image_source: Callable[[str], QImage] | None = None

    def loadResource(self, kind: int, name: QUrl | str) -> object:
        """Return a thumbnail (``thumb:<hash>``) or a formula (``math:``); refuse everything else."""
        url = QUrl(name) if isinstance(name, str) else name
        if url.scheme() == THUMB_SCHEME and self.image_source is not None:
            return self.image_source(url.path())
        return super().loadResource(kind, name)

    def createMimeDataFromSelection(self) -> QMimeData:
        """Return the selected text as a reader sees it, without headers and action links."""
        cursor = self.textCursor()
        mime = QMimeData()
        mime.setText(self._copy_text(cursor.selectionStart(), cursor.selectionEnd()))
        return mime

    def highlight_matches(self, text: str, colour: str) -> int:
        """Paint every match of ``text`` (up to ``MAX_HIGHLIGHTS``) and return how many there are.

        Extra selections follow the text as the document changes, and leave the selection alone.
        """
        selections: list[QTextEdit.ExtraSelection] = []
        if text:
            highlight = QTextCharFormat()
            highlight.setBackground(QColor(colour))
            document = self.document()
            cursor = document.find(text, 0)
            while not cursor.isNull() and len(selections) < MAX_HIGHLIGHTS:
                selection = QTextEdit.ExtraSelection()
                selection.cursor = cursor
                selection.format = highlight
                selections.append(selection)
                cursor = document.find(text, cursor)
        self.setExtraSelections(selections)
        return len(selections)
