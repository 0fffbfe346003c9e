"""Turn one conversation of a ChatGPT export (``conversations.json``) into records.

A ChatGPT conversation is a ``mapping`` of nodes ``{id, message, parent, children}`` under a
root whose message is null, plus ``current_node``, the leaf of the branch on screen. Kept:
every branch, text, code (as a fenced block), execution and other tool output (labelled),
quotes and browsing results, images the export's .zip holds (as attachments, see
chatgpt_assets.py), other media as placeholders such as ``[image]``, the model's "thoughts" (as
the next reply's reasoning). Skipped, with the tree kept connected
(children move up to the nearest kept ancestor): the null root, messages hidden from the
conversation (hidden system prompts, custom-instruction and memory context), empty messages.

Ids: ChatGPT's ids are UUIDs and are kept; any other id becomes a UUID derived from it
(uuid5), so reading the same file twice gives the same ids.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from desktop_llm.storage.bundles import ConversationBundle
from desktop_llm.storage.chatgpt_assets import AssetInfo
from desktop_llm.storage.content_hash import tree_content_hash
from desktop_llm.storage.message_tree import parents_first
from desktop_llm.storage.records import AttachmentRef, Conversation, StoredMessage
from desktop_llm.storage.timeutil import format_timestamp
from desktop_llm.storage.validation import Problems, object_at

_ID_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4d8b-9a57-2b8f0c7de4a1")
_HIDDEN_CONTENT = frozenset({"user_editable_context", "model_editable_context", "reasoning_recap"})
_FINISH_REASONS = {"stop": "stop", "max_tokens": "length"}
_MEDIA_PLACEHOLDERS = {
    "image_asset_pointer": "[image]",
    "audio_asset_pointer": "[audio]",
    "real_time_user_audio_video_asset_pointer": "[video]",
}


# Finds the file an image part points at (the .zip's ``ZipAssets.resolve``); None: no files.
Resolver = Callable[[str, AssetInfo], AttachmentRef | None]


def looks_like_chatgpt(value: Any) -> bool:
    """Return True if ``value`` has the shape of one ChatGPT conversation."""
    return isinstance(value, dict) and isinstance(value.get("mapping"), dict)


def _uuid_for(raw_id: Any, scope: str) -> str:
    text = str(raw_id)
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        return str(uuid.uuid5(_ID_NAMESPACE, f"{scope}:{text}"))
    return str(parsed)


def _timestamp(seconds: Any) -> str | None:
    """Return a stored timestamp for ChatGPT's float seconds since the epoch, or None."""
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and 0 < seconds < 32503680000:
        return format_timestamp(datetime.fromtimestamp(seconds, UTC))
    return None


# --- content -----------------------------------------------------------------------------------


def _part_text(part: Any) -> str:
    """Return one part of a (multimodal) message: its text, or a placeholder for media."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ""
    kind = part.get("content_type")
    text = part.get("text")
    if kind not in _MEDIA_PLACEHOLDERS and isinstance(text, str):
        return text  # text parts, audio transcriptions
    return _MEDIA_PLACEHOLDERS.get(str(kind), f"[{kind or 'attachment'}]")


def _thoughts(content: dict[str, Any]) -> str:
    pieces: list[str] = []
    for thought in content.get("thoughts") or []:
        if isinstance(thought, dict):
            pieces += [thought[k] for k in ("summary", "content") if isinstance(thought.get(k), str)]
    return "\n\n".join(piece for piece in pieces if piece)


def _asset_infos(message: dict[str, Any]) -> dict[str, AssetInfo]:
    """Return what ``metadata.attachments`` says about each file id: its name and type."""
    infos: dict[str, AssetInfo] = {}
    for item in _object(message.get("metadata")).get("attachments") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            name, kind = item.get("name"), item.get("mimeType") or item.get("mime_type")
            infos[item["id"]] = AssetInfo(
                name if isinstance(name, str) and name else None,
                kind if isinstance(kind, str) and kind else None,
            )
    return infos


def _attachments(
    content: dict[str, Any], message: dict[str, Any], resolve: Resolver | None
) -> tuple[dict[str, Any], tuple[AttachmentRef, ...]]:
    """Return the content with the image parts the .zip holds taken out, and those images."""
    parts = content.get("parts")
    if resolve is None or not isinstance(parts, list):
        return content, ()
    infos = _asset_infos(message)
    kept: list[Any] = []
    found: list[AttachmentRef] = []
    for part in parts:
        pointer = part.get("asset_pointer") if isinstance(part, dict) else None
        if (
            isinstance(part, dict)
            and part.get("content_type") == "image_asset_pointer"
            and isinstance(pointer, str)
        ):
            key = pointer.split("://", 1)[-1]
            if (ref := resolve(pointer, infos.get(key, AssetInfo()))) is not None:
                found.append(ref)
                continue
        kept.append(part)
    return ({**content, "parts": kept} if found else content), tuple(found)


def _content_text(content: dict[str, Any]) -> str:
    """Return the readable text of one message's content, whatever its type."""
    kind = content.get("content_type")
    text = content.get("text") if isinstance(content.get("text"), str) else ""
    if kind == "code":
        language = content.get("language")
        language = language if isinstance(language, str) and language not in ("unknown", "") else ""
        return f"```{language}\n{text}\n```"
    if kind == "execution_output":
        return f"```\n{text}\n```" if text else ""
    if kind == "tether_browsing_display":
        result = content.get("result")
        return result if isinstance(result, str) else ""
    if kind == "tether_quote":
        source = " ".join(str(content[k]) for k in ("title", "url") if content.get(k))
        return f"> {text}\n\n— {source}" if source else f"> {text}"
    if kind == "system_error":
        return f"Error ({content.get('name') or 'system'}): {text}"
    parts = content.get("parts")
    if isinstance(parts, list):
        return "\n\n".join(piece for piece in map(_part_text, parts) if piece)
    return text or (f"[{kind} content]" if kind else "")


