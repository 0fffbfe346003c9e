"""A small but complete store for export/import tests, and a way to compare stores.

``populate`` writes everything the export format carries through the real repositories:
folders, branches, usage, reasoning, errors, a streaming reply, pinned/archived/trashed
conversations, an empty one, CJK text, templates with several versions.
``populate_files_and_tools`` adds what format version 2 carries: attachments (the same bytes
in two conversations and twice in one message) and a tool exchange.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from desktop_llm.storage.attachments import AttachmentRepository
from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import StoredToolCall
from desktop_llm.storage.templates import TemplateRepository

CONTENT_TABLES = (
    "folders",
    "conversations",
    "messages",
    "templates",
    "template_versions",
    "attachment_blobs",
    "message_attachments",
)
# Columns that say when a row was written here, not what it holds.
_LOCAL_COLUMNS = {"seq", "created_at"}
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64 + b"\x00end"
NOTES = b"col1,col2\n1,2\n"


@dataclass(frozen=True)
class Sample:
    """Ids of the interesting parts of the populated store."""

    branched: str
    in_folder: str
    trashed: str
    empty: str
    folder: str
    template: str


def populate(db: Database) -> Sample:
    """Fill ``db`` with one of everything; return the ids tests look at."""
    conversations = ConversationRepository(db)
    messages = MessageRepository(db)
    work = conversations.create_folder("Work")
    conversations.create_folder("Empty folder")

    branched = conversations.create(
        "Capital of France", model="gpt-4o-mini", system_prompt="Be brief.", params={"temperature": 0.2}
    )
    question = messages.append(
        branched.id, parent_id=None, role="user", content="What is the capital of France?"
    )
    first = messages.append(
        branched.id, parent_id=question.id, role="assistant", content="", status="streaming"
    )
    messages.finish(
        first.id,
        status="complete",
        content="Paris.",
        reasoning="The user wants a city.",
        finish_reason="stop",
        usage=(21, 2, 0, 5),
        latency_ms=412,
    )
    second = messages.append(
        branched.id, parent_id=question.id, role="assistant", content="", status="streaming"
    )
    messages.finish(second.id, status="stopped", content="The capital of", usage=(21, 3, 16, 0))
    failed = messages.append(
        branched.id, parent_id=question.id, role="assistant", content="", status="streaming"
    )
    messages.finish(failed.id, status="error", content="", error="HTTP 529: overloaded")
    follow = messages.append(
        branched.id, parent_id=first.id, role="user", content="And of Japan? 日本の首都は?"
    )
    messages.append(branched.id, parent_id=follow.id, role="assistant", content="東京 (Tokyo).")
    messages.switch_branch(branched.id, second.id)
    messages.set_pinned(question.id, True)

    in_folder = conversations.create(
        "Release notes", folder_id=work.id, provider_id="provider-1", model="claude"
    )
    system = messages.append(in_folder.id, parent_id=None, role="system", content="You write release notes.")
    ask = messages.append(in_folder.id, parent_id=system.id, role="user", content="Summarise **v2**.")
    messages.append(
        in_folder.id, parent_id=ask.id, role="assistant", content="Half a reply", status="streaming"
    )
    conversations.set_pinned(in_folder.id, True)
    conversations.set_archived(in_folder.id, True)

    trashed = conversations.create("Old chat")
    messages.append(trashed.id, parent_id=None, role="user", content="forget me")
    conversations.trash(trashed.id)

    empty = conversations.create("")

    templates = TemplateRepository(db)
    template = templates.create(
        "Translate", description="Into any language", body={"user": "Translate {text} into {language}."}
    )
    templates.add_version(template.id, {"user": "Translate {text} into {language}, formally."}, note="formal")
    templates.set_default_version(template.id, 2)
    return Sample(branched.id, in_folder.id, trashed.id, empty.id, work.id, template.id)


def table_contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Return every row of the content tables (without the internal ``seq``), sorted."""
    conn = sqlite3.connect(path)
    try:
        contents = {}
        for table in CONTENT_TABLES:
            local = _LOCAL_COLUMNS if table == "attachment_blobs" else {"seq"}
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] not in local]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            contents[table] = sorted(rows, key=repr)
        return contents
    finally:
        conn.close()


@dataclass(frozen=True)
class FilesAndTools:
    """Ids of the conversations ``populate_files_and_tools`` wrote."""

    with_files: str
    with_tools: str


def populate_files_and_tools(db: Database) -> FilesAndTools:
    """Add a conversation with attachments and one with a tool exchange; return their ids."""
    conversations = ConversationRepository(db)
    messages = MessageRepository(db)
    files = AttachmentRepository(db)

    with_files = conversations.create("Look at these")
    with db.transaction():
        photo = files.store("photo.png", "image/png", PHOTO)
        again = files.store("same-photo.png", "image/png", PHOTO)
        notes = files.store("notes.csv", "text/csv", NOTES)
        question = messages.append(
            with_files.id,
            parent_id=None,
            role="user",
            content="What are these?",
            attachments=[photo, notes, again],
        )
    answer = messages.append(
        with_files.id, parent_id=question.id, role="assistant", content="A photo and a table."
    )
    messages.append(
        with_files.id, parent_id=answer.id, role="user", content="And this one?", attachments=[photo]
    )

    with_tools = conversations.create("Adding with a tool")
    ask = messages.append(with_tools.id, parent_id=None, role="user", content="What is 40 + 2?")
    asking = messages.append(
        with_tools.id, parent_id=ask.id, role="assistant", content="", status="streaming"
    )
    messages.finish(
        asking.id,
        status="complete",
        content="Let me add.",
        finish_reason="tool_calls",
        tool_calls=(
            StoredToolCall("call_1", "add_numbers", '{"a": 40, "b": 2}', {"thoughtSignature": "c2ln"}),
            StoredToolCall("call_2", "broken", "{not json"),
        ),
    )
    first = messages.append_tool_result(
        with_tools.id,
        parent_id=asking.id,
        tool_call_id="call_1",
        tool_name="add_numbers",
        content="42",
        server="calculator",
        duration_ms=7,
    )
    second = messages.append_tool_result(
        with_tools.id,
        parent_id=first.id,
        tool_call_id="call_2",
        tool_name="broken",
        content="The arguments were not valid JSON.",
        server="calculator",
        is_error=True,
    )
    messages.append(with_tools.id, parent_id=second.id, role="assistant", content="40 + 2 = 42.")
    other = conversations.create("The photo again")
    with db.transaction():
        messages.append(
            other.id,
            parent_id=None,
            role="user",
            content="Same photo",
            attachments=[files.store("p.png", "image/png", PHOTO)],
        )
    return FilesAndTools(with_files.id, with_tools.id)
