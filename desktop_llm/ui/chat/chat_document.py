"""One QTextDocument for a whole conversation, edited in place, one region of one message at a time.

Messages lie one after another in the document's main flow, each after an empty spacer block:

    header      one block (inline HTML: who wrote it, model, status)
    reasoning   a region (may be empty)
    body        regions: finished blocks of the reply, then the open tail while streaming
    footer      a region: "Generating…", or problems and action links

A message is found by a cursor at the start of its header (Qt moves cursors as text changes
before them) and its length. A *region* is a run of whole blocks inserted at the end of the
block before it, so it always begins with a block separator; it is tracked by its length. A
streaming update therefore replaces only the tail, never the whole document.

Messages are not put in QTextFrames: in a QTextEdit, Qt lays out a frame's whole content again
when anything in it changes, so each update of a long streamed reply would cost time in
proportion to the reply (measured at 100 kB: 1.6 ms per update in the main flow, 5-10 ms in a
frame).

Two more Qt behaviours are worked around here, both found by comparing a streamed document
with one built by a single ``setHtml``:

- inserting HTML merges its first block into the block at the cursor and drops that block's
  format (a heading becomes a paragraph), so every fragment gets an empty first block;
- deleting a range that starts at the beginning of a block gives the surviving block the
  format of the range's last block (an empty rule or the block after a table would turn into
  a list item), so that format is put back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextListFormat,
)

from desktop_llm.core.markdown import CHROME_STATE, COPY_CODE_SCHEME, SHOW_ALL_SCHEME
from desktop_llm.core.message_chrome import ACTION_SCHEME
from desktop_llm.core.theme import Palette
from desktop_llm.ui.common.formula_browser import block_text

_INTERNAL_LINK = re.compile(rf"^({ACTION_SCHEME}|{COPY_CODE_SCHEME}|{SHOW_ALL_SCHEME}):")
_BULLETS = (
    QTextListFormat.Style.ListDisc,
    QTextListFormat.Style.ListCircle,
    QTextListFormat.Style.ListSquare,
)
_ALIGNMENTS = {
    "left": Qt.AlignmentFlag.AlignLeft,
    "center": Qt.AlignmentFlag.AlignHCenter,
    "right": Qt.AlignmentFlag.AlignRight,
}
_SPACER_HEIGHT = 14.0  # pixels of air between two messages (the empty block before each)


def style_sheet(palette: Palette) -> str:
    """Return the default CSS for HTML imported into a chat document in ``palette``."""
    return (
        "p { margin-top: 5px; margin-bottom: 5px; }"
        f" a {{ color: {palette.link}; }}"
        " ul, ol { margin-top: 4px; margin-bottom: 4px; }"
        " h2, h3, h4, h5 { margin-top: 10px; margin-bottom: 4px; }"
    )


@dataclass(eq=False)
class MessageSlot:
    """Where one message lives: a cursor at its header's start, and lengths in characters."""

    anchor: QTextCursor  # keeps its position when text is inserted exactly there (the header)
    length: int = 0  # from the header's start to the end of the message's last block
    reasoning_length: int = 0
    code_length: int = 0  # the open code box of a streaming reply, just before the tail
    tail_length: int = 0
    footer_length: int = 0
    # The HTML each region shows. An edit near the top of a long message makes Qt lay out
    # what follows again (each code block and table in full), so a region is only replaced
    # when its HTML changed.
    shown: dict[str, str] = field(default_factory=dict)

    def unchanged(self, region: str, html: str) -> bool:
        """Return True if ``region`` already shows ``html``; else remember that it will."""
        if self.shown.get(region) == html:
            return True
        self.shown[region] = html
        return False

    def start(self) -> int:
        """Return the position where the message (its header line) begins."""
        return self.anchor.position()

    def end(self) -> int:
        """Return the position at the end of the message's last block."""
        return self.anchor.position() + self.length

    def header_end(self) -> int:
        """Return the position at the end of the header line."""
        block = self.anchor.block()
        return block.position() + block.length() - 1

    def body_start(self) -> int:
        """Return the position where the body's first region begins."""
        return self.header_end() + self.reasoning_length

    def footer_start(self) -> int:
        """Return the position where the footer region begins (the body's end)."""
        return self.end() - self.footer_length


