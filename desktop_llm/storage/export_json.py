"""Export conversations (whole trees), their folders and the templates to the versioned JSON format.

The format is defined in docs/export-format.md. The document is written piece by piece, one
conversation at a time, from one read snapshot of the database, so a large export needs little
memory and is consistent even while the app keeps writing. Attachment bytes are written once
each (however many messages carry them), base64-encoded from the database a piece at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from desktop_llm import __version__
from desktop_llm.storage import conversations, messages
from desktop_llm.storage.atomic_write import atomic_text_file
from desktop_llm.storage.attachment_stream import ENCODE_PIECE, encode_pieces
from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.bundles import ConversationBundle, TemplateBundle
from desktop_llm.storage.content_hash import tree_content_hash
from desktop_llm.storage.database import Database
from desktop_llm.storage.message_tree import parents_first
from desktop_llm.storage.records import Conversation, Folder, StoredMessage
from desktop_llm.storage.templates import TemplateRepository
from desktop_llm.storage.timeutil import now_timestamp
from desktop_llm.storage.validation import FORMAT_ID, FORMAT_VERSION


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    conversations: int
    messages: int
    folders: int
    templates: int


@contextlib.contextmanager
def read_snapshot(db: Database) -> Iterator[sqlite3.Connection]:
    """Read inside one transaction, so every query sees the database as it was at the first one."""
    conn = db.conn
    if conn.in_transaction:  # already inside the caller's transaction: its view is the snapshot
        yield conn
        return
    conn.execute("BEGIN DEFERRED")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")  # nothing was written; this only ends the snapshot


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _members(record: object) -> dict[str, Any]:
    # A shallow copy: dataclasses.asdict deep-copies every value and dominated export time.
    return {item.name: getattr(record, item.name) for item in dataclasses.fields(record)}  # type: ignore[arg-type]


_TOOL_RESULT_FIELDS = ("tool_call_id", "tool_name", "tool_server", "tool_is_error", "tool_duration_ms")
_PLAIN_FIELDS = tuple(
    item.name
    for item in dataclasses.fields(StoredMessage)
    if item.name not in {"conversation_id", "attachments", "tool_calls", *_TOOL_RESULT_FIELDS}
)


def message_document(message: StoredMessage) -> dict[str, Any]:
    """Return a message as the export format writes it (its conversation is implied).

    Attachments, tool calls and a tool result's members are written only when the message has
    them, so a plain message reads as it did in version 1.
    """
    document = {name: getattr(message, name) for name in _PLAIN_FIELDS}
    if message.attachments:
        document["attachments"] = [_members(ref) for ref in message.attachments]
    if message.tool_calls:
        document["tool_calls"] = [_members(call) for call in message.tool_calls]
    if message.role == "tool":
        document.update((name, getattr(message, name)) for name in _TOOL_RESULT_FIELDS)
    return document


def conversation_document(bundle: ConversationBundle) -> dict[str, Any]:
    """Return a conversation with its messages as the export format writes it."""
    document = _members(bundle.conversation)
    document["content_hash"] = bundle.content_hash
    document["messages"] = [message_document(message) for message in bundle.messages]
    return document


def template_document(bundle: TemplateBundle) -> dict[str, Any]:
    """Return a template with every version as the export format writes it."""
    document = dataclasses.asdict(bundle.template)
    versions = [dataclasses.asdict(version) for version in bundle.versions]
    for version in versions:
        del version["template_id"]
    document["versions"] = versions
    return document


def load_conversation(db: Database, conversation: Conversation) -> ConversationBundle:
    """Return ``conversation`` with every message of its tree, parents first, and its content hash."""
    tree, _ = parents_first(messages.MessageRepository(db).tree(conversation.id))
    return ConversationBundle(conversation, tuple(tree), tree_content_hash(conversation.created_at, tree))


def _selected_conversations(db: Database, ids: Sequence[str] | None) -> list[Conversation]:
    if ids is None:
        rows = db.conn.execute(
            f"SELECT {conversations.COLUMNS} FROM conversations WHERE {conversations.VISIBLE} "
            "ORDER BY created_at, seq"
        ).fetchall()
        return [conversations.conversation_from_row(row) for row in rows]
    repository = conversations.ConversationRepository(db)
    return [repository.get(conversation_id) for conversation_id in dict.fromkeys(ids)]


def _templates(db: Database) -> list[TemplateBundle]:
    repository = TemplateRepository(db)
    return [
        TemplateBundle(template, tuple(repository.versions(template.id))) for template in repository.list()
    ]


def write_export(
    db: Database, out: TextIO, *, conversation_ids: Sequence[str] | None = None
) -> ExportSummary:
    """Write the export document to ``out``.

    Args:
        conversation_ids: the conversations to export (their folders come along); None exports
            everything: every conversation (archived and trashed too), folder and template.

    Raises:
        NotFound: one of ``conversation_ids`` does not exist.
    """
    with read_snapshot(db):
        chosen = _selected_conversations(db, conversation_ids)
        all_folders = conversations.ConversationRepository(db).list_folders()
        if conversation_ids is None:
            folders: list[Folder] = all_folders
            templates = _templates(db)
        else:
            used = {conversation.folder_id for conversation in chosen}
            folders = [folder for folder in all_folders if folder.id in used]
            templates = []

        header = {
            "format": FORMAT_ID,
            "version": FORMAT_VERSION,
            "exported_at": now_timestamp(),
            "generator": f"Desktop LLM {__version__}",
        }
        out.write("{" + _dumps(header)[1:-1] + ",\n")
        _write_list(out, "folders", (dataclasses.asdict(folder) for folder in folders))
        out.write(",\n")
        _write_list(out, "templates", (template_document(template) for template in templates))
        out.write(",\n")
        _write_attachments(db, out, None if conversation_ids is None else [c.id for c in chosen])
        out.write(",\n")
        message_count = 0

        def documents() -> Iterator[dict[str, Any]]:
            nonlocal message_count
            for conversation in chosen:
                bundle = load_conversation(db, conversation)
                message_count += len(bundle.messages)
                yield conversation_document(bundle)

        _write_list(out, "conversations", documents())
        out.write("}\n")
    return ExportSummary(len(chosen), message_count, len(folders), len(templates))


_BLOBS_IN = """
SELECT b.sha256, b.size FROM attachment_blobs AS b
WHERE b.sha256 IN (
    SELECT a.sha256 FROM message_attachments AS a JOIN messages AS m ON m.id = a.message_id
    WHERE m.conversation_id IN (SELECT value FROM json_each(?))
) ORDER BY b.seq
"""
_BLOBS_USED = f"""
SELECT b.sha256, b.size FROM attachment_blobs AS b
WHERE EXISTS (
    SELECT 1 FROM message_attachments AS a JOIN messages AS m ON m.id = a.message_id
    JOIN conversations AS c ON c.id = m.conversation_id
    WHERE a.sha256 = b.sha256 AND c.{conversations.VISIBLE}
) ORDER BY b.seq
"""


def _write_attachments(db: Database, out: TextIO, conversation_ids: list[str] | None) -> None:
    """Write the bytes of every attachment the exported messages carry, once each, as base64."""
    if conversation_ids is None:
        rows = db.conn.execute(_BLOBS_USED).fetchall()
    else:
        rows = db.conn.execute(_BLOBS_IN, (_dumps(conversation_ids),)).fetchall()
    files = AttachmentRepository(db)
    out.write('"attachments": [')
    separator = "\n"
    for row in rows:
        out.write(f'{separator}{{"sha256": "{row["sha256"]}", "size": {int(row["size"])}, "data": "')
        for text in encode_pieces(files.chunks(row["sha256"], ENCODE_PIECE)):
            out.write(text)
        out.write('"}')
        separator = ",\n"
    out.write("\n]")


def _write_list(out: TextIO, name: str, items: Iterator[dict[str, Any]]) -> None:
    out.write(f'"{name}": [')
    separator = "\n"
    for item in items:
        out.write(separator + _dumps(item))
        separator = ",\n"
    out.write("\n]")


def export_json_file(
    db: Database, path: Path, *, conversation_ids: Sequence[str] | None = None
) -> ExportSummary:
    """Write the export to ``path``, replacing it only once the whole document is written.

    Raises:
        NotFound: one of ``conversation_ids`` does not exist (``path`` is left alone).
        StorageError: the file cannot be written.
    """
    with atomic_text_file(path) as out:
        return write_export(db, out, conversation_ids=conversation_ids)
