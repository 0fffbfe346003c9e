"""Check desktop-llm export data (parsed JSON) field by field and turn it into records.

Every problem is collected with the path of the offending value
(``conversations[3].messages[7].parent_id: 'x' does not exist in this conversation``) so one
run names all of them; a value with problems yields no record. Nothing here touches a database.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desktop_llm.storage.bundles import ConversationBundle, TemplateBundle
from desktop_llm.storage.content_hash import tree_content_hash
from desktop_llm.storage.message_tree import parents_first
from desktop_llm.storage.records import (
    ROLES,
    STATUSES,
    AttachmentRef,
    Conversation,
    Folder,
    StoredMessage,
    StoredToolCall,
    TemplateRecord,
    TemplateVersion,
)

FORMAT_ID = "desktop-llm-export"
FORMAT_VERSION = 2  # 2: attachments and tool calls/results

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_MAX_PROBLEMS = 200


class Problems:
    """The problems found so far, each "path: what is wrong"; the list stops growing at a limit."""

    def __init__(self, limit: int = _MAX_PROBLEMS) -> None:
        self.items: list[str] = []
        self.dropped = 0
        self._limit = limit

    def add(self, path: str, text: str) -> None:
        """Record one problem at ``path``."""
        if len(self.items) < self._limit:
            self.items.append(f"{path}: {text}" if path else text)
        else:
            self.dropped += 1

    def replace_all(self, text: str) -> None:
        """Drop every problem found so far in favour of ``text``, which makes them moot."""
        self.items = [text]
        self.dropped = 0

    def __bool__(self) -> bool:
        return bool(self.items)

    def as_list(self) -> list[str]:
        """Return every recorded problem, with a last line counting those left out."""
        more = [f"... and {self.dropped} more problems"] if self.dropped else []
        return self.items + more


# --- value checks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A value check: what it expects, in words, and the test."""

    expected: str
    test: Callable[[Any], bool]

    def or_null(self) -> Check:
        return Check(f"{self.expected} or null", lambda v: v is None or self.test(v))


def _is_uuid(value: Any) -> bool:
    # The canonical form str(uuid.UUID(value)) gives: lowercase hex in 8-4-4-4-12 groups.
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


TEXT = Check("a string", lambda v: isinstance(v, str))
FLAG = Check("true or false", lambda v: isinstance(v, bool))
COUNT = Check("a whole number ≥ 0", _is_count)
POSITIVE = Check("a whole number ≥ 1", lambda v: _is_count(v) and v >= 1)
OBJECT = Check("an object", lambda v: isinstance(v, dict))
LIST = Check("a list", lambda v: isinstance(v, list))
UUID = Check("a UUID string (like '3f2504e0-4f89-41d3-9a0c-0305e82c3301')", _is_uuid)
TIMESTAMP = Check("a UTC timestamp like '2026-11-27T19:40:59.123Z'", _is_timestamp)
_V1_ROLES = ROLES - {"tool"}  # tool messages arrived with format version 2
V1_ROLE = Check("one of " + ", ".join(sorted(_V1_ROLES)), lambda v: v in _V1_ROLES)
ROLE = Check("one of " + ", ".join(sorted(ROLES)), lambda v: v in ROLES)
STATUS = Check("one of " + ", ".join(sorted(STATUSES)), lambda v: v in STATUSES)
OPTIONAL_TEXT = TEXT.or_null()
OPTIONAL_COUNT = COUNT.or_null()
OPTIONAL_UUID = UUID.or_null()
OPTIONAL_TIMESTAMP = TIMESTAMP.or_null()
SHA256 = Check(
    "64 lowercase hex digits", lambda v: isinstance(v, str) and re.fullmatch("[0-9a-f]{64}", v) is not None
)
ANY_JSON = Check("any JSON value", lambda v: True)

