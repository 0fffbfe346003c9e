"""Write an import in short transactions, hidden from everyone until one last, small transaction publishes it.

An import of a large file must not hold the database's write lock for its whole length: the
window (another process) would wait, then fail with DatabaseBusy. So conversations are written
a batch at a time, each batch its own transaction, marked ``hidden_by_import`` (lists, counts,
search and export leave them out; see conversations.VISIBLE). The last transaction adds the
new folders and templates, files the conversations in their folders and clears the mark: the
whole import appears at once. If anything fails, the hidden rows are deleted again, also a
batch at a time, so the person sees all of the import or none of it. A process killed midway
leaves hidden rows behind; the next import deletes those whose process is gone.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from desktop_llm.storage.attachment_stream import read_pieces
from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.bundles import AttachmentBlob, TemplateBundle
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation, Folder, StoredMessage
from desktop_llm.storage.templates import TemplateRepository, content_hash
from desktop_llm.storage.timeutil import new_id

log = logging.getLogger(__name__)

BATCH_MESSAGES = 100  # messages per transaction: a few tens of milliseconds of writing
_DELETE_BATCH = 200  # conversations deleted per transaction when an import is undone


@dataclass
class _Batch:
    conversations: list[tuple[Conversation, list[StoredMessage]]] = field(default_factory=list)
    blobs: list[AttachmentBlob] = field(default_factory=list)
    messages: int = 0
    needs: set[str] = field(default_factory=set)  # bytes its messages refer to, not stored yet


class HiddenImport:
    """Conversations written now, shown later; or, on failure, removed.

    Args:
        db: the database.
        wanted_blobs: the attachment bytes the import must store (referred to, not yet stored).
        batch_messages: messages per write transaction.
        after_batch: called after each committed batch (tests write from elsewhere there).
    """

    def __init__(
        self,
        db: Database,
        wanted_blobs: set[str],
        *,
        batch_messages: int = BATCH_MESSAGES,
        after_batch: Callable[[], None] | None = None,
    ) -> None:
        self.marker = f"{os.getpid()}:{new_id()}"
        self._db = db
        self._missing = set(wanted_blobs)
        self._stored: set[str] = set()
        self._folders: dict[str, str] = {}  # conversation id -> the folder it is filed in on publish
        self._batch = _Batch()
        self._batch_messages = batch_messages
        self._after_batch = after_batch

    @property
    def missing_blobs(self) -> set[str]:
        """Return the wanted attachment bytes not met in the file so far."""
        return self._missing

    def add_conversation(self, conversation: Conversation, messages: list[StoredMessage]) -> None:
        """Queue a conversation (with its final ids) for writing, hidden."""
        if conversation.folder_id is not None:
            self._folders[conversation.id] = conversation.folder_id
        hidden = dataclasses.replace(conversation, folder_id=None)  # a new folder appears on publish
        self._batch.conversations.append((hidden, messages))
        self._batch.messages += len(messages) + 1
        self._batch.needs.update(
            ref.sha256 for message in messages for ref in message.attachments if ref.sha256 in self._missing
        )
        self._flush_if_full()

    def add_blob(self, blob: AttachmentBlob) -> None:
        """Queue an attachment's bytes for writing if the import wants them (else drop them)."""
        assert blob.data is not None, "the write pass keeps attachment bytes"
        if blob.sha256 not in self._missing:
            blob.data.close()
            return
        self._missing.discard(blob.sha256)
        self._batch.blobs.append(blob)
        self._batch.needs.discard(blob.sha256)
        self._batch.messages += 1 + blob.size // 4096  # big files count against the batch too
        self._flush_if_full()

    def publish(self, folders: list[Folder], templates: list[TemplateBundle]) -> None:
        """Write what is queued, then show the whole import at once (one short transaction)."""
        self._flush()
        with self._db.transaction() as conn:
            repository = ConversationRepository(self._db)
            for folder in folders:
                repository.insert_folder(folder)
            template_store = TemplateRepository(self._db)
            for bundle in templates:
                template_store.insert(bundle.template)
                for version in bundle.versions:
                    template_store.insert_version(
                        dataclasses.replace(version, content_hash=content_hash(version.body))
                    )
            conn.executemany(
                "UPDATE conversations SET folder_id = ? WHERE id = ?",
                [(folder_id, conversation_id) for conversation_id, folder_id in self._folders.items()],
            )
            conn.execute(
                "UPDATE conversations SET hidden_by_import = NULL WHERE hidden_by_import = ?", (self.marker,)
            )

    def discard(self) -> None:
        """Delete everything this import wrote (it never showed), a batch at a time."""
        for blob in self._batch.blobs:
            blob.data.close()  # type: ignore[union-attr]  # kept bytes, see add_blob
        self._batch = _Batch()
        remove_hidden(self._db, self.marker)
        if self._stored:
            with self._db.transaction() as conn:
                conn.execute(
                    "DELETE FROM attachment_blobs WHERE sha256 IN (SELECT value FROM json_each(?)) "
                    "AND NOT EXISTS (SELECT 1 FROM message_attachments AS a "
                    "WHERE a.sha256 = attachment_blobs.sha256)",
                    (_json_list(self._stored),),
                )

    def _flush_if_full(self) -> None:
        # A conversation whose bytes come later in the file keeps the batch open until they do:
        # the reference is checked when the transaction commits.
        if self._batch.messages >= self._batch_messages and not self._batch.needs:
            self._flush()

    def _flush(self) -> None:
        batch, self._batch = self._batch, _Batch()
        if not batch.conversations and not batch.blobs:
            return
        attachments = AttachmentRepository(self._db)
        try:
            with self._db.transaction() as conn:
                for blob in batch.blobs:
                    attachments.store_stream(blob.sha256, blob.size, read_pieces(blob.data))  # type: ignore[arg-type]
                    self._stored.add(blob.sha256)
                for conversation, messages in batch.conversations:
                    ConversationRepository(self._db).insert(conversation)
                    conn.execute(
                        "UPDATE conversations SET hidden_by_import = ? WHERE id = ?",
                        (self.marker, conversation.id),
                    )
                    MessageRepository(self._db).insert_many(messages)
        finally:
            for blob in batch.blobs:
                blob.data.close()  # type: ignore[union-attr]  # kept bytes, see add_blob
        if self._after_batch is not None:
            self._after_batch()


