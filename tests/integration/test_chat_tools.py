"""The chat service's tool rounds: the fake OpenAI server calls a real MCP server, the person answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.fake_directory import fake_directory
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall
from mcp_kit import Rig, stdio_config

from desktop_llm.services.chat import ChatService
from desktop_llm.services.chat_events import (
    StreamFinished,
    StreamStarted,
    ToolApprovalNeeded,
    ToolCallDone,
    ToolCallRunning,
    ToolRoundSaved,
)
from desktop_llm.services.chat_tools import STOPPED_RESULT, ChatTools
from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.tool_loop import DECLINED, Approval, McpApprovals
from desktop_llm.storage.messages import MessageRepository

PROVIDER_ID = "p-openai"
ADD = ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_1")


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


class ToolHarness:
    """A chat service with tools: a real database, the fake provider, the fake MCP server as "calc"."""

    def __init__(self, tmp_path: Path, server: ProviderServer, *, answers=(), rounds=10, timeout=20.0):
        self.tmp_path = tmp_path
        self.rig = Rig(tmp_path, call_timeout=timeout)
        self.db = self.rig.db
        self.providers = fake_directory(self.db, server, ((PROVIDER_ID, "openai"),))
        self.answers = list(answers)
        self.events: list[object] = []
        self.streaming_when_asked: list[bool] = []
        self._changed = asyncio.Event()
        self.tools = ChatTools(self.rig.manager, McpApprovals(self.rig.config), max_rounds=lambda: rounds)
        self.chat = ChatService(
            self.db,
            self.providers,
            self._record,
            save_interval=0.05,
            auto_titles=lambda: False,
            tools=self.tools,
        )
        self.conversations = ConversationService(self.db)

    async def start(self) -> None:
        env = {"MCP_FAKE_CANCEL_FILE": str(self.tmp_path / "cancelled.txt")}
        await self.rig.add(stdio_config("calc", env=env))

    def _record(self, event: object) -> None:
        self.events.append(event)
        self._changed.set()
        if isinstance(event, ToolApprovalNeeded) and self.answers:
            self.streaming_when_asked.append(self.chat.is_streaming(event.conversation_id))
            # The person answers as a window would: right away, inside the event.
            assert self.chat.answer_tool_call(event.call_id, self.answers.pop(0))

    async def until(self, predicate) -> None:
        async with asyncio.timeout(20):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def of(self, kind: type) -> list:
        return [event for event in self.events if isinstance(event, kind)]

    async def path(self, conversation_id: str):
        return (await self.conversations.load(conversation_id)).path

    async def close(self) -> None:
        await self.chat.stop_all()
        await self.providers.aclose()
        await self.rig.aclose()


@contextlib.asynccontextmanager
async def tool_harness(tmp_path: Path, server: ProviderServer, **options) -> AsyncIterator[ToolHarness]:
    harness = ToolHarness(tmp_path, server, **options)
    try:
        await harness.start()
        yield harness
    finally:
        await harness.close()


async def new_conversation(harness: ToolHarness, **params) -> str:
    conversation = await harness.conversations.create(provider_id=PROVIDER_ID, model="model-a", params=params)
    return conversation.id


async def test_an_allowed_call_runs_and_the_reply_goes_on_as_one_reply(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[Approval.ALLOW_ONCE]) as harness:
        server.push(Reply(text="Let me add.", tool_calls=[ADD]), Reply(text="It is 42."))
        conversation_id = await new_conversation(harness)

        reply = await harness.chat.send(conversation_id, "What is 40 + 2?")

        assert reply.status == "complete" and reply.content == "It is 42."
        assert harness.streaming_when_asked == [True]  # still the same reply while the person decides
        kinds = [
            type(e).__name__
            for e in harness.events
            if isinstance(
                e,
                StreamStarted
                | ToolRoundSaved
                | ToolApprovalNeeded
                | ToolCallRunning
                | ToolCallDone
                | StreamFinished,
            )
        ]
        assert kinds == [
            "StreamStarted",
            "ToolRoundSaved",
            "ToolApprovalNeeded",
            "ToolCallRunning",
            "ToolCallDone",
            "StreamStarted",
            "StreamFinished",
        ]
        (asked,) = harness.of(ToolApprovalNeeded)
        assert (asked.tool, asked.server, json.loads(asked.arguments)) == (
            "add_numbers",
            "calc",
            {"a": 40, "b": 2},
        )
        path = await harness.path(conversation_id)
        assert [m.role for m in path] == ["user", "assistant", "tool", "assistant"]
        first, result = path[1], path[2]
        assert first.content == "Let me add." and first.finish_reason == "tool_calls"
        assert [(c.id, c.name, json.loads(c.arguments)) for c in first.tool_calls] == [
            ("call_1", "add_numbers", {"a": 40, "b": 2})
        ]
        assert (result.content, result.tool_call_id, result.tool_server, result.tool_is_error) == (
            "42",
            "call_1",
            "calc",
            False,
        )
        assert result.tool_duration_ms is not None
        # Both requests offered the tool; the second carried the call and its result back.
        assert [t["function"]["name"] for t in server.chat_requests[0].json["tools"]].count(
            "add_numbers"
        ) == 1
        sent = server.chat_requests[1].json["messages"]
        assert sent[-2]["tool_calls"][0]["id"] == "call_1"
        assert sent[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}


async def test_a_denied_call_is_told_to_the_model_as_declined(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[Approval.DENY]) as harness:
        server.push(Reply(tool_calls=[ADD]), Reply(text="Fine, I won't."))
        conversation_id = await new_conversation(harness)

        reply = await harness.chat.send(conversation_id, "Add them")

        assert reply.content == "Fine, I won't."
        assert not harness.of(ToolCallRunning)
        tool = (await harness.path(conversation_id))[2]
        assert (tool.content, tool.tool_is_error, tool.tool_duration_ms) == (DECLINED, True, 0)
        assert server.chat_requests[1].json["messages"][-1]["content"] == DECLINED


async def test_always_allow_is_not_asked_again_until_revoked(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[Approval.ALWAYS, Approval.DENY]) as harness:
        conversation_id = await new_conversation(harness)
        server.push(Reply(tool_calls=[ADD]), Reply(text="42."))
        await harness.chat.send(conversation_id, "first")
        assert len(harness.of(ToolApprovalNeeded)) == 1

        server.push(
            Reply(tool_calls=[ScriptedCall("add_numbers", '{"a": 1, "b": 2}', id="call_2")]), Reply(text="3.")
        )
        await harness.chat.send(conversation_id, "second")
        assert len(harness.of(ToolApprovalNeeded)) == 1  # not asked: always allowed
        assert [e.call_id for e in harness.of(ToolCallRunning)] == ["call_1", "call_2"]
        assert (await harness.path(conversation_id))[-2].content == "3"

        record = await harness.rig.config.record("calc")
        await harness.rig.config.revoke(record.id, "add_numbers")
        server.push(
            Reply(tool_calls=[ScriptedCall("add_numbers", '{"a": 2, "b": 2}', id="call_3")]),
            Reply(text="no."),
        )
        await harness.chat.send(conversation_id, "third")
        assert len(harness.of(ToolApprovalNeeded)) == 2  # asked again, and denied this time
        assert (await harness.path(conversation_id))[-2].content == DECLINED


async def test_a_runaway_loop_ends_at_the_round_limit_with_a_notice(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[Approval.ALWAYS], rounds=3) as harness:
        server.push(
            *[Reply(tool_calls=[ScriptedCall("echo", '{"text": "again"}', id=f"c{n}")]) for n in range(5)]
        )
        conversation_id = await new_conversation(harness)

        reply = await harness.chat.send(conversation_id, "loop forever")

        assert len(server.chat_requests) == 3
        assert reply.status == "complete" and "Stopped after 3 rounds" in (reply.error or "")
        path = await harness.path(conversation_id)
        assert [m.role for m in path] == ["user"] + ["assistant", "tool"] * 3
        assert path[-1].content.startswith("Not run") and path[-1].tool_is_error
        assert not harness.chat.is_streaming(conversation_id)


async def test_stop_during_a_call_cancels_it_and_keeps_what_was_received(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[Approval.ALLOW_ONCE]) as harness:
        server.push(
            Reply(text="Sleeping now.", tool_calls=[ScriptedCall("slow", '{"seconds": 30}', id="s1")])
        )
        conversation_id = await new_conversation(harness)
        sending = asyncio.ensure_future(harness.chat.send(conversation_id, "nap"))
        await harness.until(lambda: harness.of(ToolCallRunning))
        await asyncio.sleep(0.3)  # the call reaches the server

        assert harness.chat.stop(conversation_id)
        with pytest.raises(asyncio.CancelledError):
            await sending

        (finished,) = harness.of(StreamFinished)
        assert finished.message.status == "stopped" and finished.message.content == "Sleeping now."
        path = await harness.path(conversation_id)
        assert [m.role for m in path] == ["user", "assistant", "tool"]
        assert path[-1].content == STOPPED_RESULT
        assert not harness.chat.is_streaming(conversation_id)
        async with asyncio.timeout(10):
            while not (tmp_path / "cancelled.txt").exists():  # noqa: ASYNC110 - another process writes it
                await asyncio.sleep(0.05)


async def test_stop_while_the_person_decides_ends_the_reply(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server) as harness:  # nobody answers
        server.push(Reply(tool_calls=[ADD]))
        conversation_id = await new_conversation(harness)
        sending = asyncio.ensure_future(harness.chat.send(conversation_id, "add"))
        await harness.until(lambda: harness.of(ToolApprovalNeeded))
        assert harness.tools.pending_calls() == ["call_1"]

        harness.chat.stop(conversation_id)
        with pytest.raises(asyncio.CancelledError):
            await sending
        assert harness.tools.pending_calls() == []
        assert not harness.chat.answer_tool_call("call_1", Approval.ALLOW_ONCE)
        assert (await harness.path(conversation_id))[-1].content == STOPPED_RESULT


async def test_a_call_that_hangs_past_the_timeout_is_an_error_the_model_reads(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[Approval.ALLOW_ONCE], timeout=1.0) as harness:
        server.push(
            Reply(tool_calls=[ScriptedCall("slow", '{"seconds": 60}', id="s1")]), Reply(text="It timed out.")
        )
        conversation_id = await new_conversation(harness)

        reply = await harness.chat.send(conversation_id, "nap")

        assert reply.content == "It timed out."
        tool = (await harness.path(conversation_id))[2]
        assert tool.tool_is_error and "did not finish the tool 'slow' within 1 s" in tool.content
        assert server.chat_requests[1].json["messages"][-1]["content"] == tool.content


async def test_regenerating_after_tools_resends_the_results_and_runs_nothing(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[Approval.ALLOW_ONCE]) as harness:
        server.push(Reply(tool_calls=[ADD]), Reply(text="42."), Reply(text="Forty-two."))
        conversation_id = await new_conversation(harness)
        reply = await harness.chat.send(conversation_id, "add")

        again = await harness.chat.regenerate(reply.id)

        assert again.content == "Forty-two." and again.parent_id == reply.parent_id
        assert len(harness.of(ToolApprovalNeeded)) == 1 and len(harness.of(ToolCallRunning)) == 1
        assert server.chat_requests[2].json["messages"][-1] == {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": "42",
        }


async def test_a_conversation_with_tools_turned_off_offers_none(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server) as harness:
        server.push(Reply(text="Plain."))
        conversation_id = await new_conversation(harness, mcp_servers=[])

        reply = await harness.chat.send(conversation_id, "hi")

        assert reply.content == "Plain."
        assert "tools" not in server.chat_requests[0].json


async def test_history_with_a_call_but_no_result_is_sent_well_formed(tmp_path, server) -> None:
    async with tool_harness(tmp_path, server, answers=[]) as harness:
        server.push(Reply(tool_calls=[ADD]))
        conversation_id = await new_conversation(harness)
        sending = asyncio.ensure_future(harness.chat.send(conversation_id, "add"))
        await harness.until(lambda: harness.of(ToolApprovalNeeded))
        harness.chat.stop(conversation_id)
        with pytest.raises(asyncio.CancelledError):
            await sending
        # Remove the stop's result: the call is left unanswered, as after a crash.
        path = await harness.path(conversation_id)
        await harness.db.call(lambda db: MessageRepository(db).delete(path[-1].id))

        server.push(Reply(text="OK."))
        await harness.chat.send(conversation_id, "never mind")
        sent = server.chat_requests[-1].json["messages"]
        assert all("tool_calls" not in m and m["role"] != "tool" for m in sent)


async def test_an_exported_and_imported_conversation_shows_the_same_tool_blocks(tmp_path, server) -> None:
    from desktop_llm.services.exchange import ExchangeService
    from desktop_llm.storage.executor import DatabaseThread
    from desktop_llm.ui.chat.chat_sessions import call_arguments, message_view

    async with tool_harness(tmp_path, server, answers=[Approval.ALLOW_ONCE]) as harness:
        server.push(Reply(text="Adding.", tool_calls=[ADD]), Reply(text="42."))
        conversation_id = await new_conversation(harness)
        await harness.chat.send(conversation_id, "add")
        before = await harness.path(conversation_id)
        exported = tmp_path / "export.json"
        await ExchangeService(harness.db).export_conversation(conversation_id, exported)

    other = DatabaseThread(tmp_path / "other.sqlite3")
    try:
        result = await ExchangeService(other).import_file(exported)
        assert result.imported == 1
        after = (await ConversationService(other).load(conversation_id)).path
    finally:
        await other.aclose()

    def shown(path):
        arguments = call_arguments(path)
        return [message_view(m, arguments=arguments.get(m.tool_call_id or "", "")) for m in path]

    assert [m.role for m in after] == ["user", "assistant", "tool", "assistant"]
    assert [(v.role, v.content, v.tool_calls, v.tool) for v in shown(after)] == [
        (v.role, v.content, v.tool_calls, v.tool) for v in shown(before)
    ]
    block = shown(after)[2].tool
    assert block is not None and (block.name, block.server, block.arguments) == (
        "add_numbers",
        "calc",
        '{\n  "a": 40,\n  "b": 2\n}',
    )
