"""Serve conversations as the UI sees them: listing, the active branch, branches, trash, search.

A thin async facade over the storage repositories: every call runs on the database thread, so
the UI never waits on disk.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation, Folder, SearchHit, StoredMessage
from desktop_llm.storage.search import search

KEEP: Any = object()


@dataclass(frozen=True)
class BranchPosition:
    """Where a message stands among its siblings: ``index`` of ``count`` (both from 0 / 1)."""

    index: int = 0
    count: int = 1
    previous_id: str | None = None
    next_id: str | None = None


@dataclass(frozen=True)
class LoadedConversation:
    """A conversation with its active path and each path message's branch position."""

    conversation: Conversation
    path: list[StoredMessage]
    branches: dict[str, BranchPosition]


def _branch_positions(tree: list[StoredMessage], path: list[StoredMessage]) -> dict[str, BranchPosition]:
    children: dict[str | None, list[str]] = defaultdict(list)
    for message in tree:  # the tree comes in creation order, so siblings are in branch order
        children[message.parent_id].append(message.id)
    positions: dict[str, BranchPosition] = {}
    for message in path:
        siblings = children[message.parent_id]
        index = siblings.index(message.id)
        positions[message.id] = BranchPosition(
            index=index,
            count=len(siblings),
            previous_id=siblings[index - 1] if index > 0 else None,
            next_id=siblings[index + 1] if index + 1 < len(siblings) else None,
        )
    return positions


def _load(db: Database, conversation_id: str) -> LoadedConversation:
    conversation = ConversationRepository(db).get(conversation_id)
    messages = MessageRepository(db)
    path = messages.active_path(conversation_id)
    return LoadedConversation(conversation, path, _branch_positions(messages.tree(conversation_id), path))


class ConversationService:
    """Async access to conversations for the UI.

    Args:
        db: the database thread that owns the connection.
    """

    def __init__(self, db: DatabaseThread) -> None:
        self._db = db

    async def list(self, *, limit: int = 200, offset: int = 0, trashed: bool = False) -> list[Conversation]:
        """Return one page of conversations, pinned first, then by last activity."""
        return await self._db.call(
            lambda db: ConversationRepository(db).list(limit=limit, offset=offset, trashed=trashed)
        )

    async def count(self, *, trashed: bool = False) -> int:
        """Return how many conversations ``list`` would page through (in the trash, or out of it)."""
        return await self._db.call(lambda db: ConversationRepository(db).count(trashed=trashed))

    async def create(
        self,
        *,
        provider_id: str | None,
        model: str | None,
        system_prompt: str = "",
        params: dict[str, Any] | None = None,
        title: str = "",
    ) -> Conversation:
        """Create an empty conversation with the given provider, model and settings."""
        return await self._db.call(
            lambda db: ConversationRepository(db).create(
                title,
                provider_id=provider_id,
                model=model,
                system_prompt=system_prompt,
                params=params,
            )
        )

    async def get(self, conversation_id: str) -> Conversation:
        """Return the conversation; raise ``NotFound`` when there is none."""
        return await self._db.call(lambda db: ConversationRepository(db).get(conversation_id))

    async def load(self, conversation_id: str) -> LoadedConversation:
        """Return the conversation, its active path and branch positions, in one database trip."""
        return await self._db.call(_load, conversation_id)

    async def switch_branch(self, conversation_id: str, message_id: str) -> LoadedConversation:
        """Make ``message_id``'s branch the active one and return the reloaded conversation."""

        def switch(db: Database) -> LoadedConversation:
            MessageRepository(db).switch_branch(conversation_id, message_id)
            return _load(db, conversation_id)

        return await self._db.call(switch)

    async def delete_message(self, message_id: str) -> LoadedConversation:
        """Delete a message and its replies; return the reloaded conversation."""

        def delete(db: Database) -> LoadedConversation:
            messages = MessageRepository(db)
            conversation_id = messages.get(message_id).conversation_id
            messages.delete(message_id)
            return _load(db, conversation_id)

        return await self._db.call(delete)

    async def message(self, message_id: str) -> StoredMessage:
        """Return one message; raise ``NotFound`` when there is none."""
        return await self._db.call(lambda db: MessageRepository(db).get(message_id))

    async def rename(self, conversation_id: str, title: str) -> None:
        """Set the title (surrounding spaces dropped)."""
        await self._db.call(lambda db: ConversationRepository(db).rename(conversation_id, title.strip()))

    async def set_pinned(self, conversation_id: str, pinned: bool) -> None:
        """Pin the conversation to the top of the list, or unpin it."""
        await self._db.call(lambda db: ConversationRepository(db).set_pinned(conversation_id, pinned))

    async def move_to_folder(self, conversation_id: str, folder_id: str | None) -> None:
        """Move the conversation into a folder, or out of any folder with None."""
        await self._db.call(lambda db: ConversationRepository(db).move_to_folder(conversation_id, folder_id))

    async def update_settings(
        self,
        conversation_id: str,
        *,
        provider_id: str | None = KEEP,
        model: str | None = KEEP,
        system_prompt: str = KEEP,
        params: dict[str, Any] = KEEP,
    ) -> Conversation:
        """Change the conversation's provider, model, system prompt or parameters (those given)."""
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("provider_id", provider_id),
                ("model", model),
                ("system_prompt", system_prompt),
                ("params", params),
            )
            if value is not KEEP
        }
        return await self._db.call(
            lambda db: ConversationRepository(db).update_settings(conversation_id, **changes)
        )

    async def trash(self, conversation_id: str) -> None:
        """Move the conversation to the trash (kept, hidden, left out of search)."""
        await self._db.call(lambda db: ConversationRepository(db).trash(conversation_id))

    async def restore(self, conversation_id: str) -> None:
        """Bring the conversation back from the trash."""
        await self._db.call(lambda db: ConversationRepository(db).restore(conversation_id))

    async def purge(self, conversation_id: str) -> None:
        """Delete the conversation and all its messages for good."""
        await self._db.call(lambda db: ConversationRepository(db).purge(conversation_id))

    async def empty_trash(self) -> int:
        """Delete every conversation in the trash for good; return how many."""
        return await self._db.call(lambda db: ConversationRepository(db).empty_trash())

    async def folders(self) -> builtins.list[Folder]:
        """Return every folder, by name."""
        return await self._db.call(lambda db: ConversationRepository(db).list_folders())

    async def create_folder(self, name: str) -> Folder:
        """Create a folder (surrounding spaces dropped from its name) and return it."""
        return await self._db.call(lambda db: ConversationRepository(db).create_folder(name.strip()))

    async def search(
        self, query: str, *, limit: int = 50, include_trash: bool = False
    ) -> builtins.list[SearchHit]:
        """Full-text search over every conversation (FTS syntax in ``query`` is plain words)."""
        if not query.strip():
            return []
        return await self._db.call(search, query, limit=limit, include_trash=include_trash)
