"""What the person does to conversations in the list: rename, pin, folders, trash with Undo, paging.

Each change is saved on the database thread and then shown in the list, one row at a time.
What the rest of the window must follow (a conversation gone to the trash, back from it,
renamed) comes out as signals.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog

from desktop_llm.services.conversations import ConversationService
from desktop_llm.ui.chat.conversation_list import UNTITLED, ConversationList, ConversationListModel
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.shell.first_paint import PAGE_SIZE, read_first_page
from desktop_llm.ui.shell.status_bar import StatusBar


class ListActions(QObject):
    """Carry out the list's requests.

    Args:
        conversations: where the changes are saved.
        listing: the list widget (its requests, except Delete: the window stops a streaming
            reply first, then calls :meth:`trash`; the folders it offers).
        tasks: runs the changes.
        status_bar: shows the Undo toast.

    Signals:
        trashed(str): a conversation went to the trash (close it if open).
        restored(str): Undo brought it back (open it).
        renamed(str, str): a conversation got a new title in place.
    """

    trashed = Signal(str)
    restored = Signal(str)
    renamed = Signal(str, str)

    def __init__(
        self,
        conversations: ConversationService,
        listing: ConversationList,
        tasks: TaskKeeper,
        status_bar: StatusBar,
    ) -> None:
        super().__init__(listing)
        self._conversations = conversations
        self._listing = listing
        model = listing.model()
        assert isinstance(model, ConversationListModel)
        self._model = model
        self._tasks = tasks
        self._status = status_bar
        listing.pin_requested.connect(self.on_listing_pin_requested)
        listing.move_requested.connect(self.on_listing_move_requested)
        listing.new_folder_requested.connect(self.on_listing_new_folder_requested)
        model.rename_requested.connect(self.on_model_rename_requested)
        model.more_wanted.connect(self.on_model_more_wanted)

    async def reload(self) -> None:
        """Show the first page of conversations and the folders, read again."""
        await read_first_page(self._conversations, self._model)
        await self.load_folders()

    async def load_folders(self) -> None:
        """Offer the folders in the list's menus (read again)."""
        self._listing.set_folders(await self._conversations.folders())

    def trash(self, conversation_id: str) -> None:
        """Move a conversation to the trash, with Undo in the status bar."""
        self._tasks.run(self._trash(conversation_id))

    async def _trash(self, conversation_id: str) -> None:
        await self._conversations.trash(conversation_id)
        removed = self._model.remove(conversation_id)
        self.trashed.emit(conversation_id)
        title = (removed.title if removed else "") or UNTITLED
        self._status.show_toast(
            f"Moved “{title}” to the trash.", "Undo", lambda: self.undo_trash(conversation_id)
        )

    def undo_trash(self, conversation_id: str) -> None:
        """Bring a conversation back from the trash and open it."""

        async def restore() -> None:
            await self._conversations.restore(conversation_id)
            self._model.upsert(await self._conversations.get(conversation_id))
            self.restored.emit(conversation_id)

        self._tasks.run(restore())

    def on_model_rename_requested(self, conversation_id: str, title: str) -> None:
        self._tasks.run(self._conversations.rename(conversation_id, title))
        self.renamed.emit(conversation_id, title)

    def on_model_more_wanted(self, offset: int) -> None:
        async def more() -> None:
            page = await self._conversations.list(limit=PAGE_SIZE, offset=offset)
            self._model.append_page(page, has_more=len(page) == PAGE_SIZE)

        self._tasks.run(more())

    def on_listing_pin_requested(self, conversation_id: str, pinned: bool) -> None:
        async def pin() -> None:
            await self._conversations.set_pinned(conversation_id, pinned)
            self._model.upsert(await self._conversations.get(conversation_id))

        self._tasks.run(pin())

    def on_listing_move_requested(self, conversation_id: str, folder_id: str) -> None:
        async def move() -> None:
            await self._conversations.move_to_folder(conversation_id, folder_id or None)
            self._model.upsert(await self._conversations.get(conversation_id))

        self._tasks.run(move())

    def on_listing_new_folder_requested(self, conversation_id: str) -> None:
        name, ok = QInputDialog.getText(self._listing, "New folder", "Folder name:")
        if not ok or not name.strip():
            return

        async def create() -> None:
            folder = await self._conversations.create_folder(name)
            self._listing.set_folders(await self._conversations.folders())
            await self._conversations.move_to_folder(conversation_id, folder.id)
            self._model.upsert(await self._conversations.get(conversation_id))

        self._tasks.run(create())