# --- the tree ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    """One mapping entry, for ordering."""

    id: str
    parent_id: str | None
    created_at: str
    message: dict[str, Any] | None = field(compare=False)


@dataclass
class _Reading:
    """What the walk down the tree has built so far."""

    conversation_id: str
    default_time: str
    resolve: Resolver | None = None
    messages: list[StoredMessage] = field(default_factory=list)
    anchor: dict[str, str | None] = field(default_factory=dict)  # node -> nearest kept message id
    carried_reasoning: dict[str, str] = field(default_factory=dict)  # node -> thoughts not yet shown


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _hidden(message: dict[str, Any], content: dict[str, Any]) -> bool:
    metadata = _object(message.get("metadata"))
    return bool(
        metadata.get("is_visually_hidden_from_conversation")
        or metadata.get("is_user_system_message")
        or content.get("content_type") in _HIDDEN_CONTENT
    )


def _visible_text(
    message: dict[str, Any], content: dict[str, Any], has_files: bool = False
) -> tuple[str, str] | None:
    """Return (our role, text) for a message shown in the conversation, or None to skip it."""
    author = _object(message.get("author"))
    role = author.get("role")
    text = _content_text(content).strip()
    if not (text or has_files) or role not in ("system", "user", "assistant", "tool"):
        return None
    if role == "tool":  # ChatGPT's tool output has no call to answer: the assistant's, labelled
        label = f"Tool output ({author.get('name') or 'tool'}):"
        return "assistant", f"{label}\n\n{text}" if text else label
    return role, text


def _outcome(message: dict[str, Any]) -> tuple[str, str | None]:
    """Return (status, finish reason) from ChatGPT's message status and finish details."""
    finish = _object(_object(message.get("metadata")).get("finish_details")).get("type")
    finish = finish if isinstance(finish, str) else None
    if message.get("status") == "in_progress":
        status = "interrupted"
    elif finish == "interrupted":
        status = "stopped"
    else:
        status = "complete"
    return status, _FINISH_REASONS.get(finish or "", finish)


def _visit(node: _Node, reading: _Reading, times: dict[str, str]) -> None:
    """Keep or skip ``node``, linking a kept message to its nearest kept ancestor.

    A skipped node passes on its parent's anchor (so its children hang from the nearest kept
    ancestor) and any reasoning not yet shown ("thoughts" add theirs) to the next reply.
    """
    parent = node.parent_id
    parent_anchor = reading.anchor.get(parent) if parent else None
    reasoning = reading.carried_reasoning.get(parent, "") if parent else ""
    times[node.id] = times.get(parent or "", reading.default_time)
    message = node.message
    content = _object(message.get("content")) if message else {}
    visible = None
    files: tuple[AttachmentRef, ...] = ()
    if message is not None and not _hidden(message, content):
        if content.get("content_type") == "thoughts":
            reasoning = "\n\n".join(p for p in (reasoning, _thoughts(content)) if p)
        else:
            content, files = _attachments(content, message, reading.resolve)
            visible = _visible_text(message, content, bool(files))
    if message is None or visible is None:
        reading.anchor[node.id] = parent_anchor
        reading.carried_reasoning[node.id] = reasoning
        return

    role, text = visible
    created = _timestamp(message.get("create_time")) or times[node.id]
    times[node.id] = created
    shown_reasoning = reasoning if role == "assistant" else ""
    status, finish_reason = _outcome(message)
    model = _object(message.get("metadata")).get("model_slug")
    kept = StoredMessage(
        id=_uuid_for(node.id, f"message:{reading.conversation_id}"),
        conversation_id=reading.conversation_id,
        parent_id=parent_anchor,
        role=role,  # type: ignore[arg-type]  # one of ours, from _visible_text
        content=text,
        reasoning=shown_reasoning,
        status=status,  # type: ignore[arg-type]  # one of ours, from _outcome
        error=None,
        provider_id=None,
        model=model if isinstance(model, str) else None,
        finish_reason=finish_reason,
        input_tokens=None,
        output_tokens=None,
        cached_input_tokens=None,
        reasoning_tokens=None,
        latency_ms=None,
        created_at=created,
        pinned=False,
    )
    if files:
        kept = dataclasses.replace(kept, attachments=files)
    reading.messages.append(kept)
    reading.anchor[node.id] = kept.id
    reading.carried_reasoning[node.id] = "" if shown_reasoning else reasoning


