"""The conversation view: one selectable document of messages, with replies streaming in smoothly.

The whole conversation is one QTextDocument (see ``chat_document``), so any stretch of text
can be selected and copied across messages. Streaming never re-renders the document per
token: ``append_stream_text`` only buffers, and a ``FlushPacer`` refreshes the streaming
messages at most about 60 times a second, each refresh rendering only newly finished blocks
and the open tail (see ``markdown_stream``) and taking in only as much new text as fits its
time target, so the event loop stays responsive even when tokens arrive faster than they can
be laid out.

Long conversations open fast: ``set_messages`` renders the newest messages and brings older
ones in batches when the reader scrolls to the top.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFontDatabase,
    QFontInfo,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPalette,
    QResizeEvent,
    QShortcut,
    QShowEvent,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QApplication, QTextBrowser, QVBoxLayout, QWidget

from desktop_llm.core.highlight_pool import HighlightKey, highlight_key
from desktop_llm.core.markdown import (
    COPY_CODE_SCHEME,
    SAFE_LINK_SCHEMES,
    SHOW_ALL_SCHEME,
    MarkdownRenderer,
    code_pre_html,
)
from desktop_llm.core.markdown_stream import MarkdownStream
from desktop_llm.core.math_markdown import might_start_math
from desktop_llm.core.message_chrome import (
    ATTACHMENT_SCHEME,
    THUMB_SCHEME,
    TOGGLE_REASONING,
    TOGGLE_TOOL,
    MessageView,
    parse_action,
)
from desktop_llm.core.theme import palette_for
from desktop_llm.ui.chat.chat_browser import ChatBrowser
from desktop_llm.ui.chat.chat_document import ChatDocument
from desktop_llm.ui.chat.chat_entries import ChatEntry, EntryWriter
from desktop_llm.ui.chat.find_bar import FindBar
from desktop_llm.ui.chat.flush_pacer import FlushPacer
from desktop_llm.ui.chat.tool_approval import ToolApprovalBar
from desktop_llm.ui.common.highlight_relay import HighlightRelay
from desktop_llm.ui.common.math_images import MathImages

__all__ = ["ChatView", "MessageView"]

INITIAL_MESSAGES = 30
OLDER_BATCH = 30
STICK_SLACK = 4  # pixels from the bottom that still count as "at the bottom"


class ChatView(QWidget):
    """Show a conversation: markdown replies, streaming, actions on each message, find.

    Signals:
        action_requested(str, str): (action, message_id) with action in "copy", "edit",
            "regenerate", "delete", "previous_branch", "next_branch", "retry". The view puts
            the message on the clipboard itself for "copy".
        link_activated(QUrl): the reader opened an http, https or mailto link.
        stream_rendered(str): message_id of a finished stream whose final text is now shown.
        attachment_activated(str, int): a sent file was clicked (message id, its index).

    Args:
        renderer: markdown renderer, shareable between views (it caches).
        open_url: opens links in the system browser (injectable for tests).
        dark: start in the dark theme.
        math: draws and caches formulas, shared by every view (default: the view's own).
    """

    action_requested = Signal(str, str)
    link_activated = Signal(QUrl)
    stream_rendered = Signal(str)
    attachment_activated = Signal(str, int)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        renderer: MarkdownRenderer | None = None,
        open_url: Callable[[QUrl], object] | None = None,
        dark: bool = False,
        math: MathImages | None = None,
    ) -> None:
        super().__init__(parent)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
        self._renderer = renderer or MarkdownRenderer(mono_family=mono)
        self._open_url = open_url or QDesktopServices.openUrl
        self._palette = palette_for(dark)
        self._math = math if math is not None else MathImages(self, scale=self.devicePixelRatioF())
        self._browser = ChatBrowser(self, self._copy_text, self._math)
        self._browser.document().setDocumentMargin(12)
        self._math_pixel_size = self._renderer.math_pixel_size = QFontInfo(self._browser.font()).pixelSize()
        self._document = ChatDocument(self._browser.document(), self._palette)
        self._writer = EntryWriter(self._document, self._renderer)
        self._highlights = HighlightRelay(self._renderer.highlighter, self)
        self._highlights.finished.connect(self.on_highlights_finished)
        self._find_bar = FindBar(self)
        self._find_bar.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._find_bar)
        layout.addWidget(self._browser, 1)
        self._approval = ToolApprovalBar(self)
        layout.addWidget(self._approval)

        self._entries: list[ChatEntry] = []
        self._by_id: dict[str, ChatEntry] = {}
        self._loaded_from = 0  # index of the oldest rendered entry
        self._streaming: dict[str, ChatEntry] = {}
        self._stick_to_bottom = True
        self._older_pending = False
        self._pacer = FlushPacer(self, self._flush)
        # Marks from outside the message list: what context fitting leaves out, each reply's cost.
        self._excluded: frozenset[str] = frozenset()
        self._notes: dict[str, str] = {}

        bar = self._browser.verticalScrollBar()
        bar.valueChanged.connect(self.on_scrollbar_value_changed)
        bar.rangeChanged.connect(self.on_scrollbar_range_changed)
        self._browser.anchorClicked.connect(self.on_browser_anchor_clicked)
        self._find_bar.find_requested.connect(self.on_find_bar_find_requested)
        self._find_bar.closed.connect(self.on_find_bar_closed)
        find = QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.activated.connect(self.show_find_bar)
        self._apply_palette()

    @property
    def browser(self) -> QTextBrowser:
        """Return the text browser showing the conversation (for focus and inspection)."""
        return self._browser

    @property
    def find_bar(self) -> FindBar:
        """Return the find bar."""
        return self._find_bar

    # -- messages ------------------------------------------------------------------------------

    def set_messages(self, messages: list[MessageView]) -> None:
        """Replace the conversation; the newest messages are shown first, older ones on scroll-up."""
        entries = []
        for message in messages:
            message = self._marked(message)
            entry = self._streaming.get(message.id) or ChatEntry(message)
            if entry.stream is not None:  # still streaming here: keep what was received
                entry.message = replace(message, content=entry.stream.received, status="streaming")
            entry.slot = None
            entries.append(entry)
        self._entries = entries
        self._by_id = {entry.message.id: entry for entry in entries}
        self._streaming = {key: e for key, e in self._streaming.items() if self._by_id.get(key) is e}
        self._loaded_from = max(0, len(entries) - INITIAL_MESSAGES)
        self._stick_to_bottom = True
        self._document.clear()
        with self._document.edit():
            for entry in entries[self._loaded_from :]:
                self._writer.insert(entry, self._palette)
        self._refresh_find_highlights()
        self._schedule_load_older()

    def append_message(self, message: MessageView) -> None:
        """Add a message at the end (or update it, if the view already has it)."""
        if message.id in self._by_id:
            self.update_message(message)
            return
        entry = ChatEntry(self._marked(message))
        self._entries.append(entry)
        self._by_id[message.id] = entry
        with self._document.edit():
            self._writer.insert(entry, self._palette)

    def update_message(self, message: MessageView) -> None:
        """Show a changed message (content, status, branch counter, exclusion)."""
        entry = self._by_id.get(message.id)
        if entry is None:
            return
        if entry.stream is not None:
            if message.status != "streaming":
                self.finish_streaming(message.id, message)
                return
            message = replace(message, content=entry.stream.received)
        entry.message = self._marked(message)
        if entry.slot is not None:
            with self._document.edit():
                self._writer.render(entry, self._palette)

    def set_excluded(self, message_ids: frozenset[str]) -> None:
        """Dim exactly these messages: context fitting leaves them out of the next request."""
        self._excluded = frozenset(message_ids)
        self._remark()

    def set_notes(self, notes: dict[str, str]) -> None:
        """Show each message's note (a reply's tokens and cost) in its footer; others get none."""
        self._notes = dict(notes)
        self._remark()

    def _marked(self, message: MessageView) -> MessageView:
        """Return ``message`` with the view's exclusion and note added to its own."""
        excluded = message.excluded or message.id in self._excluded
        note = self._notes.get(message.id, message.note)
        if (excluded, note) == (message.excluded, message.note):
            return message
        return replace(message, excluded=excluded, note=note)

    def _remark(self) -> None:
        """Re-render the messages whose marks changed; a streaming reply gets them when it ends."""
        changed = []
        for entry in self._entries:
            message = entry.message
            marks = (message.id in self._excluded, self._notes.get(message.id, ""))
            if marks != (message.excluded, message.note):
                entry.message = replace(message, excluded=marks[0], note=marks[1])
                if entry.slot is not None and entry.stream is None:
                    changed.append(entry)
        if changed:
            with self._document.edit():
                for entry in changed:
                    self._writer.render(entry, self._palette)

    def message(self, message_id: str) -> MessageView | None:
        """Return what the view shows for a message (with its marks), or None if it has no such message."""
        entry = self._by_id.get(message_id)
        return entry.message if entry is not None else None

    def message_text(self, message_id: str) -> str | None:
        """Return the shown text of a message's body, or None if it is not rendered."""
        entry = self._by_id.get(message_id)
        if entry is None or entry.slot is None:
            return None
        return self._document.slot_text(entry.slot)

    # -- streaming -----------------------------------------------------------------------------

    def start_streaming(self, message_id: str) -> None:
        """Start showing a reply as it streams in (an empty assistant message is added if needed)."""
        entry = self._by_id.get(message_id)
        if entry is None:
            self.append_message(MessageView(id=message_id, role="assistant", content="", status="streaming"))
            entry = self._by_id[message_id]
        entry.message = replace(entry.message, status="streaming")
        entry.stream = MarkdownStream(self._renderer, message_id, self._palette, text=entry.message.content)
        entry.finished = None
        entry.reasoning_parts = [entry.message.reasoning] if entry.message.reasoning else []
        entry.reasoning_changed = True
        self._streaming[message_id] = entry
        at = self._entries.index(entry)
        if at > 0 and self._entries[at - 1].message.role == "user":  # a question with math
            self._warm_math_for(self._entries[at - 1].message.content)
        if entry.slot is not None:
            with self._document.edit():
                self._writer.render(entry, self._palette)
        self._pacer.wake()

    def append_stream_text(self, message_id: str, text: str, reasoning: str = "") -> None:
        """Buffer streamed text; the next timed refresh shows it. Cheap enough to call per token.

        Text for a message that is not streaming (it arrived after ``finish_streaming``) is dropped.
        """
        entry = self._streaming.get(message_id)
        if entry is None or entry.stream is None:
            return
        if text:
            entry.stream.append(text)
            self._warm_math_for(text)
        if reasoning:
            entry.reasoning_parts.append(reasoning)
            entry.reasoning_changed = True
            self._warm_math_for(reasoning)
        self._pacer.wake()

    def _warm_math_for(self, text: str) -> None:
        """Load the math library now if ``text`` may hold a formula (the reply then likely does).

        The import takes 0.2-0.6 s; started here, it runs while the formula is still streaming.
        """
        if not self._math.warmed and might_start_math(text):
            self._math.warm()

    def finish_streaming(self, message_id: str, message: MessageView) -> None:
        """End a stream: show ``message`` (its final content and status) once rendering catches up.

        ``stream_rendered`` is emitted when the final text is on screen: at once unless a large
        backlog is still being rendered.
        """
        entry = self._streaming.get(message_id)
        if entry is None or entry.stream is None:
            self.update_message(message)
            self.stream_rendered.emit(message_id)
            return
        received = entry.stream.received
        if message.content != received:
            if message.content.startswith(received):
                entry.stream.append(message.content[len(received) :])
            else:  # the service's final text is not a continuation: start the body over
                entry.stream = MarkdownStream(self._renderer, message_id, self._palette, text=message.content)
                if entry.slot is not None:
                    self._document.set_body(entry.slot, "")
        if message.reasoning and message.reasoning != entry.reasoning:
            entry.reasoning_parts = [message.reasoning]
            entry.reasoning_changed = True
        entry.finished = self._marked(message)
        if entry.stream.backlog <= self._pacer.allowance:  # one ordinary refresh finishes it: now
            self._flush(self._pacer.allowance)
        else:
            self._pacer.wake()

    def refresh_streams(self) -> None:
        """Show buffered streamed text now, as the next timed refresh would."""
        self._pacer.on_timer_timeout()

    def _flush(self, allowance: int) -> tuple[int, bool]:
        """Show what the streams received since the last refresh; return (characters, any left)."""
        taken, more, rendered = 0, False, []
        with self._document.edit():  # layout happens once, at the end of the block
            for message_id, entry in list(self._streaming.items()):
                chars, left = self._writer.advance_stream(entry, allowance, self._palette)
                taken, more = taken + chars, more or left
                if entry.stream is None:  # finished and shown whole
                    del self._streaming[message_id]
                    rendered.append(message_id)
        for message_id in rendered:
            self.stream_rendered.emit(message_id)
        return taken, more

    def on_highlights_finished(self, key: HighlightKey) -> None:
        """Swap the colours of a code block into the document, in place, where it is still shown."""
        waiting = self._writer.awaiting.pop(key, set())
        pool = self._renderer.highlighter
        html = pool.lookup(key)[1] if pool is not None else None
        language, style, _digest = key
        if html is None or style != self._palette.pygments_style:
            return
        pre = code_pre_html(html, self._renderer.mono_family)
        with self._document.edit():
            for message_id, index in sorted(waiting):
                entry = self._by_id.get(message_id)
                code = entry.code_block(index) if entry is not None else None
                if entry is None or entry.slot is None or code is None:
                    continue
                if highlight_key(code, language, style) == key:  # still the same block there
                    self._document.replace_code(entry.slot, f"{COPY_CODE_SCHEME}:{message_id}:{index}", pre)

    # -- appearance ----------------------------------------------------------------------------

    def set_theme(self, dark: bool) -> None:
        """Switch between the light and the dark theme."""
        palette = palette_for(dark)
        if palette == self._palette:
            return
        self._palette = palette
        self._document.set_palette(palette)
        self._apply_palette()
        self._render_again()

    def _render_again(self) -> None:
        """Render every shown message anew (after a theme or text size change), keeping the scroll."""
        palette = self._palette
        bar = self._browser.verticalScrollBar()
        value = bar.value()
        self._document.clear()
        with self._document.edit():
            for entry in self._entries[self._loaded_from :]:
                self._writer.insert(entry, palette)
        if not self._stick_to_bottom:
            bar.setValue(value)
        self._refresh_find_highlights()

    def set_font_size(self, points: int) -> None:
        """Set the size of the conversation's text; headings and labels scale with it."""
        font = self._browser.font()
        font.setPointSize(points)
        self._browser.setFont(font)
        self._browser.document().setDefaultFont(font)
        # Formulas are drawn at the text's size: those shown are drawn again at the new one.
        self._renderer.math_pixel_size = QFontInfo(font).pixelSize()
        if self._renderer.math_pixel_size != self._math_pixel_size:
            self._math_pixel_size = self._renderer.math_pixel_size
            self._render_again()

    def _apply_palette(self) -> None:
        colours = self._browser.palette()
        for role, colour in (
            (QPalette.ColorRole.Base, self._palette.background),
            (QPalette.ColorRole.Window, self._palette.background),
            (QPalette.ColorRole.Text, self._palette.text),
            (QPalette.ColorRole.Link, self._palette.link),
            (QPalette.ColorRole.LinkVisited, self._palette.link),
        ):
            colours.setColor(role, QColor(colour))
        self._browser.setPalette(colours)
        # The app's style sheet (appearance.py) re-polishes widgets when the theme changes and
        # the viewport then paints with the app's palette; a rule of the view's own wins.
        self._browser.setStyleSheet(
            f"QTextBrowser {{ background-color: {self._palette.background}; color: {self._palette.text}; }}"
        )

    def showEvent(self, event: QShowEvent) -> None:
        """Fill the viewport with history, and prepare the renderer while the window is idle."""
        super().showEvent(event)
        self._schedule_load_older()
        QTimer.singleShot(0, lambda: self._renderer.warm_up(self._palette))

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Bring in older messages if the taller view has room for them."""
        super().resizeEvent(event)
        self._schedule_load_older()

    # -- scrolling and lazy history ------------------------------------------------------------

    def on_scrollbar_value_changed(self, value: int) -> None:
        """Follow new text only while the reader is at the bottom; load older messages at the top."""
        bar = self._browser.verticalScrollBar()
        self._stick_to_bottom = value >= bar.maximum() - STICK_SLACK
        if value == bar.minimum():
            self._schedule_load_older()

    def on_scrollbar_range_changed(self, minimum: int, maximum: int) -> None:
        """Keep the bottom in view as the document grows, unless the reader scrolled up."""
        if self._stick_to_bottom:
            self._browser.verticalScrollBar().setValue(maximum)

    def _schedule_load_older(self) -> None:
        if self._loaded_from > 0 and not self._older_pending:
            self._older_pending = True
            QTimer.singleShot(0, self._load_older)

    def _load_older(self) -> None:
        """Bring in the next batch of older messages if the reader is at the top (or nothing scrolls)."""
        self._older_pending = False
        bar = self._browser.verticalScrollBar()
        # A hidden view (another conversation's) has no viewport to fill: it waits to be shown.
        if self._loaded_from == 0 or bar.value() != bar.minimum() or not self.isVisible():
            return
        self._prepend(max(0, self._loaded_from - OLDER_BATCH))
        if bar.maximum() == 0:  # still nothing to scroll: keep filling the viewport
            self._schedule_load_older()

    def _prepend(self, start: int) -> None:
        """Render entries [start, loaded_from) above the others, keeping the view where it was."""
        if start >= self._loaded_from:
            return
        bar = self._browser.verticalScrollBar()
        anchor = self._entries[self._loaded_from].slot
        assert anchor is not None
        offset = self._document.top(anchor) - bar.value()
        with self._document.edit():
            for entry in reversed(self._entries[start : self._loaded_from]):
                self._writer.insert(entry, self._palette, at_top=True)
        self._loaded_from = start
        bar.setValue(round(self._document.top(anchor) - offset))
        self._refresh_find_highlights()

    # -- links and actions ---------------------------------------------------------------------

    def on_browser_anchor_clicked(self, url: QUrl) -> None:
        """Open web links, copy code, toggle thinking, or ask the window for a message action."""
        scheme = url.scheme().lower()
        if scheme in SAFE_LINK_SCHEMES:
            self.link_activated.emit(url)
            self._open_url(url)
            return
        if scheme == COPY_CODE_SCHEME:
            message_id, _, index = url.path().rpartition(":")
            entry = self._by_id.get(message_id)
            number = int(index) if index.isdigit() else -1
            code = entry.code_block(number, self._renderer) if entry is not None else None
            if code is not None:
                QApplication.clipboard().setText(code)
            return
        if scheme == SHOW_ALL_SCHEME:
            entry = self._by_id.get(url.path())
            if entry is not None and entry.slot is not None and entry.stream is None:
                entry.whole = True
                with self._document.edit():
                    self._writer.render(entry, self._palette)
            return
        if scheme == ATTACHMENT_SCHEME:
            message_id, _, index = url.path().rpartition(":")
            if message_id in self._by_id and index.isdigit():
                self.attachment_activated.emit(message_id, int(index))
            return
        parsed = parse_action(url.toString())
        entry = self._by_id.get(parsed[1]) if parsed is not None else None
        if parsed is None or entry is None:
            return
        action, message_id = parsed
        if action == TOGGLE_TOOL:
            self._toggle_tool(entry)
            return
        if action == TOGGLE_REASONING:
            entry.reasoning_expanded = not entry.reasoning_expanded
            if entry.slot is not None:
                with self._document.edit():
                    self._writer.render_reasoning(entry, self._palette)
            return
        if action == "copy":
            QApplication.clipboard().setText(entry.message.content)
        self.action_requested.emit(action, message_id)

    def _toggle_tool(self, entry: ChatEntry, expanded: bool | None = None) -> None:
        """Open or close a tool call's arguments and result."""
        entry.tool_expanded = not entry.tool_expanded if expanded is None else expanded
        if entry.slot is not None:
            with self._document.edit():
                self._writer.render(entry, self._palette)

    def set_tool_expanded(self, message_id: str, expanded: bool) -> None:
        """Open or close the tool call of a tool message (the keyboard and tests; clicks toggle)."""
        entry = self._by_id.get(message_id)
        if entry is not None and entry.message.role == "tool":
            self._toggle_tool(entry, expanded)

    def is_tool_expanded(self, message_id: str) -> bool:
        """Return whether a tool message shows its arguments and result."""
        entry = self._by_id.get(message_id)
        return entry is not None and entry.tool_expanded

    def _open_tools_containing(self, text: str) -> bool:
        """Open the closed tool calls whose arguments or result contain ``text``; True if any."""
        needle, opened = text.casefold(), False
        for entry in self._entries:
            block = entry.message.tool
            if block is None or entry.tool_expanded:
                continue
            if needle in entry.message.content.casefold() or needle in block.arguments.casefold():
                self._toggle_tool(entry, True)
                opened = True
        return opened

    # -- tool approvals ----------------------------------------------------------------------

    @property
    def approval_bar(self) -> ToolApprovalBar:
        """Return the bar under the conversation that asks about tool calls and shows them running."""
        return self._approval

    # -- attached images -----------------------------------------------------------------------

    def set_image_source(self, source: Callable[[str], QImage]) -> None:
        """Take attachment thumbnails from ``source`` (hash -> image, a placeholder until made)."""
        self._browser.image_source = source

    def image_ready(self, key: str, image: QImage) -> None:
        """Show a thumbnail made after its message was laid out (only its messages are laid out again)."""
        document = self._browser.document()
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"{THUMB_SCHEME}:{key}"), image)
        for entry in self._entries:
            slot = entry.slot
            if slot is not None and any(a.key == key for a in entry.message.attachments):
                document.markContentsDirty(slot.start(), slot.end() - slot.start())

    # -- find and copy -------------------------------------------------------------------------

    def find_text(self, text: str, backward: bool = False) -> bool:
        """Select the next (or previous) match of ``text``, wrapping around; highlight all matches.

        Messages not loaded yet are searched too: the newest older one that matches is loaded.
        """
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        found = False
        if text:
            found = self._browser.find(text, flags)
            if not found:
                self._load_older_containing(text)
                self._open_tools_containing(text)
                cursor = self._browser.textCursor()
                cursor.movePosition(
                    QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start
                )
                self._browser.setTextCursor(cursor)
                found = self._browser.find(text, flags)
        matches = self._browser.highlight_matches(text, self._palette.find_highlight)
        self._find_bar.set_result(found, matches)
        return found

    def show_find_bar(self) -> None:
        """Open the find bar (Ctrl+F)."""
        self._find_bar.open_bar()

    def selected_text(self) -> str:
        """Return the selected text without headers and action links."""
        cursor = self._browser.textCursor()
        return self._copy_text(cursor.selectionStart(), cursor.selectionEnd())

    def on_find_bar_find_requested(self, text: str, backward: bool) -> None:
        """Search as asked by the find bar; typing refines the current match instead of skipping it."""
        cursor = self._browser.textCursor()
        refining = not backward and cursor.hasSelection()
        if refining and cursor.selectedText().casefold() != text.casefold():
            cursor.setPosition(cursor.selectionStart())
            self._browser.setTextCursor(cursor)
        self.find_text(text, backward)

    def on_find_bar_closed(self) -> None:
        """Drop the highlights and give the keyboard back to the conversation."""
        self._browser.setExtraSelections([])
        self._browser.setFocus(Qt.FocusReason.OtherFocusReason)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Close the find bar with Esc from anywhere in the view."""
        if event.key() == Qt.Key.Key_Escape and self._find_bar.isVisible():
            self._find_bar.close_bar()
            return
        super().keyPressEvent(event)

    def _load_older_containing(self, text: str) -> None:
        needle = text.casefold()
        for index in range(self._loaded_from - 1, -1, -1):
            message = self._entries[index].message
            arguments = message.tool.arguments.casefold() if message.tool else ""
            if (
                needle in message.content.casefold()
                or needle in message.reasoning.casefold()
                or needle in arguments
            ):
                self._prepend(index)
                return

    def _refresh_find_highlights(self) -> None:
        if self._find_bar.isVisible():
            self._browser.highlight_matches(self._find_bar.field.text(), self._palette.find_highlight)

    def _copy_text(self, start: int, end: int) -> str:
        return self._document.plain_text(start, end) if end > start else ""
