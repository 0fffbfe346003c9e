"""Colour a template part as it is typed: variables stand out, ``{{``/``}}`` are dimmed, errors underlined.

The highlighter reads the text with the grammar's own tokens (``{{``, ``}}``, ``{name}``), left
to right as the parser does, so ``{{{x}}}`` shows a literal brace, the variable, a literal brace.
The offending brace of a syntax error (its offset comes from ``TemplateError.position``) gets a
red wavy underline and a tint, so it can be found in a long prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from desktop_llm.core.theme import palette_for

# The grammar's tokens, tried left to right: an escaped brace, or a whole variable.
_TOKEN = re.compile(r"\{\{|\}\}|\{(\w+)\}")


class TemplateHighlighter(QSyntaxHighlighter):
    """Highlight the template grammar in ``document``.

    Args:
        document: the part's text document (a ``QPlainTextEdit``'s).
        dark: use the dark theme's colours.
    """

    def __init__(self, document: QTextDocument, *, dark: bool = False) -> None:
        super().__init__(document)
        self._errors: frozenset[int] = frozenset()
        self._dark = dark
        self._formats(dark)

    def _formats(self, dark: bool) -> None:
        colours = palette_for(dark)
        self.variable_format = QTextCharFormat()
        self.variable_format.setForeground(QColor(colours.link))
        self.variable_format.setFontWeight(QFont.Weight.DemiBold)
        self.variable_format.setBackground(QColor("#1d2f45" if dark else "#e8f0fb"))
        self.escape_format = QTextCharFormat()
        self.escape_format.setForeground(QColor(colours.muted))
        self.error_format = QTextCharFormat()
        self.error_format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        self.error_format.setUnderlineColor(QColor(colours.error))
        self.error_format.setForeground(QColor(colours.error))
        self.error_format.setBackground(QColor("#4a1c1c" if dark else "#fde2e2"))
        self.error_format.setFontWeight(QFont.Weight.Bold)

    def set_dark(self, dark: bool) -> None:
        """Switch to the light or dark colours (a no-op when they are already in use)."""
        if dark == self._dark:
            return
        self._dark = dark
        self._formats(dark)
        self.rehighlight()

    @property
    def error_positions(self) -> frozenset[int]:
        """Return the offsets currently marked as errors."""
        return self._errors

    def set_error_positions(self, positions: Iterable[int]) -> None:
        """Mark the characters at these offsets (into the whole text) as errors."""
        errors = frozenset(positions)
        if errors != self._errors:
            self._errors = errors
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        """Colour one line: tokens first, then any error offsets that fall in it."""
        for match in _TOKEN.finditer(text):
            name = match.group(1)
            if name is None:
                self.setFormat(match.start(), 2, self.escape_format)
            elif name.isidentifier():
                self.setFormat(match.start(), match.end() - match.start(), self.variable_format)
        start = self.currentBlock().position()
        for offset in self._errors:
            if start <= offset < start + max(len(text), 1):
                self.setFormat(offset - start, 1, self.error_format)
