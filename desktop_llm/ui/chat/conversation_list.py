"""The sidebar's conversation list: an item model over plain ``Conversation`` objects and its view.

Pinned conversations come first, then the rest by last activity (the order the repository
pages in). The model pages in lazily (``canFetchMore``/``fetchMore`` ask the owner for the next
page), renames in place (F2 or double-click), and changes one row at a time: a title arriving,
a reply starting or ending, a conversation moving to the top.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)

from desktop_llm.storage.records import Conversation, Folder
from desktop_llm.ui.common.list_pane import TwoLineDelegate, is_selected

UNTITLED = "New chat"
ConversationRole = Qt.ItemDataRole.UserRole + 1
IdRole = Qt.ItemDataRole.UserRole + 2
SubtitleRole = Qt.ItemDataRole.UserRole + 3
StreamingRole = Qt.ItemDataRole.UserRole + 4
_Index = QModelIndex | QPersistentModelIndex


def relative_time(timestamp: str, now: datetime | None = None) -> str:
    """Say when ``timestamp`` (ISO-8601 UTC) was, briefly: "just now", "5 min", "3 h", "Mon", "12 Mar"."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    local = moment.astimezone()
    if seconds < 7 * 86400:
        return local.strftime("%a")
    if local.year == now.astimezone().year:
        return f"{local.day} {local.strftime('%b')}"
    return f"{local.day} {local.strftime('%b %Y')}"


def _sort_key(conversation: Conversation) -> tuple[bool, str]:
    return (conversation.pinned, conversation.updated_at)


