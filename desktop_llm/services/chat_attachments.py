"""Give the chat service each path message's attachments as the conversation's model gets them.

The stored originals are loaded on the database thread (only for the messages being sent) and
prepared in a worker thread (``attachment_prep``); the newest user message is prepared
strictly, so an image for a model that cannot see stops the request with a message that names
models that can, while older messages degrade to a note (the person may have switched models).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from desktop_llm.core.catalog import Catalog
from desktop_llm.providers import Attachment
from desktop_llm.services.attachment_prep import (
    AttachmentPreparer,
    ModelSupport,
    PreparedMessage,
    model_support,
)
from desktop_llm.services.provider_directory import ENVIRONMENT_PREFIX, ProviderDirectory
from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.records import AttachmentRef, Conversation, StoredMessage

Prepared = Mapping[str, PreparedMessage]


def store_attachments(db: Database, attachments: Sequence[Attachment]) -> list[AttachmentRef]:
    """Keep the files' bytes (once each) and return the references a new message takes (db thread)."""
    repository = AttachmentRepository(db)
    return [repository.store(a.name, a.media_type, a.data) for a in attachments]


def load_attachments(db: Database, messages: Sequence[StoredMessage]) -> dict[str, list[Attachment]]:
    """Return the files of the messages that have any, with their bytes (each blob read once; db thread)."""
    repository = AttachmentRepository(db)
    blobs: dict[str, bytes] = {}
    loaded: dict[str, list[Attachment]] = {}
    for message in messages:
        for ref in message.attachments:
            if ref.sha256 not in blobs:
                blobs[ref.sha256] = repository.load(ref.sha256)
            loaded.setdefault(message.id, []).append(Attachment(ref.name, ref.media_type, blobs[ref.sha256]))
    return loaded


def load_blob(db: Database, digest: str) -> bytes:
    """Return the stored bytes with this sha256 (db thread)."""
    return AttachmentRepository(db).load(digest)


class ChatAttachments:
    """Decide and prepare what a conversation's model gets for its attachments.

    Args:
        db: the database thread (the stored originals).
        directory: tells a conversation's provider kind.
        catalog: what each model accepts.
        preparer: scales images and extracts PDF text (with a cache).
    """

    def __init__(
        self,
        db: DatabaseThread,
        directory: ProviderDirectory,
        catalog: Catalog,
        preparer: AttachmentPreparer | None = None,
    ) -> None:
        self._db = db
        self._directory = directory
        self._catalog = catalog
        self.preparer = preparer or AttachmentPreparer()

    async def blob(self, digest: str) -> bytes:
        """Return a stored attachment's bytes, read on the database thread."""
        return await self._db.call(load_blob, digest)

    async def support(self, provider_id: str | None, model: str | None) -> ModelSupport:
        """Return what the model of this provider entry takes besides text."""
        kind = await self.kind_of(provider_id or "")
        return model_support(self._catalog, kind, model or "")

    async def kind_of(self, provider_id: str) -> str:
        """Return the provider kind of an entry ("openai-compatible" when it is gone)."""
        if provider_id.startswith(ENVIRONMENT_PREFIX):
            return provider_id.removeprefix(ENVIRONMENT_PREFIX)
        entry = next((e for e in await self._directory.entries() if e.id == provider_id), None)
        return entry.kind if entry is not None else "openai-compatible"

    async def check_new(
        self, conversation: Conversation, text: str, attachments: Sequence[Attachment]
    ) -> None:
        """Refuse now, before anything is saved, what the model cannot take (``AttachmentRefused``)."""
        if attachments:
            support = await self.support(conversation.provider_id, conversation.model)
            await self.preparer.prepare(text, attachments, support, strict=True)

    async def prepare_path(
        self,
        conversation: Conversation,
        path: Sequence[StoredMessage],
        *,
        draft: str = "",
        draft_attachments: Sequence[Attachment] = (),
        draft_id: str = "",
    ) -> dict[str, PreparedMessage]:
        """Return the prepared messages, by id, of the path messages (and draft) with attachments.

        Raises:
            AttachmentRefused: the newest user message has an attachment the model cannot take.
        """
        with_files = [m for m in path if m.attachments]
        stored = await self._db.call(load_attachments, with_files) if with_files else {}
        if not stored and not draft_attachments:
            return {}
        support = await self.support(conversation.provider_id, conversation.model)
        newest_user = next((m.id for m in reversed(path) if m.role == "user"), None)
        prepared: dict[str, PreparedMessage] = {}
        for message in path:
            files = stored.get(message.id)
            if files:
                strict = message.id == newest_user and not draft_attachments
                prepared[message.id] = await self.preparer.prepare(
                    message.content, files, support, strict=strict
                )
        if draft_attachments:
            prepared[draft_id] = await self.preparer.prepare(draft, draft_attachments, support, strict=False)
        return prepared
