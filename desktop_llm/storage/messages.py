"""Store messages: a tree per conversation (``parent_id``) whose active branch ends at the current leaf.

A reply is appended as ``streaming``, saved about once a second with :meth:`update_streaming`
(one cheap UPDATE; the search index ignores streaming rows) and closed with :meth:`finish`,
which is when the search index takes it in (a trigger in the schema does the indexing).

A reply that asks for tools is finished with its ``tool_calls``; each result is then appended
under it as a ``tool`` message (:meth:`append_tool_result`), and the next reply under the last
result. Attachments are references to bytes stored once (see attachments.py); a message is
appended with its references in the same transaction, and an edited copy is appended with the
original's (``attachments=original.attachments``) so the branch keeps them.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound, StorageError
from desktop_llm.storage.lock import DataFolderLock
from desktop_llm.storage.records import (
    FINAL_STATUSES,
    ROLES,
    STATUSES,
    AttachmentRef,
    StoredMessage,
    StoredToolCall,
)
from desktop_llm.storage.timeutil import new_id, now_timestamp

# The columns in StoredMessage's field order: every query selects them so, and a row zips onto
# the record's fields (the active path builds thousands of records at once). Attachments live in
# their own table.
FIELDS = tuple(field.name for field in fields(StoredMessage) if field.name != "attachments")
COLUMNS = ", ".join(FIELDS)
_PLACEHOLDERS = ", ".join("?" * len(FIELDS))
_TOOL_CALLS = FIELDS.index("tool_calls")
# A corrupt tree with a cycle must not walk forever; no real branch is this deep.
MAX_DEPTH = 1_000_000

# Walk up from the leaf carrying only (seq, parent_id), then read each row once by its rowid:
# carrying whole rows through the recursion costs twice as much. Rows come leaf first.
_PATH_FROM_LEAF = f"""
WITH RECURSIVE path (seq, parent_id, depth) AS (
    SELECT seq, parent_id, 0 FROM messages WHERE id = ?
    UNION ALL
    SELECT m.seq, m.parent_id, path.depth + 1
    FROM messages AS m JOIN path ON m.id = path.parent_id
    WHERE path.depth < {MAX_DEPTH}
)
SELECT {", ".join("m." + name for name in FIELDS)}, path.depth
FROM path CROSS JOIN messages AS m ON m.seq = path.seq
"""

_NEWEST_DESCENDANT = """
WITH RECURSIVE chain (id, depth) AS (
    SELECT ?, 0
    UNION ALL
    SELECT (SELECT child.id FROM messages AS child WHERE child.parent_id = chain.id
            ORDER BY child.created_at DESC, child.seq DESC LIMIT 1),
           chain.depth + 1
    FROM chain WHERE chain.id IS NOT NULL AND chain.depth < ?
)
SELECT id FROM chain WHERE id IS NOT NULL ORDER BY depth DESC LIMIT 1
"""

_SUBTREE = """
WITH RECURSIVE subtree (id) AS (
    SELECT ?
    UNION
    SELECT m.id FROM messages AS m JOIN subtree ON m.parent_id = subtree.id
)
SELECT id FROM subtree
"""


def message_from_row(row: Sequence[Any]) -> StoredMessage:
    """Build a StoredMessage from a row whose first columns are :data:`COLUMNS`, in order."""
    # A frozen dataclass's __init__ sets each of the 18 fields through object.__setattr__; filling
    # the instance dict directly builds the same object in about a third of the time, which is
    # most of what a 5,000-message active path costs in Python. The fields need no validation.
    message = object.__new__(StoredMessage)
    values = message.__dict__
    values.update(zip(FIELDS, row, strict=False))  # a row may carry more columns (the path's depth)
    values["pinned"] = bool(values["pinned"])
    values["tool_is_error"] = bool(values["tool_is_error"])
    calls = values["tool_calls"]
    values["tool_calls"] = () if calls is None else tool_calls_from_json(calls)
    values["attachments"] = ()
    return message


def tool_calls_to_json(calls: Sequence[StoredToolCall]) -> str | None:
    """Return the stored form of an assistant message's tool calls (None when it has none)."""
    if not calls:
        return None
    return json.dumps(
        [
            {
                "id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "provider_data": call.provider_data,
            }
            for call in calls
        ],
        ensure_ascii=False,
    )


def tool_calls_from_json(text: str) -> tuple[StoredToolCall, ...]:
    """Return the tool calls stored by :func:`tool_calls_to_json`."""
    return tuple(
        StoredToolCall(
            id=item["id"],
            name=item["name"],
            arguments=item["arguments"],
            provider_data=item.get("provider_data"),
        )
        for item in json.loads(text)
    )


