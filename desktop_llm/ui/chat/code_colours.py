"""Swap highlighted lines into the code blocks of a chat document, a slice at a time.

A code block is a header line and one plain block per code line (see ``markdown``), so its
colours go in line by line: only lines whose highlighting differs from what is shown are
replaced (the same text with colours), and at most ``LINES_PER_TURN`` lines per turn of the
event loop, so colouring a long block never stalls the view. While a block streams, the lines
coloured by an earlier job are kept and only the new ones change.
"""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer

from desktop_llm.core.markdown import COPY_CODE_SCHEME, code_lines, code_lines_html
from desktop_llm.core.theme import Palette
from desktop_llm.ui.chat.chat_document import ChatDocument
from desktop_llm.ui.chat.chat_entries import ChatEntry

# About 0.1 ms a line to remove, import and lay out again: a few milliseconds a turn.
LINES_PER_TURN = 60


@dataclass
class _Colouring:
    """Highlighted lines waiting to go into one code block."""

    entry: ChatEntry
    index: int  # the code block's number in its message
    plain: list[str]  # the block's first lines, as the highlighting was made for
    lines: list[str]  # their highlighted HTML
    palette: Palette
    done: int = 0  # lines before this one are compared (and swapped where needed)


class CodeColours(QObject):
    """Put highlighted code lines into the document, in slices between turns of the event loop.

    Args:
        document: the conversation document.
        mono_family: the code font (as the renderer writes it).
        parent: owner of the timer.
        schedule: runs a callable on a later turn of the loop (injectable for tests).
    """

    def __init__(
        self,
        document: ChatDocument,
        mono_family: str,
        parent: QObject | None = None,
        schedule: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._document = document
        self._mono = mono_family
        self._queue: deque[_Colouring] = deque()
        self._scheduled = False
        self._schedule = schedule or (lambda run: QTimer.singleShot(0, self, run))

    def add(self, entry: ChatEntry, index: int, plain: list[str], lines: list[str], palette: Palette) -> None:
        """Colour the first ``len(lines)`` lines of code block ``index`` of ``entry``.

        ``plain`` are those lines as the highlighting was made for; nothing changes if the
        block no longer starts with them.
        """
        self._queue.append(_Colouring(entry, index, plain, lines, palette))
        self.run()

    def idle(self) -> bool:
        """Return True when no colours are waiting."""
        return not self._queue

    def run(self) -> None:
        """Swap up to ``LINES_PER_TURN`` lines now; schedule the rest for the next turn."""
        self._scheduled = False
        budget = LINES_PER_TURN
        with self._document.edit():
            while self._queue and budget > 0:
                item = self._queue[0]
                budget = self._colour(item, budget)
                if budget > 0:  # finished (or dropped): the next one
                    self._queue.popleft()
        if self._queue and not self._scheduled:
            self._scheduled = True
            self._schedule(self.run)

    def _colour(self, item: _Colouring, budget: int) -> int:
        """Compare and swap lines of ``item`` until ``budget`` lines are swapped; return what is left."""
        entry, index = item.entry, item.index
        slot = entry.slot
        code = entry.code_block(index)
        if slot is None or code is None or code_lines(code)[: len(item.plain)] != item.plain:
            return budget  # gone, or another text there now: drop it
        header = self._document.code_header(slot, f"{COPY_CODE_SCHEME}:{entry.message.id}:{index}")
        if header is None:
            return budget
        shown = entry.coloured.setdefault(index, [])
        plain, lines = item.plain, item.lines

        def needs_swap(i: int) -> bool:
            current = shown[i] if i < len(shown) else html.escape(plain[i])
            return bool(plain[i]) and lines[i] != current  # an empty line has nothing to colour

        line = item.done
        while line < len(lines) and budget > 0:
            if not needs_swap(line):
                line += 1
                continue
            # One replacement for a run of changed lines (and the empty lines between them).
            stop = line + 1
            while stop < len(lines) and stop - line < budget and (not plain[stop] or needs_swap(stop)):
                stop += 1
            while not plain[stop - 1]:
                stop -= 1
            self._swap(item, header, line, stop)
            budget -= stop - line
            line = stop
        item.done = line
        shown[:line] = lines[:line]
        return budget if line >= len(lines) else 0

    def _swap(self, item: _Colouring, header: int, first: int, stop: int) -> None:
        lines = item.lines[first:stop]
        slot = item.entry.slot
        assert slot is not None
        markup = code_lines_html(lines, self._mono, item.palette)
        if markup:
            self._document.replace_code_lines(slot, header, first, stop - first, markup)
