"""Render a growing markdown reply incrementally: finished blocks once, only the open tail again.

A streamed reply is split at top-level block boundaries. Once a later top-level block has
begun, every block before it is final in CommonMark (only the last block can still absorb
lines: a list item's continuation, a setext underline, a fence's closing line), so those
blocks are rendered exactly once. The last block, the *tail*, is re-rendered whenever more
text arrives, so a refresh costs the size of the tail, not of the whole reply.

One tail can grow large: a long code block. While its fence is open, its complete lines go
into an *open code box* (plain lines on the code background, appended line by line) and only
the line being written is re-rendered; when the fence closes, the box is replaced by the
block rendered whole (with its Copy link; colours follow from the highlighter). While the fence
is open, where it starts is remembered and only lines that arrived since the last refresh are
tested for the closing fence, so a refresh costs the new text, not the size of the block.

Plain Python: the Qt view asks for HTML here and decides where it goes in its document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from desktop_llm.core.highlight_pool import HighlightJob
from desktop_llm.core.markdown import (
    BLOCK_LIMITS,
    MarkdownRenderer,
    code_box_header_html,
    code_box_lines_html,
)
from desktop_llm.core.theme import Palette

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

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
    markup: str = field(default="```", compare=False)  # the opening marker run


@dataclass
class _TrackedFence:
    """The open fence at the end of a stream, followed line by line (offsets in the whole text)."""

    language: str
    closing: re.Pattern[str]
    scanned: int  # complete lines before this offset are known not to close the fence

    def still_open(self, text: str, end: int) -> bool:
        """Test the lines of ``text`` that arrived since the last call; True if none closes the fence.

        A line still being written that already looks like a closing fence counts as closing
        (the caller then parses the block as a whole, exactly as before tracking).
        """
        complete = _complete_lines_end(text, self.scanned, end)
        if complete > self.scanned:
            lines = _LINE_BREAK.split(text[self.scanned : complete])
            if any(self.closing.fullmatch(line) for line in lines[:-1]):
                return False
            self.scanned = complete
        return self.closing.fullmatch(text[complete:end].rstrip("\r")) is None


@dataclass(frozen=True)
class TailSplit:
    """Where the finished blocks of some text end, and whether what follows is an open fence."""

    finished: int  # characters of finished top-level blocks
    open_fence: OpenFence | None  # offsets relative to the start of the text
    # When the last block is a table with its header and delimiter lines complete: the offset
    # just after its last complete line.
    open_table: int | None = None


def split_tail(parser: MarkdownIt, text: str, references: dict[str, Any] | None = None) -> TailSplit:
    """Find the finished blocks of ``text`` (all but the last top-level block) and any open fence.

    ``open_fence`` is set when the last block is a fenced code block whose closing line has not
    arrived, with at least its opening line complete. Link reference definitions found on the
    way are added to ``references``.
    """
    tokens: list[Token] = []
    env: dict[str, Any] = {"references": references if references is not None else {}}
    parser.block.parse(_normalise(text), parser, env, tokens)
    blocks = [(t, t.map) for t in tokens if t.level == 0 and t.nesting >= 0 and t.map is not None]
    if not blocks:
        return TailSplit(0, None)
    last, last_map = blocks[-1]
    finished = _offset_of_line(text, last_map[0]) if len(blocks) > 1 else 0
    table = None
    if last.type == "table_open":
        complete = _complete_lines_end(text, finished, len(text))
        if len(_LINE_BREAK.findall(text, finished, complete)) >= 2:
            table = complete
    return TailSplit(finished, _open_fence(text, last, finished), table)


def finished_prefix_length(parser: MarkdownIt, text: str) -> int:
    """Return how many leading characters of ``text`` form finished top-level blocks."""
    return split_tail(parser, text).finished


def closing_fence(markup: str) -> re.Pattern[str]:
    """Return the pattern of a whole line that closes a top-level fence opened with ``markup``.

    As markdown-it decides it: at most three spaces, at least as many of the same marker
    character, then only spaces or tabs.
    """
    return re.compile(rf" {{0,3}}{re.escape(markup[0])}{{{len(markup)},}}[ \t]*")


def _open_fence(text: str, last: object, start: int) -> OpenFence | None:
    if getattr(last, "type", "") != "fence":
        return None
    lines = _LINE_BREAK.split(text[start:])
    opening = lines[0]
    if len(lines) < 2:  # the opening line itself is still being written
        return None
    markup = getattr(last, "markup", "```")
    closing = closing_fence(markup)
    if any(closing.fullmatch(line) for line in lines[1:]):
        return None
    content_start = start + _offset_of_line(text[start:], 1)
    language = opening.strip().lstrip(markup[0]).strip().split(maxsplit=1)
    return OpenFence(content_start, language[0] if language else "", markup)


# A line that can only continue an open table: nothing else starts with a pipe.
_TABLE_ROW = re.compile(r" {0,3}\|")


@dataclass
class _TrackedTable:
    """The open table at the end of a stream, grown row by row (offsets in the whole text)."""

    head: str  # its header and delimiter lines
    rows_end: int  # just after the last complete row taken into the box
    rows: int  # body rows shown (up to the limit)

    def new_rows(self, text: str, end: int) -> str | None:
        """Return the complete rows that arrived since the last call, or None if the table may end."""
        complete = _complete_lines_end(text, self.rows_end, end)
        lines = _LINE_BREAK.split(text[self.rows_end : complete])[:-1]
        partial = text[complete:end]
        if any(not _TABLE_ROW.match(line) for line in lines) or (partial and not _TABLE_ROW.match(partial)):
            return None
        rows = text[self.rows_end : complete]
        self.rows_end = complete
        return rows


@dataclass(frozen=True)
class StreamStep:
    """What one refresh changes in a streaming message's body, applied in this order."""

    drop_open_code: bool = False  # remove the open code box: its block is now rendered whole
    finished_html: str = ""  # append after the finished blocks shown so far
    open_code_html: str = ""  # append to the open code box
    tail_html: str = ""  # replaces the tail
    pending: tuple[tuple[int, HighlightJob], ...] = ()  # code blocks shown plain for now
    table_rows: tuple[tuple[tuple[str, str], ...], ...] = ()  # append to the open table's box


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
    hidden: bool = False  # a committed block was cut to the limits (see ``core.markdown_limits``)
    tail_hidden: bool = False
    shown_box: bool = False  # the open code box (its header at least) is in the document
    _box_end: int | None = None  # while a code box is open: end of the code lines it shows
    _fence: _TrackedFence | None = None  # the open fence at the end, once found
    _table: _TrackedTable | None = None  # the open table at the end, once found
    # Link reference definitions seen so far; a new one makes ``stale`` True when text shown
    # earlier may use it (the view then renders the body again, once).
    references: dict[str, Any] = field(default_factory=dict)
    stale: bool = False
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
        final = ending and end == len(self.text)
        if self._fence is not None and not final and self._fence.still_open(self.text, end):
            return self._open_code_step(self._fence.language, end, StreamStep())
        if self._table is not None and not final:
            rows = self._table.new_rows(self.text, end)
            if rows is not None:
                return self._grow_table(rows)
        self._fence = self._table = None
        known = len(self.references)
        split = split_tail(self.renderer.parser, self.text[self.committed : end], self.references)
        if len(self.references) > known and "]" in self.text[: self.committed]:
            self.stale = True
        finished = StreamStep()
        if split.finished:
            finished = self._commit(split.finished)
            finished = replace(finished, drop_open_code=self._close_box())
        fence = split.open_fence
        if split.open_table is not None and not final:
            return self._open_table(self.committed + split.open_table - split.finished, finished)
        if fence is None or final:
            drop = self._close_box() or finished.drop_open_code
            rendered = self.renderer.render(
                self.text[self.committed : end],
                message_id=self.message_id,
                palette=self.palette,
                first_code_index=len(self.code_blocks),
                highlight_limit=None if final else TAIL_HIGHLIGHT_LIMIT,
                references=self.references,
            )
            self.tail_code_blocks = rendered.code_blocks
            self.tail_hidden = rendered.hidden
            return StreamStep(
                drop, finished.finished_html, "", rendered.html, (*finished.pending, *rendered.pending)
            )
        content_start = self.committed + fence.content_start - split.finished
        if self._box_end is None:
            self._box_end = content_start
        self._fence = _TrackedFence(
            fence.language, closing_fence(fence.markup), _complete_lines_end(self.text, content_start, end)
        )
        return self._open_code_step(fence.language, end, finished)

    def _open_table(self, rows_end: int, finished: StreamStep) -> StreamStep:
        """Show the open table's complete rows in a box that later steps grow row by row."""
        drop = self._close_box() or finished.drop_open_code
        source = self.text[self.committed : rows_end]
        head_end = _offset_of_line(source, 2)
        rendered = self.renderer.render(
            source,
            message_id=self.message_id,
            palette=self.palette,
            first_code_index=len(self.code_blocks),
            references=self.references,
        )
        rows = len(_LINE_BREAK.findall(source, head_end))
        self._table = _TrackedTable(source[:head_end], rows_end, rows)
        self.shown_box = True
        self.tail_code_blocks, self.tail_hidden = (), False
        return StreamStep(drop, finished.finished_html, rendered.html, "", finished.pending)

    def _grow_table(self, rows: str) -> StreamStep:
        assert self._table is not None
        room = max(0, BLOCK_LIMITS.table_rows - self._table.rows)
        if not rows or not room:
            return StreamStep()
        cells = self.renderer.table_rows(
            self._table.head, rows, message_id=self.message_id, palette=self.palette
        )
        added = tuple(tuple(row) for row in cells[:room])
        self._table.rows += len(added)
        return StreamStep(table_rows=added)

    def _open_code_step(self, language: str, end: int, finished: StreamStep) -> StreamStep:
        """Append the complete lines of the open fence to its box; the line being written is the tail."""
        assert self._box_end is not None
        open_code = ""
        if not self.shown_box:
            self.shown_box = True
            open_code = code_box_header_html(language, self.palette)
        complete = _complete_lines_end(self.text, self._box_end, end)
        if complete > self._box_end:
            open_code += code_box_lines_html(
                self.text[self._box_end : complete], self.renderer.mono_family, self.palette
            )
            self._box_end = complete
        self.tail_code_blocks = ()
        self.tail_hidden = False
        partial = self.text[self._box_end : end]
        tail = code_box_lines_html(partial, self.renderer.mono_family, self.palette) if partial else ""
        return StreamStep(finished.drop_open_code, finished.finished_html, open_code, tail, finished.pending)

    def rerender(self, palette: Palette) -> StreamStep:
        """Render everything shown so far again, in ``palette``, for an empty message body."""
        self.palette = palette
        self.stale = False
        rendered = self.renderer.render(
            self.text[: self.committed],
            message_id=self.message_id,
            palette=palette,
            references=self.references,
        )
        self.code_blocks = list(rendered.code_blocks)
        self.hidden = rendered.hidden
        self._box_end = None
        self.shown_box = False
        self._fence = self._table = None
        step = self.step(0)
        return StreamStep(
            False, rendered.html, step.open_code_html, step.tail_html, (*rendered.pending, *step.pending)
        )

    def code_block(self, index: int) -> str | None:
        """Return the code of block ``index`` (committed or in the tail), or None."""
        blocks = [*self.code_blocks, *self.tail_code_blocks]
        return blocks[index] if 0 <= index < len(blocks) else None

    def _commit(self, length: int) -> StreamStep:
        piece = self.text[self.committed : self.committed + length]
        self.committed += length
        rendered = self.renderer.render(
            piece,
            message_id=self.message_id,
            palette=self.palette,
            first_code_index=len(self.code_blocks),
            references=self.references,
        )
        self.code_blocks.extend(rendered.code_blocks)
        self.hidden = self.hidden or rendered.hidden
        return StreamStep(finished_html=rendered.html, pending=rendered.pending)

    def _close_box(self) -> bool:
        was_open = self.shown_box
        self._box_end = None
        self.shown_box = False
        return was_open


def _complete_lines_end(text: str, start: int, end: int) -> int:
    """Return the offset just after the last complete line of ``text[start:end]`` (``start`` if none)."""
    cut = max(text.rfind("\n", start, end), text.rfind("\r", start, end))
    if cut < 0:
        return start
    if text[cut] == "\r" and cut == end - 1:  # maybe the first half of "\r\n": not complete yet
        return _complete_lines_end(text, start, cut)
    return cut + 1
