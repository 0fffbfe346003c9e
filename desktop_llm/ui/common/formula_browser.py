"""A read-only text browser that shows formulas and copies them as the LaTeX they were written in."""

from __future__ import annotations

import re

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QTextBlock, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop_llm.core.math_svg import MATH_SCHEME
from desktop_llm.ui.common.math_images import DocumentFormulas, MathImages, formula_source


class FormulaBrowser(QTextBrowser):
    """Show rendered markdown whose ``math:`` images are drawn by ``math``; load nothing else.

    A selection copies as text with each formula as its markdown source (``$...$``, ``$$...$$``).

    Args:
        math: draws and caches formulas (the app's, shared with the other views).
        parent: owner.
    """

    def __init__(self, math: MathImages, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setSearchPaths([])
        self.formulas = DocumentFormulas(math, self.document(), self)

    def loadResource(self, kind: int, name: QUrl | str) -> object:
        """Return a formula's image (``math:`` names); refuse everything else (nothing is fetched)."""
        address = name if isinstance(name, str) else name.toString()
        if address.startswith(f"{MATH_SCHEME}:"):
            return self.formulas.image(address)
        return None

    def createMimeDataFromSelection(self) -> QMimeData:
        """Return the selected text, formulas as their LaTeX source."""
        cursor = self.textCursor()
        mime = QMimeData()
        mime.setText(text_with_formulas(self.document(), cursor.selectionStart(), cursor.selectionEnd()))
        return mime


def text_with_formulas(document: QTextDocument, start: int, end: int) -> str:
    """Return the text between two positions, one line per block, formulas as their source."""
    lines = []
    block = document.findBlock(start)
    while block.isValid() and block.position() < end:
        lines.append(block_text(block, start, end))
        block = block.next()
    return "\n".join(lines).rstrip()  # Qt ends a rendered document with a space


def block_text(block: QTextBlock, start: int, end: int, *, skip_links: re.Pattern[str] | None = None) -> str:
    """Return the text of ``block`` within [start, end), formulas as their source.

    ``skip_links``: the text of links whose address matches it is left out (interface links).
    """
    parts: list[str] = []
    iterator = block.begin()
    while not iterator.atEnd():
        fragment = iterator.fragment()
        first, last = fragment.position(), fragment.position() + fragment.length()
        char_format = fragment.charFormat()
        skipped = skip_links is not None and skip_links.match(char_format.anchorHref())
        if first < end and last > start and not skipped:
            source = formula_source(char_format)
            if source is not None:
                parts.append(source)
            else:
                parts.append(fragment.text()[max(start, first) - first : min(end, last) - first])
        iterator += 1
    # Qt stores a line break inside a paragraph (<br>, pre-wrap newlines) as U+2028.
    return "".join(parts).replace("\u2028", "\n")
