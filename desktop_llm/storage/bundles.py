"""Define what export and import move: a conversation with its whole tree, a template with its versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from desktop_llm.storage.records import Conversation, StoredMessage, TemplateRecord, TemplateVersion


@dataclass(frozen=True)
class ConversationBundle:
    """A conversation, every message of its tree (parents before children) and the tree's content hash."""

    conversation: Conversation
    messages: tuple[StoredMessage, ...]
    content_hash: str


@dataclass(frozen=True)
class TemplateBundle:
    """A template and all its versions, oldest first."""

    template: TemplateRecord
    versions: tuple[TemplateVersion, ...]


@dataclass(frozen=True)
class AttachmentBlob:
    """One attachment's bytes in an import file, checked against its stated sha256 and size.

    ``data`` holds the decoded bytes (positioned at the start) when the reader was asked to
    keep them, else None.
    """

    sha256: str
    size: int
    data: IO[bytes] | None = None