_REQUIRED = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# The conversation settings the app reads from ``params``, with the ranges its header offers.
# Any other member is kept as it is (a newer app's setting).
MAX_TOKENS_LIMIT = 1_000_000
PARAMS: dict[str, Check] = {
    "temperature": Check(
        "a number from 0 to 2 or null", lambda v: v is None or (_is_number(v) and 0 <= v <= 2)
    ),
    "max_tokens": Check(
        f"a whole number from 1 to {MAX_TOKENS_LIMIT:,} or null",
        lambda v: v is None or (_is_count(v) and 1 <= v <= MAX_TOKENS_LIMIT),
    ),
    "context": Check("'sliding' or 'summarise'", lambda v: v in ("sliding", "summarise")),
    "summary": Check(
        'an object with "text" and "covers_through_id" strings',
        lambda v: (
            isinstance(v, dict)
            and isinstance(v.get("text"), str)
            and isinstance(v.get("covers_through_id"), str)
        ),
    ),
}


def describe(value: Any) -> str:
    """Return a JSON value in words for a problem message: its kind and, if short, itself."""
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    name = kind.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)
    shown = repr(value) if not isinstance(value, dict | list) else ""
    return f"{name} {shown[:60]}".rstrip()


class Fields:
    """Read checked members of one JSON object, reporting problems under its path."""

    def __init__(self, obj: dict[str, Any], path: str, problems: Problems) -> None:
        self._obj = obj
        self._path = path
        self._problems = problems
        self.ok = True

    def get(self, name: str, check: Check, default: Any = _REQUIRED) -> Any:
        """Return member ``name`` if it passes ``check``; else record a problem and return None."""
        if name not in self._obj:
            if default is not _REQUIRED:
                return default
            self.problem(name, "missing")
            return None
        value = self._obj[name]
        if not check.test(value):
            self.problem(name, f"expected {check.expected}, found {describe(value)}")
            return None
        return value

    def problem(self, name: str, text: str) -> None:
        """Record a problem with member ``name``."""
        self.ok = False
        self._problems.add(f"{self._path}.{name}", text)


