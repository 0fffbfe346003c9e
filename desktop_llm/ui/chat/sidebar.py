"""The left side of the window: "New chat", a search box over every chat, and the conversation list.

Typing in the search box queries the full-text index as you type: debounced (``DEBOUNCE_MS``),
run on the database thread, and stale answers (for text the person has since changed) dropped.
Hits show the conversation's title and a snippet with the matches in bold; picking one opens
the conversation at that message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QPainter
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QStackedWidget, QStyleOptionViewItem, QWidget

from desktop_llm.storage.records import SearchHit
from desktop_llm.ui.chat.conversation_list import UNTITLED, ConversationList, ConversationListModel
from desktop_llm.ui.common.list_pane import (
    TwoLineDelegate,
    lay_out_pane,
    read_only_list,
    set_up_search_box,
    text_colour,
)
from desktop_llm.ui.common.tasks import TaskKeeper

DEBOUNCE_MS = 150
SEARCH_LIMIT = 50
HitRole = Qt.ItemDataRole.UserRole + 10
_MARKED = re.compile(r"\[([^\[\]]*)\]")
_Index = QModelIndex | QPersistentModelIndex


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet into (text, is_match) runs; the index marks matches as ``[word]``."""
    parts: list[tuple[str, bool]] = []
    position = 0
    for match in _MARKED.finditer(snippet):
        if match.start() > position:
            parts.append((snippet[position : match.start()], False))
        parts.append((match.group(1), True))
        position = match.end()
    if position < len(snippet):
        parts.append((snippet[position:], False))
    return parts


def first_match(snippet: str) -> str:
    """Return the first marked word of a snippet ("" when none), to find it in the conversation."""
    match = _MARKED.search(snippet)
    return match.group(1).strip() if match else ""