class ConversationListModel(QAbstractListModel):
    """Conversations for the sidebar, pinned first, then newest activity first.

    Signals:
        more_wanted(int): the view scrolled near the end; load the page starting at this offset.
        rename_requested(str, str): the person renamed a conversation in place (id, new title).
    """

    more_wanted = Signal(int)
    rename_requested = Signal(str, str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._items: list[Conversation] = []
        self._streaming: set[str] = set()
        self._has_more = False
        self._loading = False
        self._loaded = False

    # -- Qt model API ------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        conversation = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return conversation.title or UNTITLED
        if role == Qt.ItemDataRole.EditRole:
            return conversation.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return conversation.title or UNTITLED
        if role == ConversationRole:
            return conversation
        if role == IdRole:
            return conversation.id
        if role == StreamingRole:
            return conversation.id in self._streaming
        if role == SubtitleRole:
            return self._subtitle(conversation)
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = str(value).strip()
        conversation = self._items[index.row()]
        if not title or title == conversation.title:
            return False
        self.set_title(conversation.id, title)
        self.rename_requested.emit(conversation.id, title)
        return True

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._has_more and not self._loading

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._loading = True
            self.more_wanted.emit(len(self._items))

    # -- changes -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether a first page has been set (the window may show it before the services load)."""
        return self._loaded

    def set_conversations(self, conversations: list[Conversation], *, has_more: bool) -> None:
        """Replace everything with the first page."""
        self._loaded = True
        self.beginResetModel()
        self._items = list(conversations)
        self._has_more = has_more
        self._loading = False
        self.endResetModel()

    def append_page(self, conversations: list[Conversation], *, has_more: bool) -> None:
        """Add the next page (conversations already listed are skipped)."""
        known = {c.id for c in self._items}
        fresh = [c for c in conversations if c.id not in known]
        self._loading = False
        self._has_more = has_more
        if fresh:
            self.beginInsertRows(QModelIndex(), len(self._items), len(self._items) + len(fresh) - 1)
            self._items.extend(fresh)
            self.endInsertRows()

    def upsert(self, conversation: Conversation) -> None:
        """Insert or update ``conversation`` and move it to where its pin and activity put it."""
        old_row = self.row_of(conversation.id)
        if old_row is not None:
            self._items[old_row] = conversation
            index = self.index(old_row)
            self.dataChanged.emit(index, index)
        target = self._row_for(conversation, skip=old_row)
        if old_row is None:
            self.beginInsertRows(QModelIndex(), target, target)
            self._items.insert(target, conversation)
            self.endInsertRows()
        elif target != old_row:
            # beginMoveRows counts the destination before the move.
            destination = target + 1 if target > old_row else target
            self.beginMoveRows(QModelIndex(), old_row, old_row, QModelIndex(), destination)
            self._items.insert(target, self._items.pop(old_row))
            self.endMoveRows()

    def remove(self, conversation_id: str) -> Conversation | None:
        """Take a conversation out of the list; return it."""
        row = self.row_of(conversation_id)
        if row is None:
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        removed = self._items.pop(row)
        self.endRemoveRows()
        self._streaming.discard(conversation_id)
        return removed

    def set_title(self, conversation_id: str, title: str) -> None:
        self._replace(conversation_id, title=title)

    def set_streaming(self, conversation_id: str, streaming: bool) -> None:
        """Mark a conversation as replying (one row repaints)."""
        if streaming:
            self._streaming.add(conversation_id)
        else:
            self._streaming.discard(conversation_id)
        row = self.row_of(conversation_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [StreamingRole, SubtitleRole])

    def first(self, count: int) -> list[Conversation]:
        """Return the first ``count`` conversations as listed."""
        return self._items[:count]

    def conversation(self, conversation_id: str) -> Conversation | None:
        row = self.row_of(conversation_id)
        return None if row is None else self._items[row]

    def row_of(self, conversation_id: str) -> int | None:
        for row, conversation in enumerate(self._items):
            if conversation.id == conversation_id:
                return row
        return None

    def _replace(self, conversation_id: str, **changes: Any) -> None:
        row = self.row_of(conversation_id)
        if row is None:
            return
        self._items[row] = dataclasses.replace(self._items[row], **changes)
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def _row_for(self, conversation: Conversation, *, skip: int | None) -> int:
        key = _sort_key(conversation)
        rows = [(row, c) for row, c in enumerate(self._items) if row != skip]
        for position, (_row, other) in enumerate(rows):
            if _sort_key(other) < key:
                return position
        return len(rows)

    def _subtitle(self, conversation: Conversation) -> str:
        parts = ["Pinned"] if conversation.pinned else []
        if conversation.id in self._streaming:
            parts.append("● replying…")
        else:
            parts.append(relative_time(conversation.updated_at))
        if conversation.model:
            parts.append(conversation.model)
        return " · ".join(p for p in parts if p)


class ConversationDelegate(TwoLineDelegate):
    """Draw a conversation as a title line over a muted line: pinned, time or "replying…", model."""

    PADDING = 8
    LINE_GAP = 2

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        self.initStyleOption(option, index)
        text = option.text
        rect = self.draw_background(painter, option)
        selected = is_selected(option)
        group = (
            QPalette.ColorGroup.Active
            if option.state & QStyle.StateFlag.State_Active
            else QPalette.ColorGroup.Inactive
        )
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        title_font = QFont(option.font)
        metrics = QFontMetrics(title_font)
        title_rect = QRect(rect.left(), rect.top(), rect.width(), metrics.height())
        painter.save()
        painter.setFont(title_font)
        painter.setPen(option.palette.color(group, role))
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, title_rect.width())
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        subtitle_font = QFont(option.font)
        subtitle_font.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.88))
        sub_metrics = QFontMetrics(subtitle_font)
        sub_rect = QRect(rect.left(), title_rect.bottom() + 3, rect.width(), sub_metrics.height())
        painter.setFont(subtitle_font)
        muted = option.palette.color(group, role if selected else QPalette.ColorRole.PlaceholderText)
        if index.data(StreamingRole) and not selected:
            muted = option.palette.color(group, QPalette.ColorRole.Link)
        painter.setPen(muted)
        subtitle = sub_metrics.elidedText(
            index.data(SubtitleRole) or "", Qt.TextElideMode.ElideRight, rect.width()
        )
        painter.drawText(sub_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, subtitle)
        painter.restore()

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: _Index) -> None:
        metrics = QFontMetrics(option.font)
        editor.setGeometry(option.rect.adjusted(6, 4, -6, -(option.rect.height() - metrics.height() - 14)))


