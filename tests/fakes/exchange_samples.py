"""A small but complete store for export/import tests, and a way to compare stores.

``populate`` writes everything the export format carries through the real repositories:
folders, branches, usage, reasoning, errors, a streaming reply, pinned/archived/trashed
conversations, an empty one, CJK text, templates with several versions.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.templates import TemplateRepository

CONTENT_TABLES = ("folders", "conversations", "messages", "templates", "template_versions")


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
            columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})") if row[1] != "seq"]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            contents[table] = sorted(rows, key=repr)
        return contents
    finally:
        conn.close()