def with_attachments(
    messages: builtins.list[StoredMessage], references: dict[str, builtins.list[AttachmentRef]]
) -> builtins.list[StoredMessage]:
    """Return ``messages`` with each one's attachment references filled in."""
    if not references:
        return messages
    return [
        replace(message, attachments=tuple(references[message.id])) if message.id in references else message
        for message in messages
    ]


class MessageRepository:
    """The messages of every conversation.

    Args:
        db: the open database; call only from the thread that owns it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(
        self,
        conversation_id: str,
        *,
        parent_id: str | None,
        role: str,
        content: str,
        status: str = "complete",
        provider_id: str | None = None,
        model: str | None = None,
        attachments: Sequence[AttachmentRef] = (),
    ) -> StoredMessage:
        """Add a message under ``parent_id`` and make it the conversation's current leaf.

        Args:
            attachments: references to stored bytes (``AttachmentRepository.store``, or another
                message's ``attachments`` for an edited copy), kept in this order.
        """
        if role not in ROLES or role == "tool":
            raise ValueError(
                f"role must be one of {sorted(ROLES - {'tool'})}, not {role!r} "
                "(a tool result goes in with append_tool_result)"
            )
        return self._append(
            self._new(conversation_id, parent_id, role, content, status, provider_id, model), attachments
        )

    def append_tool_result(
        self,
        conversation_id: str,
        *,
        parent_id: str,
        tool_call_id: str,
        tool_name: str,
        content: str,
        server: str | None = None,
        is_error: bool = False,
        duration_ms: int | None = None,
    ) -> StoredMessage:
        """Add one tool call's result (a ``tool`` message) under ``parent_id``; it becomes the leaf.

        Args:
            parent_id: the assistant message that asked for the call, or the previous result.
            tool_call_id: the call's id, as in the assistant message's ``tool_calls``.
            content: the result (or error) text as the model will read it; it is searchable.
            server: the MCP server that ran the tool.
            is_error: the call failed, was declined or timed out; ``content`` says which.
            duration_ms: how long the tool ran.
        """
        message = replace(
            self._new(conversation_id, parent_id, "tool", content, "complete", None, None),
            tool_call_id=tool_call_id,
            tool_name=tool_name,
            tool_server=server,
            tool_is_error=is_error,
            tool_duration_ms=duration_ms,
        )
        return self._append(message, ())

    @staticmethod
    def _new(
        conversation_id: str,
        parent_id: str | None,
        role: str,
        content: str,
        status: str,
        provider_id: str | None,
        model: str | None,
    ) -> StoredMessage:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        return StoredMessage(
            id=new_id(),
            conversation_id=conversation_id,
            parent_id=parent_id,
            role=role,  # type: ignore[arg-type]  # checked against ROLES above
            content=content,
            reasoning="",
            status=status,  # type: ignore[arg-type]  # checked against STATUSES above
            error=None,
            provider_id=provider_id,
            model=model,
            finish_reason=None,
            input_tokens=None,
            output_tokens=None,
            cached_input_tokens=None,
            reasoning_tokens=None,
            latency_ms=None,
            created_at=now_timestamp(),
            pinned=False,
        )

    def _append(self, message: StoredMessage, attachments: Sequence[AttachmentRef]) -> StoredMessage:
        conversation_id, parent_id = message.conversation_id, message.parent_id
        with self._db.transaction() as conn:
            self._leaf(conversation_id)  # NotFound for a missing conversation
            if parent_id is not None:
                parent = conn.execute(
                    "SELECT conversation_id FROM messages WHERE id = ?", (parent_id,)
                ).fetchone()
                if parent is None:
                    raise NotFound("message", parent_id)
                if parent["conversation_id"] != conversation_id:
                    raise StorageError(
                        f"Message {parent_id!r} belongs to another conversation; "
                        f"it cannot be the parent of a message in {conversation_id!r}."
                    )
            self._insert(conn, message)
            AttachmentRepository(self._db).attach(message.id, attachments)
            conn.execute(
                "UPDATE conversations SET current_leaf_id = ?, updated_at = ? WHERE id = ?",
                (message.id, message.created_at, conversation_id),
            )
        return replace(message, attachments=tuple(attachments)) if attachments else message

    def insert(self, message: StoredMessage) -> StoredMessage:
        """Store ``message`` exactly as given (for import): the leaf and activity are left alone.

        Its parent, and the bytes its ``attachments`` refer to, may be inserted later in the
        same transaction (both foreign keys are deferred).
        """
        with self._db.transaction() as conn:
            self._insert(conn, message)
            AttachmentRepository(self._db).attach(message.id, message.attachments, stored=False)
        return message

    def insert_many(self, messages: Sequence[StoredMessage]) -> None:
        """Store ``messages`` exactly as given, in one statement (an import's batch); see :meth:`insert`."""
        with self._db.transaction() as conn:
            conn.executemany(
                f"INSERT INTO messages ({COLUMNS}) VALUES ({_PLACEHOLDERS})",
                (_row(message) for message in messages),
            )
            files = AttachmentRepository(self._db)
            for message in messages:
                files.attach(message.id, message.attachments, stored=False)

    def update_streaming(self, message_id: str, content: str, reasoning: str = "") -> None:
        """Save the text a streaming reply has so far: one UPDATE, no search-index work."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE messages SET content = ?, reasoning = ? WHERE id = ? AND status = 'streaming'",
                (content, reasoning, message_id),
            )
            if cursor.rowcount == 0:
                status = self.get(message_id).status
                raise StorageError(f"Message {message_id!r} is no longer streaming (it is {status}).")

    def finish(
        self,
        message_id: str,
        *,
        status: str,
        content: str,
        reasoning: str = "",
        error: str | None = None,
        finish_reason: str | None = None,
        usage: tuple[int, int, int, int] | None = None,
        latency_ms: int | None = None,
        tool_calls: Sequence[StoredToolCall] = (),
    ) -> StoredMessage:
        """Close a reply with its final text, status and usage; the search index takes it in.

        Args:
            status: "complete", "stopped", "interrupted" or "error".
            usage: (input, output, cached input, reasoning) tokens, or None when not reported.
            tool_calls: the calls the reply asked for, in the order the model gave them.
        """
        if status not in FINAL_STATUSES:
            raise ValueError(
                f"a finished message's status must be one of {sorted(FINAL_STATUSES)}, not {status!r}"
            )
        tokens: tuple[int | None, ...] = usage if usage is not None else (None, None, None, None)
        if len(tokens) != 4:
            raise ValueError("usage is (input, output, cached input, reasoning) tokens")
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE messages SET status = ?, content = ?, reasoning = ?, error = ?, finish_reason = ?, "
                "input_tokens = ?, output_tokens = ?, cached_input_tokens = ?, reasoning_tokens = ?, "
                "latency_ms = ?, tool_calls = ? WHERE id = ?",
                (
                    status,
                    content,
                    reasoning,
                    error,
                    finish_reason,
                    *tokens,
                    latency_ms,
                    tool_calls_to_json(tool_calls),
                    message_id,
                ),
            )
            if cursor.rowcount == 0:
                raise NotFound("message", message_id)
            conn.execute(
                "UPDATE conversations SET updated_at = ? "
                "WHERE id = (SELECT conversation_id FROM messages WHERE id = ?)",
                (now_timestamp(), message_id),
            )
            return self.get(message_id)

    def get(self, message_id: str) -> StoredMessage:
        """Return the message; raise NotFound when there is none."""
        rows = self._rows(f"SELECT {COLUMNS} FROM messages WHERE id = ?", (message_id,))
        if not rows:
            raise NotFound("message", message_id)
        message = message_from_row(rows[0])
        references = AttachmentRepository(self._db).references(message_id)
        return replace(message, attachments=tuple(references)) if references else message

    def active_path(self, conversation_id: str) -> builtins.list[StoredMessage]:
        """Return the active branch, root first, ending at the current leaf (one recursive query)."""
        leaf = self._leaf(conversation_id)
        if leaf is None:
            return []
        rows = self._rows(_PATH_FROM_LEAF, (leaf,))
        rows.sort(key=lambda row: row[-1], reverse=True)  # root (deepest from the leaf) first
        if rows and rows[0][-1] >= MAX_DEPTH:
            raise StorageError(f"Conversation {conversation_id!r} has a damaged message tree (a cycle).")
        return self._with_attachments(conversation_id, [message_from_row(row) for row in rows])

    def tree(self, conversation_id: str) -> builtins.list[StoredMessage]:
        """Return every message of the conversation, every branch, oldest first."""
        self._leaf(conversation_id)  # NotFound for a missing conversation
        rows = self._rows(
            f"SELECT {COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY created_at, seq",
            (conversation_id,),
        )
        return self._with_attachments(conversation_id, [message_from_row(row) for row in rows])

    def siblings(self, message_id: str) -> builtins.list[StoredMessage]:
        """Return the message and its siblings (same parent), oldest first: the "2/3" switcher."""
        message = self.get(message_id)
        rows = self._rows(
            f"SELECT {COLUMNS} FROM messages WHERE conversation_id = ? AND parent_id IS ? "
            "ORDER BY created_at, seq",
            (message.conversation_id, message.parent_id),
        )
        return self._with_attachments(message.conversation_id, [message_from_row(row) for row in rows])

    def switch_branch(self, conversation_id: str, message_id: str) -> builtins.list[StoredMessage]:
        """Make the branch through ``message_id`` active, following its newest replies; return the path."""
        with self._db.transaction() as conn:
            if self.get(message_id).conversation_id != conversation_id:
                raise NotFound("message in this conversation", message_id)
            leaf = conn.execute(_NEWEST_DESCENDANT, (message_id, MAX_DEPTH)).fetchone()["id"]
            conn.execute("UPDATE conversations SET current_leaf_id = ? WHERE id = ?", (leaf, conversation_id))
            return self.active_path(conversation_id)

    def set_pinned(self, message_id: str, pinned: bool) -> None:
        """Pin or unpin a message."""
        with self._db.transaction() as conn:
            cursor = conn.execute("UPDATE messages SET pinned = ? WHERE id = ?", (int(pinned), message_id))
            if cursor.rowcount == 0:
                raise NotFound("message", message_id)

    def delete(self, message_id: str) -> None:
        """Delete the message and every reply under it; a deleted current leaf falls back to the parent."""
        with self._db.transaction() as conn:
            message = self.get(message_id)
            doomed = json.dumps([row["id"] for row in conn.execute(_SUBTREE, (message_id,))])
            conn.execute(
                "UPDATE conversations SET current_leaf_id = ? "
                "WHERE id = ? AND current_leaf_id IN (SELECT value FROM json_each(?))",
                (message.parent_id, message.conversation_id, doomed),
            )
            # Cut the parent links first: SQLite runs cascades as nested triggers (1000 levels at most).
            conn.execute(
                "UPDATE messages SET parent_id = NULL WHERE id IN (SELECT value FROM json_each(?))", (doomed,)
            )
            conn.execute("DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))", (doomed,))

    def recover_interrupted(self) -> int:
        """Mark replies left ``streaming`` by a crash as ``interrupted`` (text kept); return how many.

        Only the process holding the data-folder lock may do this: anywhere else (the command
        line, a second launch) a streaming row may belong to a live stream in the running app.

        Raises:
            StorageError: this process does not hold the data folder's lock.
        """
        folder = self._db.path.parent
        holder = DataFolderLock(folder).holder_pid()
        if holder != os.getpid():
            raise StorageError(
                f"Only the Desktop LLM window holding {folder} may mark unfinished replies as interrupted "
                f"(the lock is held by {'process ' + str(holder) if holder else 'nobody'})."
            )
        with self._db.transaction() as conn:
            return conn.execute(
                "UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'"
            ).rowcount

    def _with_attachments(
        self, conversation_id: str, messages: builtins.list[StoredMessage]
    ) -> builtins.list[StoredMessage]:
        # By conversation rather than by id: one index range instead of thousands of lookups.
        references = AttachmentRepository(self._db).references_in_conversation(conversation_id)
        return with_attachments(messages, references)

    def _rows(self, sql: str, params: Sequence[object]) -> builtins.list[tuple[Any, ...]]:
        # Plain tuples: cheaper than sqlite3.Row, and message_from_row zips them onto the fields.
        cursor = self._db.conn.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params).fetchall()

    def _leaf(self, conversation_id: str) -> str | None:
        row = self._db.conn.execute(
            "SELECT current_leaf_id FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        if row is None:
            raise NotFound("conversation", conversation_id)
        leaf: str | None = row["current_leaf_id"]
        return leaf

    @staticmethod
    def _insert(conn: sqlite3.Connection, message: StoredMessage) -> None:
        conn.execute(f"INSERT INTO messages ({COLUMNS}) VALUES ({_PLACEHOLDERS})", _row(message))


def _row(message: StoredMessage) -> list[object]:
    values: list[object] = [getattr(message, name) for name in FIELDS]  # a bool is stored as 0 or 1
    values[_TOOL_CALLS] = tool_calls_to_json(message.tool_calls)
    return values
