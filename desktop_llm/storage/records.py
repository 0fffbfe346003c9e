"""Define the plain, frozen records the repositories return (no behaviour, no SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
MessageStatus = Literal["streaming", "complete", "stopped", "interrupted", "error"]

ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})
STATUSES: frozenset[str] = frozenset({"streaming", "complete", "stopped", "interrupted", "error"})
FINAL_STATUSES: frozenset[str] = STATUSES - {"streaming"}


@dataclass(frozen=True)
class Folder:
    """A named group of conversations in the sidebar."""

    id: str
    name: str
    created_at: str


@dataclass(frozen=True)
class Conversation:
    """A conversation's metadata; its messages form a tree ending in ``current_leaf_id``."""

    id: str
    title: str
    created_at: str
    updated_at: str
    pinned: bool
    folder_id: str | None
    archived: bool
    deleted_at: str | None
    provider_id: str | None
    model: str | None
    system_prompt: str
    params: dict[str, Any]
    current_leaf_id: str | None


@dataclass(frozen=True)
class AttachmentRef:
    """A file attached to a message: its bytes (stored once, by hash) and the name it was sent under.

    The same bytes may be attached under several names; ``name`` and ``media_type`` belong to
    the message's reference, ``sha256`` and ``size`` to the stored bytes.
    """

    sha256: str
    name: str
    media_type: str
    size: int


@dataclass(frozen=True)
class StoredToolCall:
    """One tool call an assistant message asked for.

    Args:
        id: the provider's call id; a ``tool`` message answers it through ``tool_call_id``.
        arguments: the JSON text as the model sent it (possibly not valid JSON).
        provider_data: opaque JSON-able data the provider needs back (Gemini's thoughtSignature).
    """

    id: str
    name: str
    arguments: str
    provider_data: Any = None


@dataclass(frozen=True)
class StoredMessage:
    """One message in a conversation's tree, with the usage its provider reported.

    An assistant message may carry ``tool_calls``; a ``tool`` message holds one call's result
    in ``content`` with ``tool_call_id``, ``tool_name``, the MCP server, whether it failed and
    how long it ran. ``attachments`` are the files sent with the message, in order (their bytes
    are loaded only on demand, see ``AttachmentRepository``).
    """

    id: str
    conversation_id: str
    parent_id: str | None
    role: Role
    content: str
    reasoning: str
    status: MessageStatus
    error: str | None
    provider_id: str | None
    model: str | None
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    cached_input_tokens: int | None
    reasoning_tokens: int | None
    latency_ms: int | None
    created_at: str
    pinned: bool
    tool_calls: tuple[StoredToolCall, ...] = ()
    tool_call_id: str | None = None
    tool_name: str | None = None
    tool_server: str | None = None
    tool_is_error: bool = False
    tool_duration_ms: int | None = None
    attachments: tuple[AttachmentRef, ...] = ()


@dataclass(frozen=True)
class SearchHit:
    """A search result: a message (or, when ``message_id`` is None, a title) with a marked snippet."""

    conversation_id: str
    message_id: str | None
    title: str
    snippet: str


@dataclass(frozen=True)
class ProviderSetting:
    """A stored provider entry. It never holds an API key: keys live in the keyring."""

    id: str
    kind: str
    name: str
    base_url: str | None = None
    preset: str | None = None
    default_model: str | None = None
    key_env_var: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateRecord:
    """A prompt template; its content lives in numbered, immutable versions."""

    id: str
    name: str
    description: str
    default_version: int
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class TemplateVersion:
    """One immutable version of a template's JSON body."""

    template_id: str
    number: int
    body: dict[str, Any]
    note: str
    content_hash: str
    created_at: str
