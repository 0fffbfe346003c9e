"""Import a desktop-llm export or a ChatGPT export: check everything, then write it all in one transaction.

The file is read twice, one conversation at a time, so a 200 MB export fits in little memory:

1. *Scan*: check every value (problems named precisely) and note each conversation's ids,
   content hash and attachments; attachment bytes are decoded and hashed as they stream by,
   not kept. Any problem raises :class:`ImportFailed` before the database is touched.
2. *Plan* (in one read snapshot): skip conversations whose content hash is already
   stored or came earlier in the file; give new ids to conversations and messages whose ids are
   taken; reuse identical folders, skip identical templates. Nothing is ever overwritten.
3. *Write*: read the file again and insert what the plan keeps, attachment bytes included
   (only those a kept conversation refers to and the database lacks), in short transactions,
   hidden until the last one shows everything (import_writer.py). If the file changed between
   the two readings, or anything fails, what was written is deleted again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.bundles import AttachmentBlob, ConversationBundle, TemplateBundle
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import ImportFailed
from desktop_llm.storage.export_json import load_conversation, read_snapshot
from desktop_llm.storage.import_reader import read_items
from desktop_llm.storage.import_source import DEFAULT_LIMITS, ImportLimits, ImportSource, detect_source
from desktop_llm.storage.import_writer import BATCH_MESSAGES, HiddenImport, remove_abandoned
from desktop_llm.storage.records import Conversation, Folder, StoredMessage
from desktop_llm.storage.templates import TemplateRepository
from desktop_llm.storage.timeutil import new_id
from desktop_llm.storage.validation import Problems

_ID_BATCH = 900  # ids per "already taken?" query


@dataclass(frozen=True)
class ImportResult:
    """What an import did: conversations imported, skipped as identical, and given new ids."""

    format: str
    imported: int
    skipped: int
    renamed: int
    messages: int
    folders: int
    templates: int


@dataclass(frozen=True)
class _Seen:
    """What the scan keeps of one conversation: enough to plan, not its text."""

    path: str
    id: str
    created_at: str
    message_ids: tuple[str, ...]
    content_hash: str
    attachments: frozenset[str] = frozenset()  # the sha256 of every file its messages carry


@dataclass
class _Scan:
    folders: list[Folder] = field(default_factory=list)
    templates: list[TemplateBundle] = field(default_factory=list)
    conversations: list[_Seen] = field(default_factory=list)
    blobs: dict[str, int] = field(default_factory=dict)  # sha256 -> size, for the file's attachments


@dataclass(frozen=True)
class _Decision:
    """For one conversation of the file: skip it, or the id to use and whether its messages need new ids."""

    skip: bool
    conversation_id: str = ""
    new_message_ids: bool = False


@dataclass
class _Plan:
    folder_ids: dict[str, str] = field(default_factory=dict)  # id in the file -> id in the database
    new_folders: list[Folder] = field(default_factory=list)
    new_templates: list[TemplateBundle] = field(default_factory=list)
    decisions: list[_Decision] = field(default_factory=list)
    blobs: set[str] = field(default_factory=set)  # attachments to write: wanted and not yet stored


def import_file(
    db: Database,
    path: Path,
    *,
    limits: ImportLimits = DEFAULT_LIMITS,
    batch_messages: int = BATCH_MESSAGES,
    after_batch: Callable[[], None] | None = None,
) -> ImportResult:
    """Import ``path`` (desktop-llm JSON, ChatGPT ``conversations.json`` or its .zip) into ``db``.

    Written in short transactions, hidden until the end (see import_writer.py): another
    process writing meanwhile waits a moment at most, and sees the import all at once or not
    at all.

    Args:
        batch_messages: messages written per transaction.
        after_batch: called after each transaction of the write pass (for tests).

    Raises:
        ImportFailed: the input is unreadable or invalid; ``.problems`` names each problem and
            nothing was changed.
    """
    source = detect_source(Path(path), limits)
    try:
        scan = _scan(source, limits)
        remove_abandoned(db)
        with read_snapshot(db):  # a plan needs no write lock: the hidden writes never clash with it
            plan = _plan(db, scan)
        writer = HiddenImport(db, plan.blobs, batch_messages=batch_messages, after_batch=after_batch)
        try:
            return _write(db, source, limits, scan, plan, writer)
        except BaseException:
            writer.discard()
            raise
    except sqlite3.IntegrityError as error:
        # The plan was made in a snapshot; another writer took one of its ids since.
        raise ImportFailed(
            [f"another program wrote to the database during the import ({error}); try again"],
            source=source.describe(),
        ) from error
    except RecursionError:
        # The reader refuses JSON nested deeper than it can parse; a value just below that
        # limit can still be too deep to copy or write. The transaction was rolled back.
        raise ImportFailed(
            ["a value is nested too deeply to import (lists and objects inside each other)"],
            source=source.describe(),
        ) from None


# --- 1. scan -----------------------------------------------------------------------------------


def _scan(source: ImportSource, limits: ImportLimits) -> _Scan:
    problems = Problems()
    scan = _Scan()
    folder_refs: list[tuple[str, str]] = []
    references: list[tuple[str, ConversationBundle]] = []
    for path, item in read_items(source, limits, problems):
        if isinstance(item, AttachmentBlob):
            scan.blobs[item.sha256] = item.size
        elif isinstance(item, Folder):
            scan.folders.append(item)
        elif isinstance(item, TemplateBundle):
            scan.templates.append(item)
        else:
            conversation = item.conversation
            if conversation.folder_id is not None:
                folder_refs.append((path, conversation.folder_id))
            attachments = frozenset(ref.sha256 for message in item.messages for ref in message.attachments)
            if attachments:
                references.append((path, item))
            scan.conversations.append(
                _Seen(
                    path,
                    conversation.id,
                    conversation.created_at,
                    tuple(message.id for message in item.messages),
                    item.content_hash,
                    attachments,
                )
            )
    if not problems:
        _check_references(scan, folder_refs, problems)
        _check_attachments(scan.blobs, references, problems)
    if problems:
        raise ImportFailed(problems.as_list(), source=source.describe())
    return scan


def _check_references(scan: _Scan, folder_refs: list[tuple[str, str]], problems: Problems) -> None:
    for name, ids in (
        ("folders", [folder.id for folder in scan.folders]),
        ("templates", [bundle.template.id for bundle in scan.templates]),
    ):
        for index, repeated in _repeats(ids):
            problems.add(f"{name}[{index}].id", f"{repeated!r} is used by an earlier item too")
    folder_ids = {folder.id for folder in scan.folders}
    for path, folder_id in folder_refs:
        if folder_id not in folder_ids:
            problems.add(f"{path}.folder_id", f"{folder_id!r} is not one of the file's folders")


def _check_attachments(
    blobs: dict[str, int], references: list[tuple[str, ConversationBundle]], problems: Problems
) -> None:
    """Name every attachment a message refers to that the file does not carry (or with another size)."""
    for path, bundle in references:
        for message in bundle.messages:
            for ref in message.attachments:
                size = blobs.get(ref.sha256)
                where = f"{path}: message {message.id!r}, attachment {ref.name!r}"
                if size is None:
                    problems.add(where, f"its bytes (sha256 {ref.sha256}) are not in the file's attachments")
                elif size != ref.size:
                    problems.add(where, f"size {ref.size:,} does not match the {size:,} bytes in the file")


def _repeats(ids: list[str]) -> Iterable[tuple[int, str]]:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            yield index, value
        seen.add(value)


# --- 2. plan -----------------------------------------------------------------------------------


def _taken(db: Database, table: str, ids: list[str]) -> set[str]:
    """Return which of ``ids`` are already in ``table`` (messages or conversations)."""
    taken: set[str] = set()
    for start in range(0, len(ids), _ID_BATCH):
        batch = json.dumps(ids[start : start + _ID_BATCH])
        rows = db.conn.execute(
            f"SELECT id FROM {table} WHERE id IN (SELECT value FROM json_each(?))", (batch,)
        )
        taken.update(row[0] for row in rows)
    return taken


def _stored_hashes(db: Database, scan: _Scan) -> set[str]:
    """Return the content hashes of stored conversations that could equal one in the file.

    Only conversations with the same start time and message count can be identical, so only
    those are read and hashed.
    """
    wanted = {(seen.created_at, len(seen.message_ids)) for seen in scan.conversations}
    rows = db.conn.execute(
        "SELECT c.id, c.created_at, count(m.id) AS size FROM conversations AS c "
        "LEFT JOIN messages AS m ON m.conversation_id = c.id GROUP BY c.id"
    ).fetchall()
    repository = ConversationRepository(db)
    return {
        load_conversation(db, repository.get(row["id"])).content_hash
        for row in rows
        if (row["created_at"], row["size"]) in wanted
    }


def _plan_folders(db: Database, scan: _Scan, plan: _Plan) -> None:
    stored = {folder.id: folder for folder in ConversationRepository(db).list_folders()}
    for folder in scan.folders:
        existing = stored.get(folder.id)
        if existing is not None and existing.name == folder.name:
            plan.folder_ids[folder.id] = folder.id  # the same folder: reuse it
            continue
        kept = folder if existing is None else dataclasses.replace(folder, id=new_id())
        plan.folder_ids[folder.id] = kept.id
        plan.new_folders.append(kept)


def _plan_templates(db: Database, scan: _Scan, plan: _Plan) -> None:
    repository = TemplateRepository(db)
    stored = {template.id for template in repository.list()}
    for bundle in scan.templates:
        if bundle.template.id in stored:
            bodies = [version.body for version in repository.versions(bundle.template.id)]
            if bodies == [version.body for version in bundle.versions]:
                continue  # the same template: skip it
            bundle = _template_with_id(bundle, new_id())
        plan.new_templates.append(bundle)


def _template_with_id(bundle: TemplateBundle, template_id: str) -> TemplateBundle:
    return TemplateBundle(
        dataclasses.replace(bundle.template, id=template_id),
        tuple(dataclasses.replace(version, template_id=template_id) for version in bundle.versions),
    )


def _plan(db: Database, scan: _Scan) -> _Plan:
    plan = _Plan()
    _plan_folders(db, scan, plan)
    _plan_templates(db, scan, plan)
    known_hashes = _stored_hashes(db, scan)
    fresh = [seen for seen in scan.conversations if seen.content_hash not in known_hashes]
    taken_conversations = _taken(db, "conversations", [seen.id for seen in fresh])
    taken_messages = _taken(db, "messages", [i for seen in fresh for i in seen.message_ids])
    for seen in scan.conversations:
        if seen.content_hash in known_hashes:
            plan.decisions.append(_Decision(skip=True))
            continue
        known_hashes.add(seen.content_hash)  # a second copy later in the file is skipped
        plan.blobs.update(seen.attachments)
        clash = seen.id in taken_conversations
        messages_clash = any(message_id in taken_messages for message_id in seen.message_ids)
        plan.decisions.append(_Decision(False, new_id() if clash else seen.id, messages_clash))
        taken_conversations.add(seen.id)
        if not messages_clash:
            taken_messages.update(seen.message_ids)
    stored = AttachmentRepository(db)
    plan.blobs = {digest for digest in plan.blobs if not stored.has_blob(digest)}
    return plan


# --- 3. write ----------------------------------------------------------------------------------


def _with_final_ids(
    bundle: ConversationBundle, decision: _Decision, folder_ids: dict[str, str]
) -> tuple[Conversation, list[StoredMessage]]:
    """Return the conversation and its messages under the ids the plan chose."""
    original = bundle.conversation
    ids = {m.id: new_id() for m in bundle.messages} if decision.new_message_ids else {}
    leaf = original.current_leaf_id
    conversation = dataclasses.replace(
        original,
        id=decision.conversation_id,
        folder_id=folder_ids.get(original.folder_id) if original.folder_id else None,
        current_leaf_id=ids.get(leaf, leaf) if leaf else None,
    )
    messages = [
        dataclasses.replace(
            message,
            id=ids.get(message.id, message.id),
            conversation_id=conversation.id,
            parent_id=ids.get(message.parent_id, message.parent_id) if message.parent_id else None,
        )
        for message in bundle.messages
    ]
    return conversation, messages


def _write(
    db: Database, source: ImportSource, limits: ImportLimits, scan: _Scan, plan: _Plan, writer: HiddenImport
) -> ImportResult:
    problems = Problems()
    index = imported = renamed = message_count = 0
    changed = False
    with contextlib.closing(read_items(source, limits, problems, keep_attachments=True)) as items:
        for _, item in items:
            if isinstance(item, AttachmentBlob):
                writer.add_blob(item)
                continue
            if not isinstance(item, ConversationBundle):
                continue
            if (
                index >= len(scan.conversations)
                or scan.conversations[index].content_hash != item.content_hash
            ):
                changed = True
                break
            decision = plan.decisions[index]
            index += 1
            if decision.skip:
                continue
            writer.add_conversation(*_with_final_ids(item, decision, plan.folder_ids))
            imported += 1
            message_count += len(item.messages)
            renamed += decision.conversation_id != item.conversation.id or decision.new_message_ids
    if changed or problems or writer.missing_blobs or index != len(scan.conversations):
        # The caller deletes what was written, hidden: nothing of the half-read file shows.
        raise ImportFailed(
            [f"{source.describe()} changed while it was being imported; try again"], source=source.describe()
        )
    writer.publish(plan.new_folders, plan.new_templates)
    return ImportResult(
        format=source.kind,
        imported=imported,
        skipped=len(scan.conversations) - imported,
        renamed=renamed,
        messages=message_count,
        folders=len(plan.new_folders),
        templates=len(plan.new_templates),
    )