class SearchResultsModel(QAbstractListModel):
    """Search hits as rows: the title, and the snippet under ``HitRole``."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._hits: list[SearchHit] = []

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return hit.title or UNTITLED
        if role == HitRole:
            return hit
        return None

    def set_hits(self, hits: list[SearchHit]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hits(self) -> list[SearchHit]:
        return list(self._hits)


class SearchResultDelegate(TwoLineDelegate):
    """Draw a hit as its conversation's title over a snippet whose matches are bold."""

    PADDING = 8
    LINE_GAP = 3

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        self.initStyleOption(option, index)
        hit: SearchHit = index.data(HitRole)
        rect = self.draw_background(painter, option)
        metrics = QFontMetrics(option.font)
        painter.save()
        painter.setPen(text_colour(option))
        title_font = QFont(option.font)
        title_font.setBold(True)
        painter.setFont(title_font)
        title_metrics = QFontMetrics(title_font)
        title = title_metrics.elidedText(hit.title or UNTITLED, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(
            QRect(rect.left(), rect.top(), rect.width(), metrics.height()), Qt.AlignmentFlag.AlignLeft, title
        )
        x, y = rect.left(), rect.top() + metrics.height() + 3
        snippet = hit.snippet if hit.message_id else "Title matches"
        for text, marked in snippet_parts(snippet.replace("\n", " ")):
            font = QFont(option.font)
            font.setBold(marked)
            painter.setFont(font)
            part_metrics = QFontMetrics(font)
            room = rect.right() - x
            if room <= part_metrics.horizontalAdvance("…"):
                break
            shown = part_metrics.elidedText(text, Qt.TextElideMode.ElideRight, room)
            painter.drawText(QRect(x, y, room, metrics.height()), Qt.AlignmentFlag.AlignLeft, shown)
            x += part_metrics.horizontalAdvance(shown)
            if shown != text:
                break
        painter.restore()


class _SearchBox(QLineEdit):
    """The search field; Esc clears it, Down moves into the results."""

    escape_pressed = Signal()
    down_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
            return
        if event.key() == Qt.Key.Key_Down:
            self.down_pressed.emit()
            return
        super().keyPressEvent(event)


class Sidebar(QWidget):
    """New chat, search and the conversation list.

    Args:
        model: the conversation list model (owned by the window's controller).
        search: returns hits for a query (runs on the database thread).
        tasks: runs the searches.

    Signals:
        new_chat_requested(): "New chat" was clicked.
        hit_activated(object): a ``SearchHit`` was picked.
    """

    new_chat_requested = Signal()
    hit_activated = Signal(object)

    def __init__(
        self,
        model: ConversationListModel,
        search: Callable[[str], Awaitable[list[SearchHit]]],
        tasks: TaskKeeper,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._search = search
        self._tasks = tasks
        self._generation = 0
        self.searches_run = 0

        self.new_chat_button = QPushButton("＋  New chat")
        self.new_chat_button.setObjectName("newChatButton")
        self.new_chat_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_chat_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_chat_button.clicked.connect(self.new_chat_requested)
        self.search_box = _SearchBox()
        set_up_search_box(self.search_box, "searchBox", "Search all chats  (Ctrl+K)")
        self.search_box.textChanged.connect(self.on_search_box_text_changed)
        self.search_box.escape_pressed.connect(self.clear_search)
        self.search_box.down_pressed.connect(self._focus_results)
        self.list_model = model
        self.list_view = ConversationList(model)
        self.results_model = SearchResultsModel(self)
        self.results_view = read_only_list(self.results_model, SearchResultDelegate)
        self.results_view.setObjectName("searchResults")
        self.results_view.clicked.connect(self._activate)
        self.results_view.activated.connect(self._activate)
        self.no_results = QLabel("No chat contains that.")
        self.no_results.setObjectName("mutedLabel")
        self.no_results.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.no_results.setMargin(16)
        self.no_conversations = QLabel("No conversations yet.\nThey appear here as you chat.")
        self.no_conversations.setObjectName("mutedLabel")
        self.no_conversations.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.no_conversations.setMargin(16)
        self.stack = QStackedWidget()
        for page in (self.list_view, self.results_view, self.no_results, self.no_conversations):
            self.stack.addWidget(page)
        for change in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            change.connect(self._show_listing)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.on_debounce_timeout)

        lay_out_pane(self, self.new_chat_button, self.search_box, self.stack)

    def focus_search(self) -> None:
        """Put the cursor in the search box, its text selected (Ctrl+K)."""
        self.search_box.setFocus()
        self.search_box.selectAll()

    def clear_search(self) -> None:
        self.search_box.clear()
        self.list_view.setFocus()

    def on_search_box_text_changed(self, text: str) -> None:
        if not text.strip():
            self._generation += 1  # an answer still on its way is stale now
            self._debounce.stop()
            self.results_model.set_hits([])
            self._show_listing()
            return
        self._debounce.start()

    def on_debounce_timeout(self) -> None:
        self._generation += 1
        self.searches_run += 1
        self._tasks.run(self._run_search(self.search_box.text(), self._generation))

    async def _run_search(self, query: str, generation: int) -> None:
        hits = await self._search(query)
        if generation != self._generation:
            return  # the text changed while the database worked; a newer search follows
        self.results_model.set_hits(hits[:SEARCH_LIMIT])
        self.stack.setCurrentWidget(self.results_view if hits else self.no_results)

    def _show_listing(self) -> None:
        """Show the conversations (or that there are none yet) unless search results are up."""
        if self.search_box.text().strip():
            return
        empty = self.list_view.model().rowCount() == 0
        self.stack.setCurrentWidget(self.no_conversations if empty else self.list_view)

    def _focus_results(self) -> None:
        if self.stack.currentWidget() is self.results_view and self.results_model.rowCount():
            self.results_view.setFocus()
            self.results_view.setCurrentIndex(self.results_model.index(0))

    def _activate(self, index: QModelIndex) -> None:
        hit = index.data(HitRole)
        if hit is not None:
            self.hit_activated.emit(hit)
