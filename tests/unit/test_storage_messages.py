"""MessageRepository: the tree, the active branch, streaming saves, finishing, deleting, recovery."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import NotFound, StorageError
from desktop_llm.storage.lock import DataFolderLock
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation


@pytest.fixture
def messages(db: Database) -> MessageRepository:
    return MessageRepository(db)


@pytest.fixture
def conversation(db: Database) -> Conversation:
    return ConversationRepository(db).create("chat")


def _leaf(db: Database, conversation: Conversation) -> str | None:
    return ConversationRepository(db).get(conversation.id).current_leaf_id


def _contents(path: list) -> list[str]:
    return [message.content for message in path]


def _searchable(db: Database, word: str) -> int:
    return db.conn.execute(
        "SELECT count(*) FROM message_search WHERE message_search MATCH ?", (word,)
    ).fetchone()[0]


def _index_pages(db: Database) -> list[tuple[int, bytes]]:
    return db.conn.execute("SELECT id, block FROM message_search_data ORDER BY id").fetchall()


def test_append_links_the_message_and_makes_it_the_leaf(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    question = messages.append(conversation.id, parent_id=None, role="user", content="Hi?")
    answer = messages.append(
        conversation.id, parent_id=question.id, role="assistant", content="Hello!", provider_id="p", model="m"
    )
    assert messages.get(answer.id) == answer
    assert (answer.parent_id, answer.provider_id, answer.model, answer.status) == (
        question.id,
        "p",
        "m",
        "complete",
    )
    assert _leaf(db, conversation) == answer.id
    assert _contents(messages.active_path(conversation.id)) == ["Hi?", "Hello!"]


def test_append_rejects_bad_input(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    other = ConversationRepository(db).create("other")
    foreign = messages.append(other.id, parent_id=None, role="user", content="x")
    with pytest.raises(NotFound, match="conversation"):
        messages.append("missing", parent_id=None, role="user", content="x")
    with pytest.raises(NotFound, match="message"):
        messages.append(conversation.id, parent_id="missing", role="user", content="x")
    with pytest.raises(StorageError, match="another conversation"):
        messages.append(conversation.id, parent_id=foreign.id, role="user", content="x")
    with pytest.raises(ValueError, match="role"):
        messages.append(conversation.id, parent_id=None, role="robot", content="x")
    with pytest.raises(ValueError, match="status"):
        messages.append(conversation.id, parent_id=None, role="user", content="x", status="done")
    assert messages.tree(conversation.id) == []


def test_streaming_saves_are_plain_updates_and_search_waits_for_finish(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    question = messages.append(conversation.id, parent_id=None, role="user", content="tell me about zebras")
    reply = messages.append(
        conversation.id, parent_id=question.id, role="assistant", content="", status="streaming"
    )
    index_before = _index_pages(db)
    changes_before = db.conn.total_changes
    messages.update_streaming(reply.id, "Zebras are striped", reasoning="thinking about zebras")
    assert db.conn.total_changes - changes_before == 1  # the one row, nothing from a trigger
    assert _index_pages(db) == index_before
    saved = messages.get(reply.id)
    assert (saved.content, saved.reasoning, saved.status) == (
        "Zebras are striped",
        "thinking about zebras",
        "streaming",
    )
    assert _searchable(db, "striped") == 0

    done = messages.finish(
        reply.id,
        status="complete",
        content="Zebras are striped horses",
        finish_reason="stop",
        usage=(120, 30, 100, 7),
        latency_ms=850,
    )
    assert (done.status, done.content, done.finish_reason, done.latency_ms) == (
        "complete",
        "Zebras are striped horses",
        "stop",
        850,
    )
    assert (done.input_tokens, done.output_tokens, done.cached_input_tokens, done.reasoning_tokens) == (
        120,
        30,
        100,
        7,
    )
    assert _searchable(db, "horses") == 1
    assert _index_pages(db) != index_before
    with pytest.raises(StorageError, match="no longer streaming"):
        messages.update_streaming(reply.id, "late text")
    with pytest.raises(NotFound):
        messages.update_streaming("missing", "x")


def test_finish_records_errors_and_stops(messages: MessageRepository, conversation: Conversation) -> None:
    reply = messages.append(conversation.id, parent_id=None, role="assistant", content="", status="streaming")
    failed = messages.finish(
        reply.id, status="error", content="partial", error="Rate limited: try again in 20 s"
    )
    assert (failed.status, failed.error, failed.input_tokens) == (
        "error",
        "Rate limited: try again in 20 s",
        None,
    )
    with pytest.raises(ValueError, match="status"):
        messages.finish(reply.id, status="streaming", content="x")
    with pytest.raises(NotFound):
        messages.finish("missing", status="stopped", content="x")


def test_branches_siblings_and_switching(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    root = messages.append(conversation.id, parent_id=None, role="user", content="Q")
    first = messages.append(conversation.id, parent_id=root.id, role="assistant", content="A1")
    follow = messages.append(conversation.id, parent_id=first.id, role="user", content="Q2")
    deep_old = messages.append(conversation.id, parent_id=follow.id, role="assistant", content="A2-old")
    deep_new = messages.append(conversation.id, parent_id=follow.id, role="assistant", content="A2-new")
    second = messages.append(conversation.id, parent_id=root.id, role="assistant", content="A1-retry")
    assert _contents(messages.active_path(conversation.id)) == ["Q", "A1-retry"]
    assert [m.id for m in messages.siblings(first.id)] == [first.id, second.id]
    assert [m.id for m in messages.siblings(deep_new.id)] == [deep_old.id, deep_new.id]
    assert [m.id for m in messages.siblings(root.id)] == [root.id]

    path = messages.switch_branch(conversation.id, first.id)
    assert _contents(path) == ["Q", "A1", "Q2", "A2-new"]  # follows the newest replies down
    assert _leaf(db, conversation) == deep_new.id
    assert _contents(messages.switch_branch(conversation.id, deep_old.id)) == ["Q", "A1", "Q2", "A2-old"]
    assert _contents(messages.active_path(conversation.id)) == ["Q", "A1", "Q2", "A2-old"]

    other = ConversationRepository(db).create("other")
    with pytest.raises(NotFound):
        messages.switch_branch(other.id, first.id)


def test_tree_returns_every_branch(messages: MessageRepository, conversation: Conversation) -> None:
    root = messages.append(conversation.id, parent_id=None, role="user", content="Q")
    messages.append(conversation.id, parent_id=root.id, role="assistant", content="A")
    messages.append(conversation.id, parent_id=root.id, role="assistant", content="B")
    assert sorted(_contents(messages.tree(conversation.id))) == ["A", "B", "Q"]
    with pytest.raises(NotFound):
        messages.tree("missing")


def test_empty_conversation_has_an_empty_path(
    messages: MessageRepository, conversation: Conversation
) -> None:
    assert messages.active_path(conversation.id) == []
    with pytest.raises(NotFound):
        messages.active_path("missing")


def test_delete_removes_the_subtree_and_the_leaf_falls_back(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    root = messages.append(conversation.id, parent_id=None, role="user", content="Q")
    keep = messages.append(conversation.id, parent_id=root.id, role="assistant", content="keep")
    doomed = messages.append(conversation.id, parent_id=root.id, role="assistant", content="doomed reply")
    messages.append(conversation.id, parent_id=doomed.id, role="user", content="under doomed")
    assert _searchable(db, "doomed") == 2

    messages.delete(doomed.id)
    assert _contents(messages.tree(conversation.id)) == ["Q", "keep"]
    assert _leaf(db, conversation) == root.id
    assert _searchable(db, "doomed") == 0

    messages.switch_branch(conversation.id, keep.id)
    messages.delete(root.id)
    assert messages.tree(conversation.id) == []
    assert _leaf(db, conversation) is None
    with pytest.raises(NotFound):
        messages.delete(root.id)


def test_deleting_a_branch_off_the_active_path_keeps_the_leaf(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    root = messages.append(conversation.id, parent_id=None, role="user", content="Q")
    old = messages.append(conversation.id, parent_id=root.id, role="assistant", content="old")
    new = messages.append(conversation.id, parent_id=root.id, role="assistant", content="new")
    messages.delete(old.id)
    assert _leaf(db, conversation) == new.id


def test_delete_handles_a_chain_deeper_than_sqlite_cascades(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    parent = None
    with db.transaction():
        for index in range(1200):
            parent = messages.append(conversation.id, parent_id=parent, role="user", content=f"m{index}").id
    first = messages.tree(conversation.id)[0]
    assert len(messages.active_path(conversation.id)) == 1200
    messages.delete(first.id)
    assert messages.tree(conversation.id) == []


def test_pin_a_message(messages: MessageRepository, conversation: Conversation) -> None:
    message = messages.append(conversation.id, parent_id=None, role="user", content="remember this")
    messages.set_pinned(message.id, True)
    assert messages.get(message.id).pinned
    messages.set_pinned(message.id, False)
    assert not messages.get(message.id).pinned
    with pytest.raises(NotFound):
        messages.set_pinned("missing", True)


def test_only_the_lock_holder_recovers_interrupted_replies(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    question = messages.append(conversation.id, parent_id=None, role="user", content="go")
    reply = messages.append(
        conversation.id, parent_id=question.id, role="assistant", content="", status="streaming"
    )
    messages.update_streaming(reply.id, "half an answer about penguins")

    with pytest.raises(StorageError, match="lock"):
        messages.recover_interrupted()
    assert messages.get(reply.id).status == "streaming"

    with DataFolderLock(db.path.parent):
        assert messages.recover_interrupted() == 1
        assert messages.recover_interrupted() == 0
    recovered = messages.get(reply.id)
    assert (recovered.status, recovered.content) == ("interrupted", "half an answer about penguins")
    assert _searchable(db, "penguins") == 1  # it left 'streaming', so it is indexed now


class TreeModel:
    """A plain-Python model of a conversation's tree and its current leaf."""

    def __init__(self) -> None:
        self.parent: dict[str, str | None] = {}
        self.order: list[str] = []  # creation order
        self.leaf: str | None = None

    def append(self, message_id: str, parent: str | None) -> None:
        self.parent[message_id] = parent
        self.order.append(message_id)
        self.leaf = message_id

    def children(self, message_id: str | None) -> list[str]:
        return [child for child in self.order if self.parent[child] == message_id]

    def switch(self, message_id: str) -> None:
        while children := self.children(message_id):
            message_id = children[-1]
        self.leaf = message_id

    def delete(self, message_id: str) -> None:
        doomed, frontier = set(), [message_id]
        while frontier:
            current = frontier.pop()
            doomed.add(current)
            frontier.extend(self.children(current))
        if self.leaf in doomed:
            self.leaf = self.parent[message_id]
        self.order = [kept for kept in self.order if kept not in doomed]
        for gone in doomed:
            del self.parent[gone]

    def path(self) -> list[str]:
        path, current = [], self.leaf
        while current is not None:
            path.append(current)
            current = self.parent[current]
        return path[::-1]


