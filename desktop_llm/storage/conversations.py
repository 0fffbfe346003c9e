"""Store conversations and folders: create, list (pinned first, then by activity), rename, trash, purge.

``updated_at`` is the conversation's last activity: a message appended or finished. Renaming,
pinning, archiving or moving a conversation does not reorder the list.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from typing import Any, Final

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.records import Conversation, Folder
from desktop_llm.storage.timeutil import new_id, now_timestamp


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


ANY: Final = _Sentinel("ANY")  # list(folder_id=ANY): conversations in any folder or none
KEEP: Final = _Sentinel("KEEP")  # update_settings(model=KEEP): leave the field as it is

# A conversation an import is still writing is hidden from every list, count and search.
VISIBLE = "hidden_by_import IS NULL"

COLUMNS = (
    "id, title, created_at, updated_at, pinned, folder_id, archived, deleted_at, "
    "provider_id, model, system_prompt, params, current_leaf_id"
)


def conversation_from_row(row: sqlite3.Row) -> Conversation:
    """Build a Conversation from a row selected with :data:`COLUMNS`."""
    return Conversation(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        pinned=bool(row["pinned"]),
        folder_id=row["folder_id"],
        archived=bool(row["archived"]),
        deleted_at=row["deleted_at"],
        provider_id=row["provider_id"],
        model=row["model"],
        system_prompt=row["system_prompt"],
        params=json.loads(row["params"]),
        current_leaf_id=row["current_leaf_id"],
    )


class ConversationRepository:
    """Conversations and the folders that group them.

    Args:
        db: the open database; call only from the thread that owns it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        title: str = "",
        *,
        provider_id: str | None = None,
        model: str | None = None,
        system_prompt: str = "",
        params: dict[str, Any] | None = None,
        folder_id: str | None = None,
    ) -> Conversation:
        """Create an empty conversation and return it."""
        now = now_timestamp()
        return self.insert(
            Conversation(
                id=new_id(),
                title=title,
                created_at=now,
                updated_at=now,
                pinned=False,
                folder_id=folder_id,
                archived=False,
                deleted_at=None,
                provider_id=provider_id,
                model=model,
                system_prompt=system_prompt,
                params=dict(params or {}),
                current_leaf_id=None,
            )
        )

    def insert(self, conversation: Conversation) -> Conversation:
        """Store ``conversation`` exactly as given (id, timestamps, leaf): for import and tools.

        ``current_leaf_id`` may name a message inserted later in the same transaction.
        """
        with self._db.transaction() as conn:
            if conversation.folder_id is not None:
                self._require_folder(conn, conversation.folder_id)
            conn.execute(
                f"INSERT INTO conversations ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation.id,
                    conversation.title,
                    conversation.created_at,
                    conversation.updated_at,
                    int(conversation.pinned),
                    conversation.folder_id,
                    int(conversation.archived),
                    conversation.deleted_at,
                    conversation.provider_id,
                    conversation.model,
                    conversation.system_prompt,
                    json.dumps(conversation.params, ensure_ascii=False),
                    conversation.current_leaf_id,
                ),
            )
        return conversation

    def get(self, conversation_id: str) -> Conversation:
        """Return the conversation, in the trash or not; raise NotFound when there is none."""
        row = self._db.conn.execute(
            f"SELECT {COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise NotFound("conversation", conversation_id)
        return conversation_from_row(row)

    def list(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        folder_id: str | _Sentinel | None = ANY,
        include_archived: bool = False,
        trashed: bool = False,
    ) -> list[Conversation]:
        """Return one page of conversations: pinned first, then by last activity, newest first.

        Args:
            folder_id: a folder's id, None for conversations in no folder, or ANY.
            include_archived: also archived ones (ignored for the trash, which shows everything).
            trashed: the trash instead of the live conversations.
        """
        where, params = self._filter(folder_id, include_archived, trashed)
        rows = self._db.conn.execute(
            f"SELECT {COLUMNS} FROM conversations WHERE {where} "
            "ORDER BY pinned DESC, updated_at DESC, seq DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        ).fetchall()
        return [conversation_from_row(row) for row in rows]

    def count(
        self,
        *,
        folder_id: str | _Sentinel | None = ANY,
        include_archived: bool = False,
        trashed: bool = False,
    ) -> int:
        """Return how many conversations :meth:`list` with the same filters would page through."""
        where, params = self._filter(folder_id, include_archived, trashed)
        return int(
            self._db.conn.execute(f"SELECT count(*) FROM conversations WHERE {where}", params).fetchone()[0]
        )

    def rename(self, conversation_id: str, title: str) -> None:
        """Set the title (the search index follows)."""
        self._set(conversation_id, "title", title)

    def set_pinned(self, conversation_id: str, pinned: bool) -> None:
        """Pin the conversation to the top of the list, or unpin it."""
        self._set(conversation_id, "pinned", int(pinned))

    def set_archived(self, conversation_id: str, archived: bool) -> None:
        """Archive the conversation (hidden from the default list, still searchable), or bring it back."""
        self._set(conversation_id, "archived", int(archived))

    def move_to_folder(self, conversation_id: str, folder_id: str | None) -> None:
        """Move the conversation into a folder, or out of any folder with None."""
        with self._db.transaction() as conn:
            if folder_id is not None:
                self._require_folder(conn, folder_id)
            self._set(conversation_id, "folder_id", folder_id)

    def update_settings(
        self,
        conversation_id: str,
        *,
        provider_id: str | _Sentinel | None = KEEP,
        model: str | _Sentinel | None = KEEP,
        system_prompt: str | _Sentinel = KEEP,
        params: dict[str, Any] | _Sentinel = KEEP,
    ) -> Conversation:
        """Change the provider, model, system prompt or parameters given; return the result."""
        changes: dict[str, object] = {}
        for column, value in (
            ("provider_id", provider_id),
            ("model", model),
            ("system_prompt", system_prompt),
        ):
            if value is not KEEP:
                changes[column] = value
        if params is not KEEP:
            changes["params"] = json.dumps(params, ensure_ascii=False)
        with self._db.transaction():
            for column, change in changes.items():
                self._set(conversation_id, column, change)
            return self.get(conversation_id)

    def trash(self, conversation_id: str) -> None:
        """Move the conversation to the trash (kept, hidden, left out of search)."""
        self._set(conversation_id, "deleted_at", now_timestamp())

    def restore(self, conversation_id: str) -> None:
        """Bring the conversation back from the trash."""
        self._set(conversation_id, "deleted_at", None)

    def purge(self, conversation_id: str) -> None:
        """Delete the conversation and all its messages for good."""
        with self._db.transaction() as conn:
            self._detach_messages(conn, "conversation_id = ?", (conversation_id,))
            if conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,)).rowcount == 0:
                raise NotFound("conversation", conversation_id)

    def empty_trash(self) -> int:
        """Delete every conversation in the trash for good; return how many."""
        with self._db.transaction() as conn:
            trashed = f"deleted_at IS NOT NULL AND {VISIBLE}"  # not an import's, still hidden
            self._detach_messages(
                conn, f"conversation_id IN (SELECT id FROM conversations WHERE {trashed})", ()
            )
            return conn.execute(f"DELETE FROM conversations WHERE {trashed}").rowcount

    # -- folders ---------------------------------------------------------------------------

    def create_folder(self, name: str) -> Folder:
        """Create a folder and return it."""
        folder = Folder(id=new_id(), name=name, created_at=now_timestamp())
        return self.insert_folder(folder)

    def insert_folder(self, folder: Folder) -> Folder:
        """Store ``folder`` exactly as given (for import)."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO folders (id, name, created_at) VALUES (?, ?, ?)",
                (folder.id, folder.name, folder.created_at),
            )
        return folder

    def rename_folder(self, folder_id: str, name: str) -> None:
        """Rename a folder."""
        with self._db.transaction() as conn:
            if conn.execute("UPDATE folders SET name = ? WHERE id = ?", (name, folder_id)).rowcount == 0:
                raise NotFound("folder", folder_id)

    def delete_folder(self, folder_id: str) -> None:
        """Delete a folder; its conversations move to no folder."""
        with self._db.transaction() as conn:
            # The foreign key's ON DELETE SET NULL moves the conversations out.
            if conn.execute("DELETE FROM folders WHERE id = ?", (folder_id,)).rowcount == 0:
                raise NotFound("folder", folder_id)

    def list_folders(self) -> builtins.list[Folder]:
        """Return every folder, by name."""
        rows = self._db.conn.execute(
            "SELECT id, name, created_at FROM folders ORDER BY name COLLATE NOCASE, seq"
        ).fetchall()
        return [Folder(id=row["id"], name=row["name"], created_at=row["created_at"]) for row in rows]

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _filter(
        folder_id: str | _Sentinel | None, include_archived: bool, trashed: bool
    ) -> tuple[str, tuple[object, ...]]:
        clauses = ["deleted_at IS NOT NULL" if trashed else "deleted_at IS NULL", VISIBLE]
        params: list[object] = []
        if not trashed and not include_archived:
            clauses.append("archived = 0")
        if folder_id is None:
            clauses.append("folder_id IS NULL")
        elif folder_id is not ANY:
            clauses.append("folder_id = ?")
            params.append(folder_id)
        return " AND ".join(clauses), tuple(params)

    def _set(self, conversation_id: str, column: str, value: object) -> None:
        # ``column`` is always one of this module's literals, never user input.
        with self._db.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE conversations SET {column} = ? WHERE id = ?", (value, conversation_id)
            )
            if cursor.rowcount == 0:
                raise NotFound("conversation", conversation_id)

    @staticmethod
    def _require_folder(conn: sqlite3.Connection, folder_id: str) -> None:
        if conn.execute("SELECT 1 FROM folders WHERE id = ?", (folder_id,)).fetchone() is None:
            raise NotFound("folder", folder_id)

    @staticmethod
    def _detach_messages(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> None:
        # SQLite runs cascades as nested triggers, limited to 1000 levels: a long reply chain
        # would fail to delete. Cutting the parent links first keeps every cascade one level deep.
        conn.execute(f"UPDATE messages SET parent_id = NULL WHERE {where} AND parent_id IS NOT NULL", params)