def remove_hidden(db: Database, marker: str) -> int:
    """Delete the conversations an import left hidden under ``marker``, a batch at a time; return how many."""
    removed = 0
    while True:
        with db.transaction() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM conversations WHERE hidden_by_import = ? LIMIT ?", (marker, _DELETE_BATCH)
                )
            ]
            if not ids:
                return removed
            chosen = _json_list(ids)
            # Cut parent links first: SQLite cascades nest one trigger level per generation.
            conn.execute(
                "UPDATE messages SET parent_id = NULL "
                "WHERE conversation_id IN (SELECT value FROM json_each(?))",
                (chosen,),
            )
            conn.execute("DELETE FROM conversations WHERE id IN (SELECT value FROM json_each(?))", (chosen,))
            removed += len(ids)


def remove_abandoned(db: Database) -> int:
    """Delete what imports killed midway left hidden (their process is gone); return how many."""
    markers = [
        row[0]
        for row in db.conn.execute(
            "SELECT DISTINCT hidden_by_import FROM conversations WHERE hidden_by_import IS NOT NULL"
        )
    ]
    removed = 0
    for marker in markers:
        pid = marker.split(":", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            removed += remove_hidden(db, marker)
    if removed:
        log.info("removed %d conversations left hidden by imports that did not finish", removed)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return True  # no safe probe without a dependency: leave them hidden (they harm nothing)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(values))
