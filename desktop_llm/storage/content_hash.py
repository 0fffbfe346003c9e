"""Compute the content hash of a conversation's message tree: what "identical" means on import.

Two conversations are identical when they were started at the same moment and hold the same
messages in the same tree shape, whatever their ids, titles, folders or flags. The definition
(also in docs/export-format.md, version 1):

    canonical(v)   = UTF-8 of json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    node_hash(m)   = sha256_hex(canonical({"role": m.role, "content": m.content,
                                           "reasoning": m.reasoning, "created_at": m.created_at,
                                           "children": sorted(node_hash(c) for c in children(m))}))
    tree_hash(c)   = sha256_hex(canonical({"created_at": c.created_at,
                                           "roots": sorted(node_hash(r) for r in roots(c))}))

Ids never enter the hash, so a conversation imported under new ids still matches its original;
sibling order does not either (children are a sorted set of hashes).

Since format version 2 a node also covers, only when the message has them (so a plain
message hashes exactly as in version 1):

    "attachments": [[sha256, name, media_type], ...]              in the message's order
    "tool_calls":  [[id, name, arguments, provider_data], ...]     in the message's order
    "tool":        [tool_call_id, tool_name, server, is_error]     for a role "tool" message

The tool's duration is left out, like the usage figures: it is a measurement, not content.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from desktop_llm.storage.records import AttachmentRef, StoredToolCall

HASH_VERSION = 1


class TreeMessage(Protocol):
    """The fields of a message the hash reads (``StoredMessage`` has them)."""

    @property
    def id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def role(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def reasoning(self) -> str: ...
    @property
    def created_at(self) -> str: ...
    @property
    def attachments(self) -> Sequence[AttachmentRef]: ...
    @property
    def tool_calls(self) -> Sequence[StoredToolCall]: ...
    @property
    def tool_call_id(self) -> str | None: ...
    @property
    def tool_name(self) -> str | None: ...
    @property
    def tool_server(self) -> str | None: ...
    @property
    def tool_is_error(self) -> bool: ...


def _sha256_of(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tree_content_hash(conversation_created_at: str, messages: Iterable[TreeMessage]) -> str:
    """Return the content hash of a conversation's message tree (see the module docstring).

    ``messages`` must form a forest: every ``parent_id`` is None or the id of another message in
    it, without cycles (import validation checks this first).
    """
    by_id = {message.id: message for message in messages}
    children: defaultdict[str | None, list[str]] = defaultdict(list)
    for message in by_id.values():
        children[message.parent_id].append(message.id)

    # Post-order without recursion: a 5,000-message chain would overflow Python's stack.
    hashes: dict[str, str] = {}
    stack: list[tuple[str, bool]] = [(root, False) for root in children[None]]
    while stack:
        message_id, expanded = stack.pop()
        if not expanded:
            stack.append((message_id, True))
            stack.extend((child, False) for child in children[message_id])
            continue
        node = _node(by_id[message_id])
        node["children"] = sorted(hashes[child] for child in children[message_id])
        hashes[message_id] = _sha256_of(node)
    return _sha256_of(
        {"created_at": conversation_created_at, "roots": sorted(hashes[root] for root in children[None])}
    )


def _node(message: TreeMessage) -> dict[str, Any]:
    node: dict[str, Any] = {
        "role": message.role,
        "content": message.content,
        "reasoning": message.reasoning,
        "created_at": message.created_at,
    }
    if message.attachments:
        node["attachments"] = [[ref.sha256, ref.name, ref.media_type] for ref in message.attachments]
    if message.tool_calls:
        node["tool_calls"] = [
            [call.id, call.name, call.arguments, call.provider_data] for call in message.tool_calls
        ]
    if message.role == "tool":
        node["tool"] = [message.tool_call_id, message.tool_name, message.tool_server, message.tool_is_error]
    return node
