"""The Data page of Settings: where the data lives, export and import of everything, and the trash."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.exchange import ExchangeService
from desktop_llm.storage.errors import StorageError
from desktop_llm.storage.records import Conversation
from desktop_llm.ui.common.async_slot import async_slot
from desktop_llm.ui.common.await_dialog import choose_path_with_dialog, confirm
from desktop_llm.ui.settings import exchange_dialogs

TRASH_PAGE = 1000  # the trash list shows this many, newest first


def _deleted_when(conversation: Conversation) -> str:
    if not conversation.deleted_at:
        return ""
    moment = datetime.fromisoformat(conversation.deleted_at.replace("Z", "+00:00")).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


class DataPage(QWidget):
    """The data folder, Export all…, Import…, and the trash (restore, delete forever, empty).

    Args:
        data_folder: the folder holding the database, logs and cache.
        exchange: export and import.
        conversations: the trash's conversations.
        choose_path: the file chooser (tests answer it themselves).

    Signals:
        conversations_changed(): an import or a trash action changed which conversations exist.
    """

    conversations_changed = Signal()

    def __init__(
        self,
        data_folder: Path,
        exchange: ExchangeService,
        conversations: ConversationService,
        *,
        choose_path: exchange_dialogs.ChoosePath = choose_path_with_dialog,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._data_folder = Path(data_folder)
        self._exchange = exchange
        self._conversations = conversations
        self._choose_path = choose_path
        self.last_outcome: exchange_dialogs.Outcome | None = None

        self.folder = QLineEdit(str(self._data_folder))
        self.folder.setReadOnly(True)
        self.open_folder = QPushButton("Open folder")
        self.export_all = QPushButton("Export all…")
        self.export_all.setToolTip("Save every conversation, folder and template to one JSON file")
        self.import_file = QPushButton("Import…")
        self.import_file.setToolTip(
            "Add conversations from a Desktop LLM export or a ChatGPT export (.json or .zip)"
        )

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.open_folder)
        exchange_row = QHBoxLayout()
        exchange_row.addWidget(self.export_all)
        exchange_row.addWidget(self.import_file)
        exchange_row.addStretch(1)
        storage = QGroupBox("Your data")
        storage_layout = QVBoxLayout(storage)
        storage_layout.addWidget(QLabel("Conversations, settings and logs are kept in this folder:"))
        storage_layout.addLayout(folder_row)
        storage_layout.addLayout(exchange_row)

        self.trash = QTreeWidget()
        self.trash.setHeaderLabels(["Conversation", "Deleted"])
        self.trash.setRootIsDecorated(False)
        self.trash.setUniformRowHeights(True)
        self.trash.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.trash.setAlternatingRowColors(True)
        header = self.trash.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.trash_empty_note = QLabel("The trash is empty.")
        self.trash_empty_note.setObjectName("settingsHint")
        self.restore = QPushButton("Restore")
        self.delete_forever = QPushButton("Delete forever…")
        self.empty_trash = QPushButton("Empty trash…")
        trash_buttons = QHBoxLayout()
        trash_buttons.addWidget(self.restore)
        trash_buttons.addWidget(self.delete_forever)
        trash_buttons.addStretch(1)
        trash_buttons.addWidget(self.empty_trash)
        trash_box = QGroupBox("Trash")
        trash_layout = QVBoxLayout(trash_box)
        trash_layout.addWidget(self.trash, 1)
        trash_layout.addWidget(self.trash_empty_note)
        trash_layout.addLayout(trash_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(storage)
        layout.addWidget(trash_box, 1)

        self.open_folder.clicked.connect(self.on_open_folder_clicked)
        self.export_all.clicked.connect(self.on_export_all_clicked)
        self.import_file.clicked.connect(self.on_import_file_clicked)
        self.restore.clicked.connect(self.on_restore_clicked)
        self.delete_forever.clicked.connect(self.on_delete_forever_clicked)
        self.empty_trash.clicked.connect(self.on_empty_trash_clicked)
        self.trash.itemSelectionChanged.connect(self._update_buttons)
        self._update_buttons()

    async def load(self) -> None:
        """Fill the trash list."""
        trashed = await self._conversations.list(trashed=True, limit=TRASH_PAGE)
        self.trash.clear()
        for conversation in trashed:
            title = conversation.title.strip() or "Untitled conversation"
            item = QTreeWidgetItem([title, _deleted_when(conversation)])
            item.setData(0, Qt.ItemDataRole.UserRole, conversation.id)
            self.trash.addTopLevelItem(item)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_items = self.trash.topLevelItemCount() > 0
        selected = bool(self.trash.selectedItems())
        self.trash.setVisible(has_items)
        self.trash_empty_note.setVisible(not has_items)
        self.restore.setEnabled(selected)
        self.delete_forever.setEnabled(selected)
        self.empty_trash.setEnabled(has_items)

    def _selected_ids(self) -> list[str]:
        return [item.data(0, Qt.ItemDataRole.UserRole) for item in self.trash.selectedItems()]

    def on_open_folder_clicked(self) -> None:
        """Show the data folder in the file manager."""
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._data_folder)))

    @async_slot()
    async def on_export_all_clicked(self) -> None:
        """Export everything to a JSON file the person picks."""
        self.export_all.setEnabled(False)
        try:
            self.last_outcome = await exchange_dialogs.export_all(
                self, self._exchange, choose_path=self._choose_path
            )
        finally:
            self.export_all.setEnabled(True)

    @async_slot()
    async def on_import_file_clicked(self) -> None:
        """Import a file the person picks; refresh what shows conversations when it worked."""
        self.import_file.setEnabled(False)
        try:
            self.last_outcome = await exchange_dialogs.import_file(
                self, self._exchange, choose_path=self._choose_path
            )
            if self.last_outcome is not None and self.last_outcome.succeeded:
                self.conversations_changed.emit()
        finally:
            self.import_file.setEnabled(True)

    @async_slot()
    async def on_restore_clicked(self) -> None:
        """Put the selected conversations back in the list."""
        ids = self._selected_ids()
        await self._change_trash(lambda: self._each(self._conversations.restore, ids))

    @async_slot()
    async def on_delete_forever_clicked(self) -> None:
        """Delete the selected conversations for good, after asking."""
        ids = self._selected_ids()
        count = "this conversation" if len(ids) == 1 else f"these {len(ids)} conversations"
        if await confirm(
            self, "Delete forever", f"Delete {count} forever? This cannot be undone.", "Delete forever"
        ):
            await self._change_trash(lambda: self._each(self._conversations.purge, ids))

    @async_slot()
    async def on_empty_trash_clicked(self) -> None:
        """Delete everything in the trash for good, after asking."""
        count = self.trash.topLevelItemCount()
        text = f"Delete all {count} conversations in the trash forever? This cannot be undone."
        if await confirm(self, "Empty trash", text, "Empty trash"):
            await self._change_trash(self._conversations.empty_trash)

    @staticmethod
    async def _each(action: Callable[[str], Awaitable[None]], ids: list[str]) -> None:
        for conversation_id in ids:
            await action(conversation_id)

    async def _change_trash(self, work: Callable[[], Awaitable[object]]) -> None:
        for button in (self.restore, self.delete_forever, self.empty_trash):
            button.setEnabled(False)
        try:
            await work()
        except StorageError as error:  # NotFound: another window changed the trash meanwhile
            exchange_dialogs.tell(self, False, "Trash", "The trash could not be changed.", str(error))
        finally:
            await self.load()
        self.conversations_changed.emit()