def object_at(value: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    """Return ``value`` if it is a JSON object, else record a problem at ``path``."""
    if isinstance(value, dict):
        return value
    problems.add(path, f"expected an object, found {describe(value)}")
    return None


# --- the top level -----------------------------------------------------------------------------


def check_format(document_format: Any, version: Any) -> str | None:
    """Return why a file is not one this version reads (another format, a newer version), or None."""
    if document_format is None:
        return (
            f'not a Desktop LLM export: the top-level object has no "format": "{FORMAT_ID}" '
            "(a ChatGPT export is a list, or a .zip holding conversations.json)"
        )
    if document_format != FORMAT_ID:
        return f'another format: "format" is {document_format!r}, expected {FORMAT_ID!r}'
    if not _is_count(version) or version < 1:
        return f"version: expected a whole number ≥ 1, found {describe(version)}"
    if version > FORMAT_VERSION:
        return (
            f"the file was written by a newer Desktop LLM (format version {version}; this version "
            f"reads up to {FORMAT_VERSION}): update Desktop LLM to import it"
        )
    return None


def read_folder(value: Any, path: str, problems: Problems) -> Folder | None:
    """Return the folder in ``value``, or None after recording its problems."""
    if (obj := object_at(value, path, problems)) is None:
        return None
    fields = Fields(obj, path, problems)
    folder = Folder(
        id=fields.get("id", UUID),
        name=fields.get("name", TEXT),
        created_at=fields.get("created_at", TIMESTAMP),
    )
    return folder if fields.ok else None


def read_template(value: Any, path: str, problems: Problems) -> TemplateBundle | None:
    """Return the template and versions in ``value``, or None after recording their problems."""
    if (obj := object_at(value, path, problems)) is None:
        return None
    fields = Fields(obj, path, problems)
    template = TemplateRecord(
        id=fields.get("id", UUID),
        name=fields.get("name", TEXT),
        description=fields.get("description", TEXT, ""),
        default_version=fields.get("default_version", POSITIVE),
        created_at=fields.get("created_at", TIMESTAMP),
        updated_at=fields.get("updated_at", TIMESTAMP),
    )
    versions: list[TemplateVersion] = []
    for index, item in enumerate(fields.get("versions", LIST) or []):
        item_path = f"{path}.versions[{index}]"
        if (version_obj := object_at(item, item_path, problems)) is None:
            fields.ok = False
            continue
        version_fields = Fields(version_obj, item_path, problems)
        version = TemplateVersion(
            template_id=template.id,
            number=version_fields.get("number", POSITIVE),
            body=version_fields.get("body", OBJECT),
            note=version_fields.get("note", TEXT, ""),
            content_hash=version_fields.get("content_hash", TEXT, ""),
            created_at=version_fields.get("created_at", TIMESTAMP),
        )
        fields.ok &= version_fields.ok
        versions.append(version)
    numbers = [v.number for v in versions]
    if fields.ok and sorted(numbers) != list(range(1, len(numbers) + 1)):
        fields.problem("versions", f"numbers must run 1, 2, 3... without gaps or repeats, found {numbers}")
    elif fields.ok and template.default_version not in numbers:
        fields.problem("default_version", f"{template.default_version} is not one of the versions {numbers}")
    if not fields.ok:
        return None
    return TemplateBundle(template, tuple(sorted(versions, key=lambda v: v.number)))


def read_message(
    value: Any, path: str, conversation_id: str, problems: Problems, version: int = FORMAT_VERSION
) -> StoredMessage | None:
    """Return the message in ``value``, or None after recording its problems.

    Args:
        version: the file's format version; members of later versions are ignored.
    """
    if (obj := object_at(value, path, problems)) is None:
        return None
    fields = Fields(obj, path, problems)
    message = StoredMessage(
        id=fields.get("id", UUID),
        conversation_id=conversation_id,
        parent_id=fields.get("parent_id", OPTIONAL_UUID),
        role=fields.get("role", ROLE if version >= 2 else V1_ROLE),
        content=fields.get("content", TEXT),
        reasoning=fields.get("reasoning", TEXT, ""),
        status=fields.get("status", STATUS, "complete"),
        error=fields.get("error", OPTIONAL_TEXT, None),
        provider_id=fields.get("provider_id", OPTIONAL_TEXT, None),
        model=fields.get("model", OPTIONAL_TEXT, None),
        finish_reason=fields.get("finish_reason", OPTIONAL_TEXT, None),
        input_tokens=fields.get("input_tokens", OPTIONAL_COUNT, None),
        output_tokens=fields.get("output_tokens", OPTIONAL_COUNT, None),
        cached_input_tokens=fields.get("cached_input_tokens", OPTIONAL_COUNT, None),
        reasoning_tokens=fields.get("reasoning_tokens", OPTIONAL_COUNT, None),
        latency_ms=fields.get("latency_ms", OPTIONAL_COUNT, None),
        created_at=fields.get("created_at", TIMESTAMP),
        pinned=fields.get("pinned", FLAG, False),
    )
    if version >= 2 and fields.ok:
        message = _with_version_2_members(message, fields, obj, path, problems)
    return message if fields.ok else None


def _with_version_2_members(
    message: StoredMessage, fields: Fields, obj: dict[str, Any], path: str, problems: Problems
) -> StoredMessage:
    """Return ``message`` with its attachment references and tool members (format version 2)."""
    attachments: list[AttachmentRef] = []
    for index, item in enumerate(fields.get("attachments", LIST, [])):
        item_path = f"{path}.attachments[{index}]"
        if (ref := object_at(item, item_path, problems)) is None:
            fields.ok = False
            continue
        ref_fields = Fields(ref, item_path, problems)
        reference = AttachmentRef(
            sha256=ref_fields.get("sha256", SHA256),
            name=ref_fields.get("name", TEXT),
            media_type=ref_fields.get("media_type", TEXT),
            size=ref_fields.get("size", COUNT),
        )
        fields.ok &= ref_fields.ok
        attachments.append(reference)
    calls: list[StoredToolCall] = []
    for index, item in enumerate(fields.get("tool_calls", LIST, [])):
        item_path = f"{path}.tool_calls[{index}]"
        if (call := object_at(item, item_path, problems)) is None:
            fields.ok = False
            continue
        call_fields = Fields(call, item_path, problems)
        calls.append(
            StoredToolCall(
                id=call_fields.get("id", TEXT),
                name=call_fields.get("name", TEXT),
                arguments=call_fields.get("arguments", TEXT),
                provider_data=call_fields.get("provider_data", ANY_JSON, None),
            )
        )
        fields.ok &= call_fields.ok
    if message.role == "tool":  # a result must say which call it answers
        tool_call_id, tool_name = fields.get("tool_call_id", TEXT), fields.get("tool_name", TEXT)
    else:
        tool_call_id = fields.get("tool_call_id", OPTIONAL_TEXT, None)
        tool_name = fields.get("tool_name", OPTIONAL_TEXT, None)
    if calls and message.role != "assistant":
        fields.problem(
            "tool_calls", f"only an assistant message asks for tools, not a {message.role} message"
        )
    return dataclasses.replace(
        message,
        attachments=tuple(attachments),
        tool_calls=tuple(calls),
        tool_call_id=tool_call_id,
        tool_name=tool_name,
        tool_server=fields.get("tool_server", OPTIONAL_TEXT, None),
        tool_is_error=fields.get("tool_is_error", FLAG, False),
        tool_duration_ms=fields.get("tool_duration_ms", OPTIONAL_COUNT, None),
    )


def _check_tree(messages: list[tuple[str, StoredMessage]], problems: Problems) -> list[StoredMessage] | None:
    """Return the messages parents first, or None after naming duplicate ids, dangling parents, cycles."""
    seen: dict[str, str] = {}
    ok = True
    for path, message in messages:
        if message.id in seen:
            problems.add(
                f"{path}.id",
                f"{message.id!r} is used twice in this conversation (also at {seen[message.id]})",
            )
            ok = False
        seen.setdefault(message.id, path)
    for path, message in messages:
        if message.parent_id is not None and message.parent_id not in seen:
            problems.add(f"{path}.parent_id", f"{message.parent_id!r} does not exist in this conversation")
            ok = False
    if not ok:
        return None
    ordered, looped = parents_first([message for _, message in messages])
    for message in looped:
        problems.add(f"{seen[message.id]}.parent_id", f"the parent chain of {message.id!r} loops (a cycle)")
    return ordered if not looped else None


def read_conversation(
    value: Any, path: str, problems: Problems, version: int = FORMAT_VERSION
) -> ConversationBundle | None:
    """Return the conversation in ``value`` with its checked tree, or None after recording problems.

    Args:
        version: the file's format version.
    """
    if (obj := object_at(value, path, problems)) is None:
        return None
    fields = Fields(obj, path, problems)
    conversation = Conversation(
        id=fields.get("id", UUID),
        title=fields.get("title", TEXT),
        created_at=fields.get("created_at", TIMESTAMP),
        updated_at=fields.get("updated_at", TIMESTAMP),
        pinned=fields.get("pinned", FLAG, False),
        folder_id=fields.get("folder_id", OPTIONAL_UUID, None),
        archived=fields.get("archived", FLAG, False),
        deleted_at=fields.get("deleted_at", OPTIONAL_TIMESTAMP, None),
        provider_id=fields.get("provider_id", OPTIONAL_TEXT, None),
        model=fields.get("model", OPTIONAL_TEXT, None),
        system_prompt=fields.get("system_prompt", TEXT, ""),
        params=fields.get("params", OBJECT, {}),
        current_leaf_id=fields.get("current_leaf_id", OPTIONAL_UUID, None),
    )
    if isinstance(conversation.params, dict):
        params = Fields(conversation.params, f"{path}.params", problems)
        for name, check in PARAMS.items():
            params.get(name, check, None)
        fields.ok &= params.ok
    stated_hash = fields.get("content_hash", SHA256, None)
    checked: list[tuple[str, StoredMessage]] = []
    for index, item in enumerate(fields.get("messages", LIST) or []):
        item_path = f"{path}.messages[{index}]"
        message = read_message(item, item_path, conversation.id, problems, version)
        if message is None:
            fields.ok = False
        else:
            checked.append((item_path, message))
    if not fields.ok:
        return None
    ordered = _check_tree(checked, problems)
    if ordered is None:
        return None
    leaf = conversation.current_leaf_id
    if leaf is not None and all(message.id != leaf for message in ordered):
        fields.problem("current_leaf_id", f"{leaf!r} is not a message of this conversation")
        return None
    content_hash = tree_content_hash(conversation.created_at, ordered)
    if stated_hash is not None and stated_hash != content_hash:
        fields.problem(
            "content_hash",
            "does not match the messages (the file was changed after export); "
            "remove the content_hash member to import the messages as they are",
        )
        return None
    return ConversationBundle(conversation, tuple(ordered), content_hash)
