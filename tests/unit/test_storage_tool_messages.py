"""Tool calls on assistant messages and tool results as messages of the tree: stored, found, deleted."""

from __future__ import annotations

import sqlite3

import pytest

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation, StoredToolCall
from desktop_llm.storage.search import search

CALLS = (
    StoredToolCall(id="call_1", name="add_numbers", arguments='{"a": 40, "b": 2}'),
    StoredToolCall(
        id="call_2", name="weather", arguments='{"city": "Zürich"', provider_data={"thoughtSignature": "c2ln"}
    ),
)


@pytest.fixture
def messages(db: Database) -> MessageRepository:
    return MessageRepository(db)


@pytest.fixture
def conversation(db: Database) -> Conversation:
    return ConversationRepository(db).create("tools")


def _exchange(messages: MessageRepository, conversation: Conversation):
    question = messages.append(conversation.id, parent_id=None, role="user", content="What is 40 + 2?")
    asking = messages.append(
        conversation.id, parent_id=question.id, role="assistant", content="", status="streaming", model="m"
    )
    asking = messages.finish(
        asking.id, status="complete", content="Let me add.", finish_reason="tool_calls", tool_calls=CALLS
    )
    first = messages.append_tool_result(
        conversation.id,
        parent_id=asking.id,
        tool_call_id="call_1",
        tool_name="add_numbers",
        content="forty-two exactly",
        server="calculator",
        duration_ms=12,
    )
    second = messages.append_tool_result(
        conversation.id,
        parent_id=first.id,
        tool_call_id="call_2",
        tool_name="weather",
        content="arguments are not valid JSON",
        server="forecasts",
        is_error=True,
        duration_ms=0,
    )
    answer = messages.append(conversation.id, parent_id=second.id, role="assistant", content="42.")
    return question, asking, first, second, answer


def test_tool_calls_and_results_round_trip_in_the_active_path(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    _, asking, _, second, answer = _exchange(messages, conversation)

    path = messages.active_path(conversation.id)
    assert [m.role for m in path] == ["user", "assistant", "tool", "tool", "assistant"]
    assert path[1] == asking
    assert path[1].tool_calls == CALLS
    assert path[1].tool_calls[1].provider_data == {"thoughtSignature": "c2ln"}
    assert (path[2].tool_call_id, path[2].tool_name, path[2].tool_server, path[2].tool_is_error) == (
        "call_1",
        "add_numbers",
        "calculator",
        False,
    )
    assert path[2].tool_duration_ms == 12 and path[2].content == "forty-two exactly"
    assert path[3] == messages.get(second.id) == second
    assert (second.tool_is_error, second.tool_duration_ms) == (True, 0)
    assert path[4].tool_calls == () and path[4].tool_call_id is None
    assert ConversationRepository(db).get(conversation.id).current_leaf_id == answer.id
    assert messages.tree(conversation.id) == path


def test_tool_results_are_found_by_search(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    _, _, first, _, _ = _exchange(messages, conversation)
    hits = search(db, "forty-two")
    assert [(hit.conversation_id, hit.message_id) for hit in hits] == [(conversation.id, first.id)]
    messages.delete(first.id)
    assert search(db, "forty-two") == []


def test_regenerating_after_a_tool_result_branches_under_it(
    messages: MessageRepository, conversation: Conversation
) -> None:
    _, _, _, second, answer = _exchange(messages, conversation)
    again = messages.append(conversation.id, parent_id=second.id, role="assistant", content="Forty-two.")
    assert [m.id for m in messages.siblings(answer.id)] == [answer.id, again.id]
    assert messages.active_path(conversation.id)[-2] == second


def test_tool_messages_only_through_append_tool_result(
    db: Database, messages: MessageRepository, conversation: Conversation
) -> None:
    with pytest.raises(ValueError, match="append_tool_result"):
        messages.append(conversation.id, parent_id=None, role="tool", content="x")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"), db.transaction() as conn:
        conn.execute(
            "INSERT INTO messages (id, conversation_id, role, created_at) VALUES ('x', ?, 'robot', 'now')",
            (conversation.id,),
        )
