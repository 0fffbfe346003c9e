"""Render a growing markdown reply incrementally: finished blocks once, only the open tail again.

A streamed reply is split at top-level block boundaries. Once a later top-level block has
begun, every block before it is final in CommonMark (only the last block can still absorb
lines: a list item's continuation, a setext underline, a fence's closing line), so those
blocks are rendered exactly once. The last block, the *tail*, is re-rendered whenever more
text arrives, so a refresh costs the size of the tail, not of the whole reply.

One tail can grow large: a long code block. While its fence is open, its complete lines go
into an *open code box* (plain lines on the code background, appended line by line) and only
the line being written is re-rendered; when the fence closes, the box is replaced by the
block rendered whole (highlighted, with its Copy link).

Plain Python: the Qt view asks for HTML here and decides where it goes in its document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from desktop_llm.ui.markdown import MarkdownRenderer, code_box_header_html, code_box_lines_html
from desktop_llm.ui.theme import Palette

# Code in the still-open tail is shown without colours above this size: highlighting is the
# costliest step and the tail is re-rendered on every refresh. It gains colours once closed.
TAIL_HIGHLIGHT_LIMIT = 4000
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _normalise(text: str) -> str:
    # The same normalisation markdown-it applies before parsing; one line break per line, so
    # line numbers in the normalised text are line numbers in the original.
    return _LINE_BREAK.sub("\n", text).replace("\0", "\ufffd")


def _offset_of_line(text: str, line: int) -> int:
    if line == 0:
        return 0
    for count, match in enumerate(_LINE_BREAK.finditer(text), start=1):
        if count == line:
            return match.end()
    return len(text)


@dataclass(frozen=True)
class OpenFence:
    """A code fence still waiting for its closing line, at the end of some text."""

    content_start: int  # offset of the first code line (after the opening line)
    language: str


@dataclass(frozen=True)
class TailSplit:
    """Where the finished blocks of some text end, and whether what follows is an open fence."""

    finished: int  # characters of finished top-level blocks
    open_fence: OpenFence | None  # offsets relative to the start of the text


def split_tail(parser: MarkdownIt, text: str) -> TailSplit:
    """Find the finished blocks of ``text`` (all but the last top-level block) and any open fence.

    ``open_fence`` is set when the last block is a fenced code block whose closing line has not
    arrived, with at least its opening line complete.
    """
    tokens: list[Token] = []
    parser.block.parse(_normalise(text), parser, {}, tokens)
    blocks = [(t, t.map) for t in tokens if t.level == 0 and t.nesting >= 0 and t.map is not None]
    if not blocks:
        return TailSplit(0, None)
    last, last_map = blocks[-1]
    finished = _offset_of_line(text, last_map[0]) if len(blocks) > 1 else 0
    return TailSplit(finished, _open_fence(text, last, finished))


def finished_prefix_length(parser: MarkdownIt, text: str) -> int:
    """Return how many leading characters of ``text`` form finished top-level blocks."""
    return split_tail(parser, text).finished


def _open_fence(text: str, last: object, start: int) -> OpenFence | None:
    if getattr(last, "type", "") != "fence":
        return None
    lines = _LINE_BREAK.split(text[start:])
    opening = lines[0]
    if len(lines) < 2:  # the opening line itself is still being written
        return None
    markup = getattr(last, "markup", "```")
    closing = re.compile(rf" {{0,3}}{re.escape(markup[0])}{{{len(markup)},}}[ \t]*")
    if any(closing.fullmatch(line) for line in lines[1:]):
        return None
    content_start = start + _offset_of_line(text[start:], 1)
    language = opening.strip().lstrip(markup[0]).strip().split(maxsplit=1)
    return OpenFence(content_start, language[0] if language else "")


@dataclass(frozen=True)
class StreamStep:
    """What one refresh changes in a streaming message's body, applied in this order."""

    drop_open_code: bool = False  # remove the open code box: its block is now rendered whole
    finished_html: str = ""  # append after the finished blocks shown so far
    open_code_html: str = ""  # append to the open code box
    tail_html: str = ""  # replaces the tail


