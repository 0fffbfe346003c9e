"""The window's first paint: its frame and the real conversation list, before the services load.

``app.py`` opens the database thread first (it opens the file while Python imports Qt), builds
these parts, reads the first page of conversations on that thread and only then shows the
window, so the first thing a person sees is their own list, not a placeholder. Nothing here
imports HTTP, the keyring, markdown or the chat service: those load after the paint, when
``composition`` builds the services and the rest of the window and takes these parts over.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop_llm.services.conversations import ConversationService
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.ui.chat.conversation_list import ConversationListModel
from desktop_llm.ui.chat.sidebar import Sidebar
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.shell.main_window import MainWindow

PAGE_SIZE = 200  # conversations per page of the list; scrolling near the end reads the next


async def read_first_page(conversations: ConversationService, model: ConversationListModel) -> None:
    """Show the first page of conversations in ``model`` (read on the database thread)."""
    page = await conversations.list(limit=PAGE_SIZE)
    model.set_conversations(page, has_more=len(page) == PAGE_SIZE)


@dataclass
class FirstPaint:
    """What the window shows before the services exist; the composition takes it over."""

    db: DatabaseThread
    conversations: ConversationService
    tasks: TaskKeeper
    sidebar: Sidebar


async def build_first_paint(window: MainWindow, db: DatabaseThread) -> FirstPaint:
    """Put the sidebar with the first page of conversations in ``window`` (not yet shown).

    Args:
        db: the database thread, already opening the file.
    """
    conversations = ConversationService(db)
    tasks = TaskKeeper(window.show_error)
    model = ConversationListModel()
    sidebar = Sidebar(model, conversations.search, tasks)
    model.setParent(sidebar)
    sidebar.new_chat_button.setEnabled(False)  # until the providers are known
    await read_first_page(conversations, model)
    window.show_sidebar(sidebar)
    return FirstPaint(db, conversations, tasks, sidebar)
