"""A message as the chat view holds it, and how its parts are written into the chat document."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from PySide6.QtGui import QTextBlockFormat

from desktop_llm.core.highlight_pool import HighlightJob, HighlightKey
from desktop_llm.core.markdown import MarkdownRenderer
from desktop_llm.core.markdown_stream import MarkdownStream
from desktop_llm.core.message_chrome import (
    USER_INDENT,
    MessageView,
    body_html,
    footer_html,
    header_html,
    reasoning_html,
)
from desktop_llm.core.theme import Palette
from desktop_llm.core.tool_blocks import tool_body_html, tool_calls_html
from desktop_llm.ui.chat.chat_document import ChatDocument, MessageSlot


@dataclass(eq=False)
class ChatEntry:
    """One message of the conversation and its state in the view."""

    message: MessageView
    slot: MessageSlot | None = None  # None until rendered (older messages load lazily)
    stream: MarkdownStream | None = None
    finished: MessageView | None = None  # from finish_streaming, applied once rendering catches up
    reasoning_parts: list[str] = field(default_factory=list)
    reasoning_changed: bool = False
    reasoning_expanded: bool = False
    tool_expanded: bool = False  # a tool message: its arguments and result are shown
    code_blocks: tuple[str, ...] = ()
    whole: bool = False  # the reader asked to see all of a message cut to the limits
    hidden: bool = False  # what is shown was cut to the limits (so are ``code_blocks``)
    _whole_code: tuple[str, ...] | None = None

    @property
    def reasoning(self) -> str:
        """Return the thinking text: streamed so far, or the message's."""
        if self.stream is None:
            return self.message.reasoning
        if len(self.reasoning_parts) > 1:
            self.reasoning_parts[:] = ["".join(self.reasoning_parts)]
        return self.reasoning_parts[0] if self.reasoning_parts else ""

    def code_block(self, index: int, renderer: MarkdownRenderer | None = None) -> str | None:
        """Return the code of the message's code block ``index``, or None.

        With ``renderer``, a block cut to the limits comes back whole (the message is parsed
        again, once, for the first copy).
        """
        if self.stream is not None:
            return self.stream.code_block(index)
        blocks = self.code_blocks
        if self.hidden and renderer is not None:
            if self._whole_code is None:
                self._whole_code = renderer.code_blocks_of(self.message.content)
            blocks = self._whole_code
        return blocks[index] if 0 <= index < len(blocks) else None


class EntryWriter:
    """Write message entries into a chat document: whole, or one streaming refresh at a time.

    Args:
        document: the conversation document.
        renderer: renders message bodies (and caches them).
    """

    def __init__(self, document: ChatDocument, renderer: MarkdownRenderer) -> None:
        self._document = document
        self._renderer = renderer
        # Code blocks shown plain, by the highlighting they wait for: (message id, block index).
        self.awaiting: dict[HighlightKey, set[tuple[str, int]]] = {}

    def _await(self, message_id: str, pending: tuple[tuple[int, HighlightJob], ...]) -> None:
        for index, job in pending:
            self.awaiting.setdefault(job.key, set()).add((message_id, index))

    def insert(self, entry: ChatEntry, palette: Palette, *, at_top: bool = False) -> None:
        """Add the entry's message at the bottom (or top) of the document."""
        entry.slot = self._document.add_message(_header_format(entry.message), at_top=at_top)
        self.render(entry, palette)

    def render(self, entry: ChatEntry, palette: Palette) -> None:
        """Render every region of the entry's message (unchanged regions are left alone)."""
        slot, message = entry.slot, entry.message
        assert slot is not None
        self._document.set_header(slot, header_html(message, palette))
        self.render_reasoning(entry, palette)
        if entry.stream is not None:
            step = entry.stream.rerender(palette)
            self._await(message.id, step.pending)
            self._document.set_body(slot, step.finished_html)
            self._document.update_stream(slot, open_code_html=step.open_code_html, tail_html=step.tail_html)
        elif message.role == "tool":
            self._document.set_body(slot, tool_body_html(message, palette, expanded=entry.tool_expanded))
        else:
            rendered = self._renderer.render_message(
                message.id, message.content, palette, markdown=message.role == "assistant", whole=entry.whole
            )
            entry.code_blocks = rendered.code_blocks
            entry.hidden, entry._whole_code = rendered.hidden, None
            self._await(message.id, rendered.pending)
            body = body_html(message, rendered.html, palette) + tool_calls_html(message, palette)
            self._document.set_body(slot, body)
        self._document.set_footer(slot, footer_html(message, palette, streaming=entry.stream is not None))

    def render_reasoning(self, entry: ChatEntry, palette: Palette) -> None:
        """Render the thinking line (and text, when expanded)."""
        assert entry.slot is not None
        markup = reasoning_html(
            entry.message.id,
            entry.reasoning,
            palette,
            expanded=entry.reasoning_expanded,
            streaming=entry.stream is not None,
        )
        self._document.set_reasoning(entry.slot, markup)
        entry.reasoning_changed = False

    def advance_stream(self, entry: ChatEntry, allowance: int, palette: Palette) -> tuple[int, bool]:
        """Show up to ``allowance`` more streamed characters; return (characters, any left).

        Once a finished stream has been shown whole, the entry becomes an ordinary message.
        """
        stream = entry.stream
        assert stream is not None
        ending = entry.finished is not None
        if not stream.backlog and not entry.reasoning_changed and not ending:
            return 0, False
        shown_before = stream.shown
        step = stream.step(allowance, ending=ending)
        self._await(entry.message.id, step.pending)
        if stream.stale and entry.slot is not None:  # a link definition arrived for text shown earlier
            self.render(entry, palette)
        elif entry.slot is not None:
            self._document.update_stream(
                entry.slot,
                tail_html=step.tail_html,
                finished_html=step.finished_html,
                open_code_html=step.open_code_html,
                drop_open_code=step.drop_open_code,
                table_rows=step.table_rows,
            )
            if entry.reasoning_changed:
                self.render_reasoning(entry, palette)
        if ending and not stream.backlog:
            self._complete(entry, palette)
        return stream.shown - shown_before, bool(stream.backlog)

    def _complete(self, entry: ChatEntry, palette: Palette) -> None:
        stream, message = entry.stream, entry.finished
        assert stream is not None and message is not None
        entry.code_blocks = (*stream.code_blocks, *stream.tail_code_blocks)
        entry.message = replace(message, content=stream.received, reasoning=entry.reasoning)
        entry.stream = entry.finished = None
        if entry.slot is not None and (stream.hidden or stream.tail_hidden or stream.references):
            # Cut to the limits, or links defined anywhere: render it as a reopen shows it.
            self.render(entry, palette)
        elif entry.slot is not None:
            self._document.set_header(entry.slot, header_html(entry.message, palette))
            self.render_reasoning(entry, palette)
            self._document.set_footer(entry.slot, footer_html(entry.message, palette, streaming=False))


def _header_format(message: MessageView) -> QTextBlockFormat:
    block = QTextBlockFormat()
    block.setBottomMargin(2)
    if message.role == "user":
        block.setLeftMargin(USER_INDENT)
    return block