@dataclass
class MarkdownStream:
    """The render state of one streaming message.

    ``append`` only buffers (it runs once per token); ``step`` does the work when the view
    refreshes.

    Args:
        renderer: renders the pieces.
        message_id: used in the code blocks' copy links.
        palette: colours of the current theme.
        text: text received before streaming started (a resumed reply), if any.
    """

    renderer: MarkdownRenderer
    message_id: str
    palette: Palette
    text: str = ""
    shown: int = 0  # characters of ``text`` rendered so far (committed + tail)
    committed: int = 0  # characters of ``text`` in finished, rendered blocks
    code_blocks: list[str] = field(default_factory=list)  # of the committed blocks, in order
    tail_code_blocks: tuple[str, ...] = ()
    _box_end: int | None = None  # while a code box is open: end of the code lines it shows
    _parts: list[str] = field(default_factory=list)

    def append(self, text: str) -> None:
        """Buffer more text; nothing is parsed or rendered here."""
        self._parts.append(text)

    def _collect(self) -> None:
        if self._parts:
            self.text += "".join(self._parts)
            self._parts.clear()

    @property
    def received(self) -> str:
        """Return all text received so far."""
        self._collect()
        return self.text

    @property
    def backlog(self) -> int:
        """Return how many received characters are not on screen yet."""
        return len(self.text) + sum(len(p) for p in self._parts) - self.shown

    def step(self, max_chars: int | None = None, *, ending: bool = False) -> StreamStep:
        """Take up to ``max_chars`` more received text into view; return the changes to show.

        ``ending``: no more text will come; when this step reaches the end of the text, the
        tail is rendered as final (every code block highlighted, no open code box).
        """
        self._collect()
        end = len(self.text) if max_chars is None else min(len(self.text), self.shown + max_chars)
        self.shown = end
        split = split_tail(self.renderer.parser, self.text[self.committed : end])
        finished_html, drop = "", False
        if split.finished:
            finished_html = self._commit(split.finished)
            drop = self._close_box()
        fence = split.open_fence
        if fence is None or (ending and end == len(self.text)):
            drop = self._close_box() or drop
            rendered = self.renderer.render(
                self.text[self.committed : end],
                message_id=self.message_id,
                palette=self.palette,
                first_code_index=len(self.code_blocks),
                highlight_limit=None if ending and end == len(self.text) else TAIL_HIGHLIGHT_LIMIT,
            )
            self.tail_code_blocks = rendered.code_blocks
            return StreamStep(drop, finished_html, "", rendered.html)
        open_code = ""
        if self._box_end is None:
            self._box_end = self.committed + fence.content_start - split.finished
            open_code = code_box_header_html(fence.language, self.palette)
        complete = self.committed + _complete_lines_end(self.text[self.committed : end])
        if complete > self._box_end:
            open_code += code_box_lines_html(
                self.text[self._box_end : complete], self.renderer.mono_family, self.palette
            )
            self._box_end = complete
        self.tail_code_blocks = ()
        partial = self.text[self._box_end : end]
        tail = code_box_lines_html(partial, self.renderer.mono_family, self.palette) if partial else ""
        return StreamStep(drop, finished_html, open_code, tail)

    def rerender(self, palette: Palette) -> StreamStep:
        """Render everything shown so far again, in ``palette``, for an empty message body."""
        self.palette = palette
        rendered = self.renderer.render(
            self.text[: self.committed], message_id=self.message_id, palette=palette
        )
        self.code_blocks = list(rendered.code_blocks)
        self._box_end = None
        step = self.step(0)
        return StreamStep(False, rendered.html, step.open_code_html, step.tail_html)

    def code_block(self, index: int) -> str | None:
        """Return the code of block ``index`` (committed or in the tail), or None."""
        blocks = [*self.code_blocks, *self.tail_code_blocks]
        return blocks[index] if 0 <= index < len(blocks) else None

    def _commit(self, length: int) -> str:
        piece = self.text[self.committed : self.committed + length]
        self.committed += length
        rendered = self.renderer.render(
            piece,
            message_id=self.message_id,
            palette=self.palette,
            first_code_index=len(self.code_blocks),
        )
        self.code_blocks.extend(rendered.code_blocks)
        return rendered.html

    def _close_box(self) -> bool:
        was_open = self._box_end is not None
        self._box_end = None
        return was_open


def _complete_lines_end(text: str) -> int:
    """Return the offset just after the last complete line of ``text`` (0 if there is none)."""
    cut = max(text.rfind("\n"), text.rfind("\r"))
    if cut < 0:
        return 0
    if text[cut] == "\r" and cut == len(text) - 1:  # maybe the first half of "\r\n": not complete yet
        return _complete_lines_end(text[:cut])
    return cut + 1