def _read_nodes(
    mapping: dict[str, Any], path: str, problems: Problems, conversation_id: str
) -> list[_Node] | None:
    nodes: list[_Node] = []
    ok = True
    spelled: dict[str, str] = {}  # our message id -> the node id it came from
    for node_id in mapping:
        ours = _uuid_for(node_id, f"message:{conversation_id}")
        if (first := spelled.setdefault(ours, node_id)) != node_id:
            # Two spellings of one UUID ("6F3E…" and "6f3e…") would become one message twice.
            problems.add(
                f"{path}.mapping[{node_id!r}]",
                f"the same node id as {first!r} written another way; each node needs its own id",
            )
            ok = False
    for node_id, raw in mapping.items():
        node_path = f"{path}.mapping[{node_id!r}]"
        if (node := object_at(raw, node_path, problems)) is None:
            ok = False
            continue
        parent = node.get("parent")
        message = node.get("message")
        if parent is not None and not isinstance(parent, str):
            problems.add(f"{node_path}.parent", f"expected a node id or null, found {parent!r}")
            ok = False
        elif parent is not None and parent not in mapping:
            problems.add(f"{node_path}.parent", f"{parent!r} is not a node of this conversation")
            ok = False
        if message is not None and not isinstance(message, dict):
            problems.add(f"{node_path}.message", "expected an object or null")
            ok = False
            continue
        created = _timestamp(message.get("create_time")) if message else None
        nodes.append(_Node(node_id, parent, created or "", message))
    if not ok:
        return None
    ordered, looped = parents_first(nodes)
    for in_cycle in looped:
        problems.add(f"{path}.mapping[{in_cycle.id!r}].parent", "the parent chain loops (a cycle)")
    return ordered if not looped else None


def _earliest(mapping: dict[str, Any]) -> str:
    """Return the earliest message time in ``mapping`` (the epoch when none has one)."""
    times = (
        _timestamp(_object(_object(node).get("message")).get("create_time")) for node in mapping.values()
    )
    return min((time for time in times if time), default="1970-01-01T00:00:00.000Z")


def read_chatgpt_conversation(
    value: Any, path: str, problems: Problems, resolve: Resolver | None = None
) -> ConversationBundle | None:
    """Return one ChatGPT conversation as records, or None after recording its problems.

    Args:
        resolve: finds the file an image points at (the export .zip's); without it, or when
            it finds none, an image is the text ``[image]``.
    """
    if (obj := object_at(value, path, problems)) is None:
        return None
    if not isinstance(obj.get("mapping"), dict):
        problems.add(f"{path}.mapping", "missing: not a ChatGPT conversation")
        return None
    raw_id = obj.get("id") or obj.get("conversation_id")
    created = _timestamp(obj.get("create_time")) or _earliest(obj["mapping"])
    conversation_id = _uuid_for(raw_id if raw_id else f"{created}:{obj.get('title')}", "conversation")
    nodes = _read_nodes(obj["mapping"], path, problems, conversation_id)
    if nodes is None:
        return None
    reading = _Reading(conversation_id, created, resolve)
    times: dict[str, str] = {}
    for node in nodes:
        _visit(node, reading, times)

    current = obj.get("current_node")
    leaf = reading.anchor.get(current) if isinstance(current, str) else None
    if leaf is None and reading.messages:
        parents = {message.parent_id for message in reading.messages}
        leaves = [message for message in reading.messages if message.id not in parents]
        leaf = max(leaves, key=lambda m: m.created_at).id if leaves else None
    title = obj.get("title")
    model = obj.get("default_model_slug")
    conversation = Conversation(
        id=conversation_id,
        title=title if isinstance(title, str) else "",
        created_at=created,
        updated_at=_timestamp(obj.get("update_time")) or created,
        pinned=False,
        folder_id=None,
        archived=obj.get("is_archived") is True,
        deleted_at=None,
        provider_id=None,
        model=model if isinstance(model, str) else None,
        system_prompt="",
        params={},
        current_leaf_id=leaf,
    )
    ordered, _ = parents_first(reading.messages)
    return ConversationBundle(conversation, tuple(ordered), tree_content_hash(created, ordered))