operations = st.lists(
    st.tuples(st.sampled_from(["append", "append", "append", "switch", "delete"]), st.integers(0, 1000)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(steps=operations)
def test_tree_operations_match_a_simple_model(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder, Database.open(Path(folder) / "db.sqlite3") as db:
        conversation = ConversationRepository(db).create("model")
        messages = MessageRepository(db)
        model = TreeModel()
        for operation, pick in steps:
            existing = model.order
            if operation == "append":
                parent = None if not existing or pick % 4 == 0 else existing[pick % len(existing)]
                role = ("user", "assistant")[pick % 2]
                message = messages.append(
                    conversation.id, parent_id=parent, role=role, content=f"text {pick}"
                )
                model.append(message.id, parent)
            elif existing and operation == "switch":
                target = existing[pick % len(existing)]
                model.switch(target)
                assert [m.id for m in messages.switch_branch(conversation.id, target)] == model.path()
            elif existing and operation == "delete":
                target = existing[pick % len(existing)]
                messages.delete(target)
                model.delete(target)
            assert [m.id for m in messages.active_path(conversation.id)] == model.path()
            assert _leaf(db, conversation) == model.leaf
            for message_id in model.order:
                assert [m.id for m in messages.siblings(message_id)] == model.children(
                    model.parent[message_id]
                )
        assert sorted(m.id for m in messages.tree(conversation.id)) == sorted(model.order)
        assert db.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        db.conn.execute("INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)")
