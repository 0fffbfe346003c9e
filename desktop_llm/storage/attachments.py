"""Store attachment bytes once by sha256 and link them, in order, to the messages that carry them.

A blob row holds the bytes; a reference row ties a message to a blob at a position, with the
name and media type the file was sent under. Deleting a message deletes its references (a
cascade), and the last reference to go takes the blob with it (a trigger in the schema), so
nothing here needs calling when messages, conversations or the trash are deleted.

Store and link in one transaction (``with db.transaction():`` around :meth:`store` and
``MessageRepository.append(..., attachments=...)``): a blob nothing references is only swept
by :meth:`collect_garbage`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.records import AttachmentRef
from desktop_llm.storage.timeutil import now_timestamp

# Bytes read or written at a time: each call holds the interpreter lock, so a 20 MB file in
# one call would freeze the window's thread for as long as SQLite copies it.
CHUNK_SIZE = 1 << 20

_REFERENCES = """
SELECT a.message_id, a.sha256, a.name, a.media_type, b.size
FROM message_attachments AS a JOIN attachment_blobs AS b ON b.sha256 = a.sha256
"""


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex sha256 of ``data``: an attachment's identity."""
    return hashlib.sha256(data).hexdigest()


class AttachmentRepository:
    """Attachment bytes and the references messages hold to them.

    Args:
        db: the open database; call only from the thread that owns it.
    """

    def __init__(self, db: Database) -> None:
        self._db = db

    def store(self, name: str, media_type: str, data: bytes) -> AttachmentRef:
        """Keep ``data`` (once, whatever the name) and return a reference to attach to a message."""
        digest = sha256_hex(data)
        self.store_stream(digest, len(data), _slices(data))
        return AttachmentRef(sha256=digest, name=name, media_type=media_type, size=len(data))

    def store_stream(self, digest: str, size: int, pieces: Iterable[bytes | memoryview]) -> None:
        """Keep ``size`` bytes arriving in ``pieces`` under ``digest`` without holding them all (import).

        The caller has checked that the pieces hash to ``digest``; they are written straight
        into the row's blob. Nothing is written when the bytes are already stored.

        Raises:
            ValueError: the pieces do not add up to ``size`` bytes.
        """
        with self._db.transaction() as conn:
            if self.has_blob(digest):
                return
            seq = conn.execute(
                "INSERT INTO attachment_blobs (sha256, size, data, created_at) VALUES (?, ?, zeroblob(?), ?) "
                "RETURNING seq",
                (digest, size, size, now_timestamp()),
            ).fetchone()[0]
            written = 0
            with conn.blobopen("attachment_blobs", "data", seq) as blob:
                for piece in pieces:
                    if written + len(piece) > size:
                        raise ValueError(f"attachment {digest} has more than the {size:,} bytes announced")
                    blob.write(piece)
                    written += len(piece)
            if written != size:
                raise ValueError(f"attachment {digest} has {written:,} bytes, not the {size:,} announced")

    def has_blob(self, digest: str) -> bool:
        """Return whether bytes with this sha256 are stored."""
        row = self._db.conn.execute("SELECT 1 FROM attachment_blobs WHERE sha256 = ?", (digest,)).fetchone()
        return row is not None

    def attach(self, message_id: str, references: Sequence[AttachmentRef], *, stored: bool = True) -> None:
        """Add ``references`` to the message's attachments, after any it has, in the order given.

        Args:
            stored: check now that the bytes are stored; an import passes False when they come
                later in the same transaction (the foreign key is checked at commit).

        Raises:
            NotFound: a reference names bytes that are not stored, or the message does not exist.
        """
        if not references:
            return
        with self._db.transaction() as conn:
            if conn.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone() is None:
                raise NotFound("message", message_id)
            start = conn.execute(
                "SELECT coalesce(max(position) + 1, 0) FROM message_attachments WHERE message_id = ?",
                (message_id,),
            ).fetchone()[0]
            for offset, reference in enumerate(references):
                if stored and not self.has_blob(reference.sha256):
                    raise NotFound("attachment", reference.sha256)
                conn.execute(
                    "INSERT INTO message_attachments (message_id, position, sha256, name, media_type) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (message_id, start + offset, reference.sha256, reference.name, reference.media_type),
                )

    def references(self, message_id: str) -> list[AttachmentRef]:
        """Return the message's attachments in order, without their bytes."""
        return self.references_for([message_id]).get(message_id, [])

    def references_for(self, message_ids: Iterable[str]) -> dict[str, list[AttachmentRef]]:
        """Return the attachments of each of ``message_ids`` that has any, in order (one query)."""
        ids = json.dumps(list(message_ids))
        rows = self._db.conn.execute(
            f"{_REFERENCES} WHERE a.message_id IN (SELECT value FROM json_each(?)) "
            "ORDER BY a.message_id, a.position",
            (ids,),
        )
        return _grouped(rows)

    def references_in_conversation(self, conversation_id: str) -> dict[str, list[AttachmentRef]]:
        """Return the attachments of every message of the conversation that has any, in order."""
        rows = self._db.conn.execute(
            f"{_REFERENCES} JOIN messages AS m ON m.id = a.message_id WHERE m.conversation_id = ? "
            "ORDER BY a.message_id, a.position",
            (conversation_id,),
        )
        return _grouped(rows)

    def load(self, digest: str) -> bytes:
        """Return the bytes stored under ``digest``; raise NotFound when there are none."""
        # A piece at a time, not ``SELECT data``: reading a 20 MB column in one call holds the
        # interpreter lock for its whole length, and the window's thread waits for it.
        return b"".join(self.chunks(digest))

    def chunks(self, digest: str, size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the bytes stored under ``digest`` a piece at a time (never the whole blob at once)."""
        row = self._db.conn.execute("SELECT seq FROM attachment_blobs WHERE sha256 = ?", (digest,)).fetchone()
        if row is None:
            raise NotFound("attachment", digest)
        with self._db.conn.blobopen("attachment_blobs", "data", row["seq"], readonly=True) as blob:
            while piece := blob.read(size):
                yield piece

    def collect_garbage(self) -> int:
        """Delete stored bytes that no message references (left by an unfinished store); return how many."""
        with self._db.transaction() as conn:
            return conn.execute(
                "DELETE FROM attachment_blobs WHERE NOT EXISTS "
                "(SELECT 1 FROM message_attachments AS a WHERE a.sha256 = attachment_blobs.sha256)"
            ).rowcount


def _grouped(rows: Iterable[sqlite3.Row]) -> dict[str, list[AttachmentRef]]:
    grouped: dict[str, list[AttachmentRef]] = {}
    for row in rows:
        grouped.setdefault(row["message_id"], []).append(
            AttachmentRef(
                sha256=row["sha256"], name=row["name"], media_type=row["media_type"], size=row["size"]
            )
        )
    return grouped


def _slices(data: bytes, size: int = CHUNK_SIZE) -> Iterator[memoryview]:
    view = memoryview(data)
    return (view[start : start + size] for start in range(0, len(data), size))