class ChatDocument:
    """Edit a conversation document: add messages, replace their regions, read them back.

    Args:
        document: the document to edit (the view's); its undo stack is switched off.
        palette: colours for the imported HTML's defaults.
    """

    def __init__(self, document: QTextDocument, palette: Palette) -> None:
        self.document = document
        document.setUndoRedoEnabled(False)  # an undo stack would keep every streamed tail alive
        self._style_sheet = style_sheet(palette)
        self._messages = 0

    def set_palette(self, palette: Palette) -> None:
        """Use ``palette`` for HTML imported from now on."""
        self._style_sheet = style_sheet(palette)

    @contextmanager
    def edit(self) -> Iterator[None]:
        """Group edits so the document lays out and signals a change once, at the end."""
        cursor = QTextCursor(self.document)
        cursor.beginEditBlock()
        try:
            yield
        finally:
            cursor.endEditBlock()

    def clear(self) -> None:
        """Remove every message."""
        self.document.clear()
        self._messages = 0

    def add_message(self, header_format: QTextBlockFormat, *, at_top: bool = False) -> MessageSlot:
        """Add an empty message (spacer and header line) at the bottom or the top; return its slot."""
        cursor = QTextCursor(self.document)
        if self._messages == 0:  # the document's first block becomes the spacer
            cursor.setBlockFormat(_spacer_format())
            cursor.insertBlock(header_format, QTextCharFormat())
        elif at_top:  # the first block stays the first spacer; the old one moves below the header
            cursor.insertBlock(_spacer_format(), QTextCharFormat())
            cursor.setPosition(0)
            cursor.insertBlock(header_format, QTextCharFormat())
        else:
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertBlock(_spacer_format(), QTextCharFormat())
            cursor.insertBlock(header_format, QTextCharFormat())
        self._messages += 1
        anchor = QTextCursor(cursor.block())
        anchor.setKeepPositionOnInsert(True)
        return MessageSlot(anchor)

    def set_header(self, slot: MessageSlot, inline_html: str) -> None:
        """Replace the header line with ``inline_html`` (no block elements)."""
        if slot.unchanged("header", inline_html):
            return
        before = self.document.characterCount()
        cursor = QTextCursor(self.document)
        cursor.setPosition(slot.start())
        cursor.setPosition(slot.header_end(), QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        cursor.setCharFormat(QTextCharFormat())
        cursor.insertFragment(self._fragment(inline_html, inline=True))
        cursor.block().setUserState(CHROME_STATE)
        slot.length += self.document.characterCount() - before

    def set_reasoning(self, slot: MessageSlot, html: str) -> None:
        """Replace the reasoning region."""
        if slot.unchanged("reasoning", html):
            return
        start = slot.header_end()
        slot.reasoning_length = self._replace(start, start + slot.reasoning_length, html, slot)

    def set_body(self, slot: MessageSlot, html: str) -> None:
        """Replace the whole body (finished blocks and tail) with ``html``."""
        if slot.unchanged("body", html):
            return
        self._replace(slot.body_start(), slot.footer_start(), html, slot)
        slot.code_length = slot.tail_length = 0

    def update_stream(
        self,
        slot: MessageSlot,
        *,
        tail_html: str,
        finished_html: str = "",
        open_code_html: str = "",
        drop_open_code: bool = False,
        table_rows: tuple[tuple[tuple[str, str], ...], ...] = (),
    ) -> None:
        """Apply one refresh of a streaming body (see ``markdown_stream.StreamStep``).

        In order: drop the tail (and the open box if asked), append newly finished blocks,
        append lines to the open code box or rows to the open table, insert the new tail.
        """
        slot.shown.pop("body", None)
        end = slot.footer_start()
        self._replace(end - slot.tail_length, end, "", slot)
        slot.tail_length = 0
        if drop_open_code:
            end = slot.footer_start()
            self._replace(end - slot.code_length, end, "", slot)
            slot.code_length = 0
        if finished_html:
            at = slot.footer_start() - slot.code_length
            self._replace(at, at, finished_html, slot)
        if open_code_html:
            slot.code_length += self._replace(slot.footer_start(), slot.footer_start(), open_code_html, slot)
        if table_rows:
            self._append_rows(slot, table_rows)
        slot.tail_length = self._replace(slot.footer_start(), slot.footer_start(), tail_html, slot)

    def _append_rows(self, slot: MessageSlot, rows: tuple[tuple[tuple[str, str], ...], ...]) -> None:
        """Add rows to the table in the open box: only those cells change, not the whole table."""
        block = self.document.findBlock(slot.footer_start() - 1)
        table = None
        for _ in range(3):  # the table, or the empty block Qt puts after it
            table = QTextCursor(block).currentTable()
            if table is not None or not block.previous().isValid():
                break
            block = block.previous()
        if table is None:
            return
        before = self.document.characterCount()
        first = table.rows()
        table.appendRows(len(rows))
        for offset, cells in enumerate(rows):
            for column, (html, alignment) in enumerate(cells[: table.columns()]):
                cursor = table.cellAt(first + offset, column).firstCursorPosition()
                if alignment:
                    block_format = cursor.blockFormat()
                    block_format.setAlignment(_ALIGNMENTS[alignment])
                    cursor.setBlockFormat(block_format)
                cursor.insertHtml(html)
        grown = self.document.characterCount() - before
        slot.code_length += grown
        slot.length += grown

    def replace_code(self, slot: MessageSlot, href: str, pre_html: str) -> bool:
        """Replace the code of the block whose Copy link is ``href`` with ``pre_html``; True if found.

        Only that table cell changes (the same text with colours), so the rest of the message
        is neither rendered nor laid out again.
        """
        position = self._find_anchor(slot, href)
        if position is None:
            return False
        table = QTextCursor(self.document.findBlock(position)).currentTable()
        if table is None or table.rows() < 2:
            return False
        cell = table.cellAt(1, 0)
        start, end = cell.firstPosition(), cell.lastPosition()
        tail_start = slot.footer_start() - slot.tail_length
        before = self.document.characterCount()
        cursor = QTextCursor(self.document)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        cursor.insertFragment(self._fragment(pre_html, inline=True))
        delta = self.document.characterCount() - before
        slot.length += delta
        if start >= tail_start:
            slot.tail_length += delta
        return True

    def _find_anchor(self, slot: MessageSlot, href: str) -> int | None:
        block = self.document.findBlock(slot.body_start())
        end = slot.footer_start()
        while block.isValid() and block.position() < end:
            iterator = block.begin()
            while not iterator.atEnd():
                fragment = iterator.fragment()
                if fragment.charFormat().anchorHref() == href:
                    return fragment.position()
                iterator += 1
            block = block.next()
        return None

    def set_footer(self, slot: MessageSlot, html: str) -> None:
        """Replace the footer region."""
        if slot.unchanged("footer", html):
            return
        slot.footer_length = self._replace(slot.footer_start(), slot.end(), html, slot)

    def top(self, slot: MessageSlot) -> float:
        """Return the y coordinate of a message's header line in the laid-out document."""
        layout = self.document.documentLayout()
        layout.documentSize()  # finishes Qt's lazy layout so the coordinate is final
        return layout.blockBoundingRect(slot.anchor.block()).top()

    def slot_text(self, slot: MessageSlot) -> str:
        """Return the plain text of a message's body (no header, footer or code-block labels)."""
        return self.plain_text(slot.body_start(), slot.footer_start())

    def plain_text(self, start: int, end: int) -> str:
        """Return the text between two positions as a reader sees it, without interface text.

        Header lines, action links and code-block labels are left out, list items keep their
        bullet or number, and runs of empty lines outside code collapse to one, so a copied
        stretch of conversation reads like the conversation.
        """
        lines: list[str] = []
        block = self.document.findBlock(start)
        previous_blank = False
        while block.isValid() and block.position() <= end:
            if block.userState() != CHROME_STATE:
                text = _block_text(block, start, end)
                blank = not text.strip()
                in_table = QTextCursor(block).currentTable() is not None
                if not (blank and previous_blank and not in_table):
                    lines.append(text)
                    previous_blank = blank
            block = block.next()
        return "\n".join(lines).strip("\n")

    def _replace(self, start: int, end: int, html: str, slot: MessageSlot) -> int:
        """Replace [start, end) of a message with ``html`` as a region; return the region's length."""
        if end > start:
            self._remove(start, end)
            slot.length -= end - start
        if not html:
            return 0
        before = self.document.characterCount()
        cursor = QTextCursor(self.document)
        cursor.setPosition(start)
        cursor.insertFragment(self._fragment(html))
        inserted = self.document.characterCount() - before
        slot.length += inserted
        return inserted

    def _remove(self, start: int, end: int) -> None:
        previous = self.document.findBlock(start)
        block_format, char_format = previous.blockFormat(), previous.charFormat()
        state, was_listed = previous.userState(), previous.textList() is not None
        cursor = QTextCursor(self.document)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        survivor = self.document.findBlock(start)
        survivor.setUserState(state)
        if survivor.blockFormat() == block_format and survivor.charFormat() == char_format:
            return
        listed = survivor.textList()
        if listed is not None and not was_listed:
            listed.remove(survivor)
        restore = QTextCursor(survivor)
        restore.setBlockFormat(block_format)
        restore.setBlockCharFormat(char_format)

    def _fragment(self, html: str, *, inline: bool = False) -> QTextDocumentFragment:
        scratch = QTextDocument()
        scratch.setUndoRedoEnabled(False)
        scratch.setDefaultStyleSheet(self._style_sheet)
        scratch.setHtml(html.strip())
        children = scratch.rootFrame().childFrames()
        # Only a table: Qt also makes frames for some inline images (formulas), which still merge.
        first = children[0] if children else None
        starts_with_table = first is not None and first.firstPosition() == 1 and first.inherits("QTextTable")
        if not inline and not starts_with_table:
            # An empty first block absorbs the merge, so the real first block keeps its format.
            block = scratch.begin()
            QTextCursor(scratch).insertBlock(block.blockFormat(), block.charFormat())
            block.next().setUserState(block.userState())
        return QTextDocumentFragment(scratch)


def _block_text(block: QTextBlock, start: int, end: int) -> str:
    """Return the text of ``block`` within [start, end), without links that belong to the interface."""
    text = block_text(block, start, end, skip_links=_INTERNAL_LINK)
    if block.textList() is not None and text and start <= block.position():
        text = f"{_list_marker(block)} {text}"
    return text


def _list_marker(block: QTextBlock) -> str:
    listed = block.textList()
    indent = "  " * max(0, listed.format().indent() - 1)
    numbered = listed.format().style() not in _BULLETS
    return indent + (listed.itemText(block) if numbered else "-")


def _spacer_format() -> QTextBlockFormat:
    spacer = QTextBlockFormat()
    spacer.setLineHeight(_SPACER_HEIGHT, QTextBlockFormat.LineHeightTypes.FixedHeight.value)
    return spacer
