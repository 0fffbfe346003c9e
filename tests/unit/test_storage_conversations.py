"""ConversationRepository: ordering and paging, filters, settings, trash and purge, folders."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desktop_llm.storage.conversations import ANY, ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import StoredMessage


@pytest.fixture
def repo(db: Database) -> ConversationRepository:
    return ConversationRepository(db)


def _titles(conversations: list) -> list[str]:
    return [conversation.title for conversation in conversations]


def _touch(db: Database, conversation_id: str, when: str) -> None:
    db.conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (when, conversation_id))


def test_create_and_get_round_trip(repo: ConversationRepository) -> None:
    created = repo.create(
        "Plans",
        provider_id="p1",
        model="gpt-4o-mini",
        system_prompt="Be brief.",
        params={"temperature": 0.2, "max_tokens": 500, "context": {"strategy": "last_n", "n": 20}},
    )
    assert repo.get(created.id) == created
    assert created.created_at == created.updated_at
    assert created.created_at.endswith("Z") and len(created.created_at) == len("2026-11-27T19:40:59.123Z")
    assert (created.pinned, created.archived, created.deleted_at, created.current_leaf_id) == (
        False,
        False,
        None,
        None,
    )


def test_get_missing_raises_not_found(repo: ConversationRepository) -> None:
    with pytest.raises(NotFound, match="conversation"):
        repo.get("nope")


def test_list_puts_pinned_first_then_latest_activity(db: Database, repo: ConversationRepository) -> None:
    ids = {title: repo.create(title).id for title in ("old", "new", "pinned-old", "middle")}
    for title, when in (
        ("old", "2026-01-01"),
        ("new", "2026-03-01"),
        ("pinned-old", "2025-01-01"),
        ("middle", "2026-02-01"),
    ):
        _touch(db, ids[title], when + "T00:00:00.000Z")
    repo.set_pinned(ids["pinned-old"], True)
    assert _titles(repo.list()) == ["pinned-old", "new", "middle", "old"]
    assert _titles(repo.list(limit=2)) == ["pinned-old", "new"]
    assert _titles(repo.list(limit=2, offset=2)) == ["middle", "old"]
    assert repo.count() == 4


def test_appending_a_message_moves_the_conversation_up(db: Database, repo: ConversationRepository) -> None:
    first, second = repo.create("first"), repo.create("second")
    _touch(db, first.id, "2000-01-01T00:00:00.000Z")
    _touch(db, second.id, "2001-01-01T00:00:00.000Z")
    assert _titles(repo.list()) == ["second", "first"]
    MessageRepository(db).append(first.id, parent_id=None, role="user", content="hello again")
    assert _titles(repo.list()) == ["first", "second"]


def test_rename_pin_archive_do_not_reorder_by_activity(db: Database, repo: ConversationRepository) -> None:
    a = repo.create("a")
    repo.create("b")
    _touch(db, a.id, "2000-01-01T00:00:00.000Z")
    before = repo.get(a.id).updated_at
    repo.rename(a.id, "renamed")
    repo.set_archived(a.id, True)
    repo.set_archived(a.id, False)
    assert repo.get(a.id).updated_at == before
    assert _titles(repo.list()) == ["b", "renamed"]


def test_archived_are_hidden_unless_asked(repo: ConversationRepository) -> None:
    kept, archived = repo.create("kept"), repo.create("archived")
    repo.set_archived(archived.id, True)
    assert _titles(repo.list()) == ["kept"]
    assert set(_titles(repo.list(include_archived=True))) == {"kept", "archived"}
    assert repo.count() == 1 and repo.count(include_archived=True) == 2
    assert repo.get(archived.id).archived and not repo.get(kept.id).archived


def test_trash_restore_purge_and_empty_trash(db: Database, repo: ConversationRepository) -> None:
    live, binned, also_binned = repo.create("live"), repo.create("binned"), repo.create("also")
    MessageRepository(db).append(binned.id, parent_id=None, role="user", content="gone soon")
    repo.trash(binned.id)
    repo.trash(also_binned.id)
    assert repo.get(binned.id).deleted_at is not None
    assert _titles(repo.list()) == ["live"]
    assert set(_titles(repo.list(trashed=True))) == {"binned", "also"}
    assert repo.count(trashed=True) == 2

    repo.restore(also_binned.id)
    assert set(_titles(repo.list())) == {"live", "also"}

    assert repo.empty_trash() == 1
    with pytest.raises(NotFound):
        repo.get(binned.id)
    assert db.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0

    repo.purge(live.id)
    with pytest.raises(NotFound):
        repo.purge(live.id)
    assert _titles(repo.list()) == ["also"]


def test_purge_removes_a_very_long_reply_chain(db: Database, repo: ConversationRepository) -> None:
    # Deeper than SQLite's 1000-level limit on cascading deletes.
    conversation = repo.create("long")
    messages = MessageRepository(db)
    parent = None
    with db.transaction():
        for index in range(1500):
            parent = messages.append(conversation.id, parent_id=parent, role="user", content=f"m{index}").id
    repo.purge(conversation.id)
    assert db.conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_update_settings_changes_only_what_is_given(repo: ConversationRepository) -> None:
    created = repo.create("c", provider_id="p", model="m1", system_prompt="sys", params={"temperature": 1})
    updated = repo.update_settings(created.id, model="m2", params={"temperature": 0})
    assert (updated.provider_id, updated.model, updated.system_prompt, updated.params) == (
        "p",
        "m2",
        "sys",
        {"temperature": 0},
    )
    cleared = repo.update_settings(created.id, provider_id=None)
    assert cleared.provider_id is None and cleared.model == "m2"
    with pytest.raises(NotFound):
        repo.update_settings("missing", model="x")


def test_every_setter_reports_a_missing_conversation(repo: ConversationRepository) -> None:
    for call in (
        lambda: repo.rename("x", "t"),
        lambda: repo.set_pinned("x", True),
        lambda: repo.set_archived("x", True),
        lambda: repo.move_to_folder("x", None),
        lambda: repo.trash("x"),
        lambda: repo.restore("x"),
    ):
        with pytest.raises(NotFound):
            call()


def test_folders_group_and_release_conversations(repo: ConversationRepository) -> None:
    work, home = repo.create_folder("Work"), repo.create_folder("home")
    assert [folder.name for folder in repo.list_folders()] == ["home", "Work"]  # by name, any case
    report, loose = repo.create("report", folder_id=work.id), repo.create("loose")
    moved = repo.create("moved")
    repo.move_to_folder(moved.id, home.id)

    assert _titles(repo.list(folder_id=work.id)) == ["report"]
    assert _titles(repo.list(folder_id=None)) == ["loose"]
    assert set(_titles(repo.list(folder_id=ANY))) == {"report", "loose", "moved"}
    assert repo.count(folder_id=home.id) == 1

    repo.rename_folder(work.id, "Office")
    assert {folder.name for folder in repo.list_folders()} == {"Office", "home"}
    repo.delete_folder(work.id)
    assert repo.get(report.id).folder_id is None
    assert set(_titles(repo.list(folder_id=None))) == {"report", "loose"}
    assert repo.get(loose.id).folder_id is None

    for call in (
        lambda: repo.move_to_folder(moved.id, "no-such-folder"),
        lambda: repo.create("x", folder_id="no-such-folder"),
        lambda: repo.rename_folder("no-such-folder", "x"),
        lambda: repo.delete_folder("no-such-folder"),
    ):
        with pytest.raises(NotFound, match="folder"):
            call()


def test_insert_keeps_ids_timestamps_and_a_leaf_written_later(
    db: Database, repo: ConversationRepository
) -> None:
    original = repo.create("original", params={"k": [1, 2]})
    copy_id = "0b7a9f5e-5c1b-4f4e-9f7d-2f6d1f0b9a11"
    leaf = StoredMessage(
        id="5d0c8b43-3a8e-4b1a-9a43-7f0f2b0e8c55",
        conversation_id=copy_id,
        parent_id=None,
        role="user",
        content="imported",
        reasoning="",
        status="complete",
        error=None,
        provider_id=None,
        model=None,
        finish_reason=None,
        input_tokens=None,
        output_tokens=None,
        cached_input_tokens=None,
        reasoning_tokens=None,
        latency_ms=None,
        created_at="2020-05-05T05:05:05.005Z",
        pinned=False,
    )
    with db.transaction():
        inserted = repo.insert(replace(original, id=copy_id, title="copy", current_leaf_id=leaf.id))
        MessageRepository(db).insert(leaf)
    assert repo.get(copy_id) == inserted
    assert MessageRepository(db).active_path(copy_id) == [leaf]
