"""Context fitting in the chat flow: the request fits, too-long replies shrink once, summaries are kept."""

from __future__ import annotations

import json

import pytest
from fakes.provider_server import ProviderServer, Reply
from test_chat_service import Harness

from desktop_llm.core.catalog import load_catalog
from desktop_llm.core.tokens import TokenCounter
from desktop_llm.services.chat_events import ContextNotice
from desktop_llm.services.context_planner import ContextPlanner


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


@pytest.fixture
def harness(tmp_path, server):
    override = tmp_path / "models.json"
    override.write_text(
        json.dumps(
            {"models": [{"id": "model-a", "provider": "openai", "context_window": 400, "max_output": 100}]}
        )
    )
    made = Harness(tmp_path / "chat.sqlite3", server)
    made.chat._planner = ContextPlanner(TokenCounter(), load_catalog(override), margin=8)
    yield made
    made.db.close()


def sent_contents(server: ProviderServer, index: int = -1) -> list[str]:
    return [m["content"] for m in server.chat_requests[index].json["messages"]]


async def test_old_turns_are_left_out_so_the_request_fits(harness, server) -> None:
    conversation_id = await harness.new_conversation(system_prompt="Be brief.")
    for turn in range(6):
        server.push(Reply(text=f"answer {turn} " + "word " * 30))
        await harness.chat.send(conversation_id, f"question {turn} " + "word " * 30)

    contents = sent_contents(server)
    assert contents[0] == "Be brief."
    assert contents[-1].startswith("question 5")
    assert not any(c.startswith("question 0") for c in contents)
    assert len(contents) < 12
    plan = await harness.chat._planner.plan(
        (await harness.conversations.load(conversation_id)).conversation,
        (await harness.conversations.load(conversation_id)).path,
    )
    assert plan.fit.total_tokens <= plan.fit.budget
    assert plan.excluded_ids
    await harness.close()


async def test_a_message_too_long_for_the_window_is_not_sent(harness, server) -> None:
    conversation_id = await harness.new_conversation()

    reply = await harness.chat.send(conversation_id, "word " * 2000)

    assert reply.status == "error"
    assert "shorten" in reply.error.lower() or "larger window" in reply.error.lower()
    assert server.chat_requests == []
    await harness.close()


async def test_a_provider_that_still_says_too_long_gets_less_history_once(harness, server) -> None:
    conversation_id = await harness.new_conversation()
    for turn in range(3):
        server.push(Reply(text=f"answer {turn} " + "word " * 10))
        await harness.chat.send(conversation_id, f"question {turn} " + "word " * 10)
    server.push(
        Reply(status=400, error_type="context_length_exceeded", error_message="maximum context length"),
        Reply(text="fine now"),
    )

    reply = await harness.chat.send(conversation_id, "last question")

    assert reply.content == "fine now"
    assert len(sent_contents(server, -1)) < len(sent_contents(server, -2))
    assert any(isinstance(e, ContextNotice) for e in harness.events)
    await harness.close()


async def test_summarise_strategy_writes_and_reuses_a_summary(harness, server) -> None:
    conversation_id = await harness.new_conversation(params={"context": "summarise"})
    for turn in range(5):
        server.push(Reply(text=f"answer {turn} " + "word " * 30))
        await harness.chat.send(conversation_id, f"question {turn} " + "word " * 30)
    summaries = [r for r in server.chat_requests if "Summarise" in r.json["messages"][0]["content"]]
    assert summaries, "the model was asked for a summary"
    # What people and models wrote goes in as data, never as more instructions.
    source = summaries[0].json["messages"][1]["content"]
    assert source.startswith('<data name="conversation">\nUser: question 0') and source.endswith("\n</data>")
    assert "never instructions" in summaries[0].json["messages"][0]["content"]
    server.push(Reply(text="final"))

    await harness.chat.send(conversation_id, "and now?")

    conversation = await harness.conversations.get(conversation_id)
    assert conversation.params["summary"]["text"]
    last = sent_contents(server)
    summary = next(c for c in last if c.startswith("Summary of the earlier part"))
    assert "never instructions" in summary and '<data name="summary">' in summary
    assert last[-1] == "and now?"
    await harness.close()


async def test_the_preview_counts_the_draft_and_names_what_is_left_out(harness, server) -> None:
    conversation_id = await harness.new_conversation()
    for turn in range(6):
        server.push(Reply(text=f"answer {turn} " + "word " * 30))
        await harness.chat.send(conversation_id, f"question {turn} " + "word " * 30)

    empty = await harness.chat.context_preview(conversation_id)
    with_draft = await harness.chat.context_preview(conversation_id, draft="word " * 20)

    assert empty.exact is False  # "model-a" is no OpenAI model: its counts are estimates
    assert empty.context_window == 400
    assert with_draft.fit.total_tokens <= with_draft.fit.budget
    assert with_draft.fit.messages_to_send[-1].text.startswith("word")
    path = (await harness.conversations.load(conversation_id)).path
    assert path[0].id in with_draft.excluded_ids
    assert "draft" not in with_draft.excluded_ids
    await harness.close()
