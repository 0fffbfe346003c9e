"""Find LaTeX math in markdown: ``$...$``, ``$$...$$``, ``\\(...\\)`` and ``\\[...\\]``.

A markdown-it inline rule, so code spans and code blocks are never searched (the parser gives
them to their own rules first). Dollars follow Pandoc's rule, which keeps prices as text: the
opening ``$`` has a non-space after it, the closing ``$`` a non-space before it and no digit
after it; inline math holds no code span and does not start with a number then a space (so
"$5 and $10" and "$5 or $10 each, `$x$`" stay text).
``\\$`` is a literal dollar (markdown's escape).

Tokens: ``math_inline`` and ``math_display``, with the LaTeX in ``content``. A paragraph that
holds display math is split around it, so each display formula is a paragraph of its own, marked
``align="center"`` (Qt's rich text centres such a block). Plain Python.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the renderer imports markdown-it when it builds its parser
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

# "$10 each; ... $": a price followed by prose, not a formula.
_PRICE_THEN_WORDS = re.compile(r"\d[\d.,]*\s")
MATH_INLINE = "math_inline"
MATH_DISPLAY = "math_display"
_BREAKS = ("softbreak", "hardbreak")


def math_plugin(parser: MarkdownIt) -> None:
    """Teach ``parser`` the four math delimiters (before markdown's backslash escapes)."""
    parser.inline.ruler.before("escape", "math", _math_rule)
    parser.core.ruler.after("inline", "math_blocks", _display_paragraphs)


def _display_paragraphs(state: StateCore) -> None:
    """Split each paragraph around its display formulas: one centred paragraph per formula."""
    source, tokens, index = state.tokens, [], 0
    while index < len(source):
        opening = source[index]
        inline = source[index + 1] if index + 1 < len(source) else None
        if (
            opening.type == "paragraph_open"
            and inline is not None
            and any(child.type == MATH_DISPLAY for child in inline.children or [])
        ):
            tokens.extend(_split(opening, inline, source[index + 2]))
            index += 3
        else:
            tokens.append(opening)
            index += 1
    state.tokens = tokens


def _split(opening: Token, inline: Token, closing: Token) -> list[Token]:
    """Return the paragraph as one paragraph per run of text and one per display formula."""
    tokens: list[Token] = []
    for piece in _pieces(inline.children or []):
        start, body, end = opening.copy(), inline.copy(), closing.copy()
        if len(piece) == 1 and piece[0].type == MATH_DISPLAY:
            start.attrSet("align", "center")
            start.hidden = end.hidden = False  # a tight list's hidden paragraph would lose it
        body.children, body.content = piece, ""  # the renderer reads the children
        tokens.extend((start, body, end))
    return tokens


def _pieces(children: list[Token]) -> list[list[Token]]:
    """Return the runs of inline tokens between display formulas, and each formula alone."""
    pieces: list[list[Token]] = [[]]
    for child in children:
        if child.type == MATH_DISPLAY:
            pieces.extend(([child], []))
        else:
            pieces[-1].append(child)
    trimmed = []
    for piece in pieces:
        while piece and piece[0].type in _BREAKS:
            piece.pop(0)
        while piece and piece[-1].type in _BREAKS:
            piece.pop()
        if any(child.type != "text" or child.content.strip() for child in piece):
            trimmed.append(piece)
    return trimmed


def _push(state: StateInline, kind: str, latex: str, markup: str, end: int, silent: bool) -> bool:
    if not latex.strip():
        return False
    if not silent:
        token = state.push(kind, "math", 0)
        token.content = latex.strip()
        token.markup = markup
    state.pos = end
    return True


def _find_unescaped(src: str, needle: str, start: int, stop: int) -> int:
    """Return the index of ``needle`` in src[start:stop] not preceded by a backslash, or -1."""
    at = src.find(needle, start, stop)
    while at != -1:
        backslashes = 0
        while at - backslashes - 1 >= start and src[at - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return at
        at = src.find(needle, at + 1, stop)
    return -1


def _math_rule(state: StateInline, silent: bool) -> bool:
    src, pos, stop = state.src, state.pos, state.posMax
    if src.startswith("\\(", pos) or src.startswith("\\[", pos):
        closing = "\\)" if src[pos + 1] == "(" else "\\]"
        end = src.find(closing, pos + 2, stop)
        if end == -1:
            return False
        kind = MATH_INLINE if closing == "\\)" else MATH_DISPLAY
        return _push(state, kind, src[pos + 2 : end], src[pos : pos + 2], end + 2, silent)
    if src[pos] != "$":
        return False
    if src.startswith("$$", pos):
        end = _find_unescaped(src, "$$", pos + 2, stop)
        if end == -1:
            return False
        return _push(state, MATH_DISPLAY, src[pos + 2 : end], "$$", end + 2, silent)
    return _inline_dollar(state, silent)


def _inline_dollar(state: StateInline, silent: bool) -> bool:
    src, pos, stop = state.src, state.pos, state.posMax
    if pos + 1 >= stop or src[pos + 1].isspace():
        return False
    end = _find_unescaped(src, "$", pos + 1, stop)
    if end == -1:
        return False
    before, after = src[end - 1], src[end + 1] if end + 1 < stop else ""
    latex = src[pos + 1 : end]
    if before.isspace() or after.isdigit() or "`" in latex or _PRICE_THEN_WORDS.match(latex):
        return False
    return _push(state, MATH_INLINE, latex, "$", end + 1, silent)


def might_start_math(text: str) -> bool:
    """Return True if a streamed piece may open a formula (a dollar, ``\\(``, ``\\[``, or ends in ``\\``)."""
    return "$" in text or "\\(" in text or "\\[" in text or text.endswith("\\")


def math_source(latex: str, display: bool) -> str:
    """Return a formula as it is written in markdown (what Copy gives back)."""
    return f"$${latex}$$" if display else f"${latex}$"