class ConversationList(QListView):
    """The list widget: open on click, rename with F2 or double-click, a context menu, Delete key.

    Signals:
        open_requested(str): the person picked a conversation.
        delete_requested(str): "Delete" (to the trash).
        pin_requested(str, bool): pin (True) or unpin.
        move_requested(str, str): move to a folder id ("" for no folder).
        new_folder_requested(str): move to a new folder (ask for its name).
        export_requested(str): export this conversation.
    """

    open_requested = Signal(str)
    delete_requested = Signal(str)
    pin_requested = Signal(str, bool)
    move_requested = Signal(str, str)
    new_folder_requested = Signal(str)
    export_requested = Signal(str)

    def __init__(self, model: ConversationListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationList")
        self.setModel(model)
        self.setItemDelegate(ConversationDelegate(self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed | QAbstractItemView.EditTrigger.DoubleClicked
        )
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self.on_context_menu_requested)
        self.clicked.connect(self._open_index)
        self.activated.connect(self._open_index)
        self._folders: list[Folder] = []
        self.last_menu: QMenu | None = None

    def set_folders(self, folders: list[Folder]) -> None:
        """Offer these folders in "Move to folder"."""
        self._folders = list(folders)

    def select_conversation(self, conversation_id: str | None) -> None:
        """Highlight a conversation without emitting ``open_requested``."""
        model = self.model()
        assert isinstance(model, ConversationListModel)
        row = model.row_of(conversation_id) if conversation_id else None
        if row is None:
            self.clearSelection()
            self.setCurrentIndex(QModelIndex())
            return
        index = model.index(row)
        self.selectionModel().setCurrentIndex(index, self.selectionModel().SelectionFlag.ClearAndSelect)
        self.scrollTo(index)

    def current_id(self) -> str | None:
        index = self.currentIndex()
        return index.data(IdRole) if index.isValid() else None

    def rename_current(self) -> None:
        if self.currentIndex().isValid():
            self.edit(self.currentIndex())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Delete and self.current_id() and self.state() != self.State.EditingState:
            self.delete_requested.emit(self.current_id())
            return
        super().keyPressEvent(event)

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_requested.emit(index.data(IdRole))

    def build_menu(self, conversation: Conversation) -> QMenu:
        """Return the context menu for one conversation (also used by tests)."""
        menu = QMenu(self)
        cid = conversation.id
        menu.addAction("Rename", lambda: self.edit(self.model().index(self._row(cid), 0)))
        pin_text = "Unpin" if conversation.pinned else "Pin to top"
        menu.addAction(pin_text, lambda: self.pin_requested.emit(cid, not conversation.pinned))
        folders = menu.addMenu("Move to folder")
        for folder in self._folders:
            action = QAction(folder.name, folders)
            action.setCheckable(True)
            action.setChecked(folder.id == conversation.folder_id)
            action.triggered.connect(lambda _checked=False, f=folder.id: self.move_requested.emit(cid, f))
            folders.addAction(action)
        if self._folders:
            folders.addSeparator()
        folders.addAction("New folder…", lambda: self.new_folder_requested.emit(cid))
        if conversation.folder_id:
            folders.addAction("Remove from folder", lambda: self.move_requested.emit(cid, ""))
        menu.addAction("Export…", lambda: self.export_requested.emit(cid))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete_requested.emit(cid))
        return menu

    def on_context_menu_requested(self, position: QPoint) -> None:
        index = self.indexAt(position)
        conversation = index.data(ConversationRole) if index.isValid() else None
        if conversation is None:
            return
        self.last_menu = self.build_menu(conversation)
        self.last_menu.popup(self.viewport().mapToGlobal(position))

    def _row(self, conversation_id: str) -> int:
        model = self.model()
        assert isinstance(model, ConversationListModel)
        return model.row_of(conversation_id) or 0
