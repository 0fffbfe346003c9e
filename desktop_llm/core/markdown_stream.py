"""Render a growing markdown reply incrementally: finished blocks once, only the open tail again.

A streamed reply is split at top-level block boundaries. Once a later top-level block has
begun, every block before it is final in CommonMark (only the last block can still absorb
lines: a list item's continuation, a setext underline, a fence's closing line), so those
blocks are rendered exactly once. The last block, the *tail*, is re-rendered whenever more
text arrives, so a refresh costs the size of the tail, not of the whole reply.

One tail can grow large: a long code block. While its fence is open, its complete lines go
into an *open code box* (its header with the Copy link, then one block per line on the code
background, appended line by line) and only the line being written is re-rendered. When the
fence closes, the box is *sealed*: its last lines and its footer are added and it counts as
finished, exactly as the block rendered whole would be, so nothing is rendered or laid out
again. While the fence is open, where it starts is remembered and only lines that arrived
since the last refresh are tested for the closing fence, so a refresh costs the new text, not
the size of the block; and the block so far is sent to the highlighter now and then (every
``COLOUR_EVERY_LINES`` new lines, or a third more), so its lines take their colours while it
grows (the view swaps in only the lines whose colours changed).

Plain Python: the Qt view asks for HTML here and decides where it goes in its document.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from desktop_llm.core.highlight_pool import HighlightJob
from desktop_llm.core.markdown import (
    BLOCK_LIMITS,
    COPY_CODE_SCHEME,
    MarkdownRenderer,
    code_footer_html,
    code_header_html,
    code_lines,
    code_lines_html,
)
from desktop_llm.core.theme import Palette

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

# Code in the still-open tail is shown without colours above this size: highlighting is the
# costliest step and the tail is re-rendered on every refresh. It gains colours once closed.
TAIL_HIGHLIGHT_LIMIT = 4000
# An open code block is coloured again after this many new lines at least (and a third more).
COLOUR_EVERY_LINES = 8
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
    indented: bool = field(default=False, compare=False)  # the opening line starts with spaces


@dataclass
class _TrackedFence:
    """The open fence at the end of a stream, followed line by line (offsets in the whole text)."""

    language: str
    closing: re.Pattern[str]
    scanned: int  # complete lines before this offset are known not to close the fence

    def closing_line(self, text: str, end: int, *, final: bool = False) -> tuple[int, int] | None:
        """Return (start, end) of the first line of ``text[:end]`` that closes the fence, or None.

        Only lines that arrived since the last call are tested. A line still being written
        counts only when ``final`` (no more text will come): ``` may yet become ```python.
        """
        complete = _complete_lines_end(text, self.scanned, end)
        start = self.scanned
        for match in _LINE_BREAK.finditer(text, self.scanned, complete):
            if self.closing.fullmatch(text, start, match.start()):
                return start, match.end()
            start = match.end()
        self.scanned = complete
        if final and complete < end and self.closing.fullmatch(text[complete:end].rstrip("\r")):
            return complete, end
        return None


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
    return TailSplit(finished, _open_fence(text, last, _offset_of_line(text, last_map[0])), table)


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
    # The opening line itself is still being written (a final "\r" may be half of "\r\n").
    if len(lines) < 2 or (len(lines) == 2 and text.endswith("\r")):
        return None
    markup = getattr(last, "markup", "```")
    closing = closing_fence(markup)
    if any(closing.fullmatch(line) for line in lines[1:]):
        return None
    content_start = start + _offset_of_line(text[start:], 1)
    language = opening.strip().lstrip(markup[0]).strip().split(maxsplit=1)
    return OpenFence(content_start, language[0] if language else "", markup, opening[:1] == " ")


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

    drop_open_code: bool = False  # remove the open box (a table's): its block is now rendered whole
    close_code_blank: bool = False  # end the open code box with an empty line (HTML cannot write it alone)
    close_code_html: str = ""  # then its last lines and its footer
    seal_open_code: bool = False  # the open code box is finished blocks from now on
    finished_html: str = ""  # append after the finished blocks shown so far
    open_code_html: str = ""  # append to the open box (code lines, or a table's head)
    tail_html: str = ""  # replaces the tail
    pending: tuple[tuple[int, HighlightJob], ...] = ()  # code to colour: (block index, job)
    table_rows: tuple[tuple[tuple[str, str], ...], ...] = ()  # append to the open table's box


@dataclass
class _OpenCode:
    """A code block being streamed into the document line by line (offsets in the whole text)."""

    language: str
    markup: str
    index: int  # its number among the message's code blocks (its Copy link)
    start: int  # offset of its first code line
    end: int  # offset just after the last line shown in the box
    lines: list[str] = field(default_factory=list)  # the lines shown in the box
    kept: int = 0  # characters of code kept under the limits (``core.markdown_limits``)
    cut: bool = False  # a line was left out under the limits, or the fence is indented
    coloured_lines: int = 0  # lines covered by the last colouring job asked for
    job: HighlightJob | None = None  # that job


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
    shown_box: bool = False  # the open table's box is in the document
    _code: _OpenCode | None = None  # the code block being streamed line by line, if any
    _fence: _TrackedFence | None = None  # the open fence at the end, once found
    _table: _TrackedTable | None = None  # the open table at the end, once found
    # Link reference definitions seen so far; a new one makes ``stale`` True when text shown
    # earlier may use it (the view then renders the body again, once).
    references: dict[str, Any] = field(default_factory=dict)
    stale: bool = False
    _parts: list[str] = field(default_factory=list)
    _parts_length: int = 0  # characters in ``_parts`` (at full speed, thousands of tokens wait)

    def append(self, text: str) -> None:
        """Buffer more text; nothing is parsed or rendered here."""
        self._parts.append(text)
        self._parts_length += len(text)

    def _collect(self) -> None:
        if self._parts:
            self.text += "".join(self._parts)
            self._parts.clear()
            self._parts_length = 0

    @property
    def received(self) -> str:
        """Return all text received so far."""
        self._collect()
        return self.text

    @property
    def backlog(self) -> int:
        """Return how many received characters are not on screen yet."""
        return len(self.text) + self._parts_length - self.shown

    def step(self, max_chars: int | None = None, *, ending: bool = False) -> StreamStep:
        """Take up to ``max_chars`` more received text into view; return the changes to show.

        ``ending``: no more text will come; when this step reaches the end of the text, the
        tail is rendered as final (every code block highlighted, no open box).
        """
        self._collect()
        end = len(self.text) if max_chars is None else min(len(self.text), self.shown + max_chars)
        self.shown = end
        final = ending and end == len(self.text)
        sealed = StreamStep()
        if self._code is not None:
            fence = self._fence if self._fence is not None else self._find_fence(self._code, end)
            self._fence = fence
            closing = fence.closing_line(self.text, end, final=final)
            if closing is None and not final:
                return self._open_code_step(end, StreamStep())
            sealed = self._seal(closing, end)
            if self.committed == end:
                return sealed
        rest = self._step_blocks(end, final)
        if sealed == StreamStep():
            return rest
        return replace(
            rest,
            drop_open_code=sealed.drop_open_code or rest.drop_open_code,
            close_code_html=sealed.close_code_html,
            close_code_blank=sealed.close_code_blank,
            seal_open_code=sealed.seal_open_code,
            finished_html=sealed.finished_html + rest.finished_html,
            pending=(*sealed.pending, *rest.pending),
        )

    def _step_blocks(self, end: int, final: bool) -> StreamStep:
        """Step the text after the finished blocks (no code box is open)."""
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
                drop_open_code=drop,
                finished_html=finished.finished_html,
                tail_html=rendered.html,
                pending=(*finished.pending, *rendered.pending),
            )
        drop = self._close_box() or finished.drop_open_code
        content_start = self.committed + fence.content_start - split.finished
        self._code = _OpenCode(
            fence.language,
            fence.markup,
            len(self.code_blocks),
            content_start,
            content_start,
            cut=fence.indented,  # markdown-it takes an indented fence's indent off every line
        )
        self._fence = _TrackedFence(fence.language, closing_fence(fence.markup), content_start)
        return self._open_code_step(end, replace(finished, drop_open_code=drop))

    def _find_fence(self, code: _OpenCode, end: int) -> _TrackedFence:
        """Find the open fence again by parsing its whole block (what tracking saves each refresh)."""
        split = split_tail(self.renderer.parser, self.text[self.committed : end], self.references)
        # Still open: no line shown closes it. Else its closing line is found from the start.
        scanned = code.end if split.open_fence is not None else code.start
        return _TrackedFence(code.language, closing_fence(code.markup), scanned)

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
        return StreamStep(
            drop_open_code=drop,
            finished_html=finished.finished_html,
            open_code_html=rendered.html,
            pending=finished.pending,
        )

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

    def _new_code_lines(self, code: _OpenCode, complete: int) -> list[str]:
        """Take the complete lines up to ``complete`` into the box; return those to show."""
        chunk = self.text[code.end : complete]
        lines = _normalise(chunk).split("\n")[:-1]
        if lines == [""]:  # a lone empty line waits for the next one (see ``code_lines_html``)
            return []
        code.end = complete
        shown = []
        for raw, line in zip(chunk.splitlines(keepends=True), lines, strict=False):
            # The limits' rule (``core.markdown_limits``), so the box is cut where a render is.
            if code.cut or code.kept + len(raw) > BLOCK_LIMITS.code_chars:
                code.cut = True
                continue
            code.kept += len(raw)
            shown.append(line)
        code.lines.extend(shown)
        return shown

    def _open_code_step(self, end: int, finished: StreamStep) -> StreamStep:
        """Append the complete lines of the open fence to its box; the line being written is the tail."""
        code = self._code
        assert code is not None
        open_code = ""
        if not self.shown_box:
            self.shown_box = True
            href = f"{COPY_CODE_SCHEME}:{self.message_id}:{code.index}"
            open_code = code_header_html(code.language, href, self.palette)
        mono = self.renderer.mono_family
        complete = _complete_lines_end(self.text, code.end, end)
        if complete > code.end:
            open_code += code_lines_html(
                [html.escape(line) for line in self._new_code_lines(code, complete)], mono, self.palette
            )
        self.tail_code_blocks = ()
        self.tail_hidden = False
        partial = _normalise(self.text[_complete_lines_end(self.text, code.end, end) : end])
        tail = code_lines_html([html.escape(partial)], mono, self.palette) if partial and not code.cut else ""
        return replace(
            finished,
            open_code_html=open_code,
            tail_html=tail,
            pending=(*finished.pending, *self._colour_job()),
        )

    def _colour_job(self) -> tuple[tuple[int, HighlightJob], ...]:
        """Ask for the colours of the box's lines so far, when enough new lines came since the last ask.

        Each job highlights the block from its first line (a lexer needs what came before), so
        jobs are spaced out in proportion to the block: the worker's total stays linear.
        """
        code = self._code
        assert code is not None
        highlighter = self.renderer.highlighter
        new = len(code.lines) - code.coloured_lines
        if highlighter is None or not code.language or code.cut:
            return ()
        if new < max(COLOUR_EVERY_LINES, code.coloured_lines // 3):
            return ()
        if code.job is not None and not highlighter.lookup(code.job.key)[0]:
            return ()  # the last job is still running
        code.job = HighlightJob("\n".join(code.lines), code.language, self.palette.pygments_style)
        code.coloured_lines = len(code.lines)
        highlighter.submit(code.job)
        return ((code.index, code.job),)

    def _seal(self, closing: tuple[int, int] | None, end: int) -> StreamStep:
        """End the open code box at its closing line (or at the end of the text): it becomes finished."""
        code = self._code
        assert code is not None
        self._code = self._fence = None
        self.shown_box = False
        code_end, block_end = closing if closing is not None else (end, end)
        whole = _normalise(self.text[code.start : code_end])
        whole = whole[:-1] if whole.endswith("\n") else whole
        lines = code_lines(whole)
        if code.cut or lines[: len(code.lines)] != code.lines:
            # Cut to the limits or indented: render the block whole, as before the box.
            return replace(
                self._commit(block_end - self.committed), drop_open_code=True, seal_open_code=False
            )
        self.committed = block_end
        self.code_blocks.append(whole)
        rest = [html.escape(line) for line in lines[len(code.lines) :]]
        blank = rest == [""]
        pending: tuple[tuple[int, HighlightJob], ...] = ()
        highlighter = self.renderer.highlighter
        if highlighter is not None and code.language and whole:
            job = HighlightJob(whole, code.language, self.palette.pygments_style)
            highlighter.submit(job)
            pending = ((code.index, job),)
        return StreamStep(
            close_code_html=("" if blank else code_lines_html(rest, self.renderer.mono_family, self.palette))
            + code_footer_html(self.palette),
            close_code_blank=blank,
            seal_open_code=True,
            pending=pending,
        )

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
        self._code = None
        self.shown_box = False
        self._fence = self._table = None
        step = self.step(0)
        return StreamStep(
            finished_html=rendered.html,
            open_code_html=step.open_code_html,
            tail_html=step.tail_html,
            pending=(*rendered.pending, *step.pending),
        )

    def code_block(self, index: int) -> str | None:
        """Return the code of block ``index`` (committed, being streamed, or in the tail), or None."""
        streaming = ["\n".join(self._code.lines)] if self._code is not None else []
        blocks = [*self.code_blocks, *streaming, *self.tail_code_blocks]
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
