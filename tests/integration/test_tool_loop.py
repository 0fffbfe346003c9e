"""The tool loop with a scripted model and a real MCP server (the SDK's MCPServer over stdio)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fakes.provider_server import ProviderServer, Reply
from fakes.scripted_provider import ScriptedProvider, calls_reply, text_reply
from fakes.wire_base import ScriptedCall
from mcp_kit import Rig, stdio_config
from provider_kit import KINDS_ON_SERVER, make_provider

from desktop_llm.providers import ChatRequest, Message, TextDelta, ToolCall
from desktop_llm.services.tool_loop import (
    DECLINED,
    Approval,
    ApprovalRequest,
    LoopDone,
    LoopNotice,
    McpApprovals,
    RoundStarted,
    ToolFinished,
    ToolLoop,
)

REQUEST = ChatRequest(model="m", messages=[Message(role="user", content="What is 40 + 2?")])


class Person:
    """Answers approval prompts from a list, recording what was asked."""

    def __init__(self, *answers: Approval) -> None:
        self.answers = list(answers)
        self.asked: list[ApprovalRequest] = []

    async def __call__(self, request: ApprovalRequest) -> Approval:
        self.asked.append(request)
        return self.answers.pop(0)


async def collect(loop: ToolLoop, provider, person, **kwargs) -> list:
    return [event async for event in loop.run(provider, REQUEST, person, **kwargs)]


@contextlib.asynccontextmanager
async def calc_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A rig with the fake server as "calc" (it writes cancelled.txt when a call is cancelled)."""
    made = Rig(tmp_path)
    try:
        await made.add(stdio_config("calc", env={"MCP_FAKE_CANCEL_FILE": str(tmp_path / "cancelled.txt")}))
        yield made
    finally:
        await made.aclose()


async def test_approved_call_runs_and_the_model_continues(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        provider = ScriptedProvider(
            [
                calls_reply(ToolCall("call_1", "add_numbers", '{"a": 40, "b": 2}'), text="Let me add."),
                text_reply("42."),
            ]
        )
        person = Person(Approval.ALLOW_ONCE)
        loop = ToolLoop(rig.manager, McpApprovals(rig.config))
        events = await collect(loop, provider, person)

        assert [
            type(e).__name__ for e in events if isinstance(e, RoundStarted | ToolFinished | LoopDone)
        ] == [
            "RoundStarted",
            "ToolFinished",
            "RoundStarted",
            "LoopDone",
        ]
        (asked,) = person.asked
        assert (asked.tool.server, asked.tool.name, asked.arguments) == (
            "calc",
            "add_numbers",
            {"a": 40, "b": 2},
        )
        run = next(e.run for e in events if isinstance(e, ToolFinished))
        assert (run.server, run.tool, run.approval, run.outcome.text, run.outcome.is_error) == (
            "calc",
            "add_numbers",
            Approval.ALLOW_ONCE,
            "42",
            False,
        )
        # Every request offers the tools; the second carries the call and its result.
        assert "add_numbers" in {spec.name for spec in provider.requests[0].tools}
        second = provider.requests[1].messages
        assert second[-2] == Message(
            role="assistant",
            content="Let me add.",
            tool_calls=(ToolCall("call_1", "add_numbers", '{"a": 40, "b": 2}'),),
        )
        assert second[-1] == Message(role="tool", content="42", tool_call_id="call_1", name="add_numbers")
        done = events[-1]
        assert [m.role for m in done.messages] == ["assistant", "tool", "assistant"]
        assert done.messages[-1].content == "42."
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me add.42."


async def test_denied_call_is_told_to_the_model(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        provider = ScriptedProvider(
            [calls_reply(ToolCall("c1", "echo", '{"text": "hi"}')), text_reply("OK, I won't.")]
        )
        loop = ToolLoop(rig.manager, McpApprovals(rig.config))
        events = await collect(loop, provider, Person(Approval.DENY))
        run = next(e.run for e in events if isinstance(e, ToolFinished))
        assert run.approval is Approval.DENY and run.elapsed_ms == 0
        assert provider.requests[1].messages[-1].content == DECLINED


async def test_always_allow_is_remembered_then_revoked(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        loop = ToolLoop(rig.manager, McpApprovals(rig.config))
        call = calls_reply(ToolCall("c1", "echo", '{"text": "hi"}'))
        first = Person(Approval.ALWAYS)
        await collect(loop, ScriptedProvider([call, text_reply("done")]), first)
        assert len(first.asked) == 1
        record = await rig.config.record("calc")
        assert await rig.config.approvals(record.id) == ["echo"]

        unasked = Person()  # asking would fail: it has no answers
        events = await collect(loop, ScriptedProvider([call, text_reply("done")]), unasked)
        run = next(e.run for e in events if isinstance(e, ToolFinished))
        assert run.approval is Approval.ALWAYS and run.outcome.text == "hi" and unasked.asked == []

        await rig.config.revoke(record.id, "echo")
        again = Person(Approval.DENY)
        await collect(loop, ScriptedProvider([call, text_reply("done")]), again)
        assert len(again.asked) == 1


async def test_parallel_calls_bad_arguments_unknown_tools_and_errors(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        provider = ScriptedProvider(
            [
                calls_reply(
                    ToolCall("a", "echo", '{"text": "one"}'),
                    ToolCall("b", "add_numbers", '{"a": 1,'),
                    ToolCall("c", "no_such_tool", "{}"),
                    ToolCall("d", "fail", '{"message": "bad input"}'),
                    ToolCall("e", "echo", '["not", "an", "object"]'),
                ),
                text_reply("done"),
            ]
        )
        person = Person(Approval.ALLOW_ONCE, Approval.ALLOW_ONCE)
        events = await collect(ToolLoop(rig.manager, McpApprovals(rig.config)), provider, person)
        runs = {e.run.call.id: e.run for e in events if isinstance(e, ToolFinished)}
        assert list(runs) == ["a", "b", "c", "d", "e"]
        assert [r.tool.name for r in person.asked] == [
            "echo",
            "fail",
        ]  # only calls that can run are asked about
        assert runs["a"].outcome.text == "one"
        assert "not valid JSON" in runs["b"].outcome.text and runs["b"].approval is None
        assert "no tool called 'no_such_tool'" in runs["c"].outcome.text
        assert runs["d"].outcome.is_error and "bad input" in runs["d"].outcome.text
        assert "must be a JSON object" in runs["e"].outcome.text
        results = provider.requests[1].messages[-5:]
        assert [m.tool_call_id for m in results] == ["a", "b", "c", "d", "e"]


async def test_a_runaway_loop_stops_at_the_round_limit(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        provider = ScriptedProvider([calls_reply(ToolCall("again", "echo", '{"text": "loop"}'))])
        person = Person(*[Approval.ALLOW_ONCE] * 10)
        events = await collect(
            ToolLoop(rig.manager, McpApprovals(rig.config), max_rounds=3), provider, person
        )
        assert len(provider.requests) == 3 and len(person.asked) == 2
        (notice,) = [e for e in events if isinstance(e, LoopNotice)]
        assert "Stopped after 3 rounds" in notice.text
        last = [e.run for e in events if isinstance(e, ToolFinished)][-1]
        assert last.outcome.text.startswith("Not run: the limit of 3 tool rounds")
        assert [m.role for m in events[-1].messages] == ["assistant", "tool"] * 3


async def test_stop_during_a_call_cancels_it_on_the_server(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        provider = ScriptedProvider(
            [calls_reply(ToolCall("s", "slow", '{"seconds": 60}')), text_reply("never")]
        )
        loop = ToolLoop(rig.manager, McpApprovals(rig.config))
        person = Person(Approval.ALLOW_ONCE)
        started = asyncio.Event()

        async def consume() -> None:
            async for event in loop.run(provider, REQUEST, person):
                if isinstance(event, ToolCall):
                    started.set()

        task = asyncio.ensure_future(consume())
        await started.wait()
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        marker = tmp_path / "cancelled.txt"
        for _ in range(500):
            if marker.exists():
                break
            await asyncio.sleep(0.02)
        assert marker.read_text(encoding="utf-8") == "cancelled"
        assert len(provider.requests) == 1


async def test_a_call_timeout_is_an_error_result(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        provider = ScriptedProvider(
            [calls_reply(ToolCall("s", "slow", '{"seconds": 60}')), text_reply("too slow")]
        )
        loop = ToolLoop(rig.manager, McpApprovals(rig.config), call_timeout=0.5)
        events = await collect(loop, provider, Person(Approval.ALLOW_ONCE))
        run = next(e.run for e in events if isinstance(e, ToolFinished))
        assert run.outcome.is_error and "did not finish the tool 'slow' within 0.5 s" in run.outcome.text


async def test_the_whole_loop_with_every_provider_kind_and_a_real_mcp_server(tmp_path: Path) -> None:
    """The model (fake provider server, every wire format) asks, the person approves, MCP answers."""
    async with calc_rig(tmp_path) as rig:
        loop = ToolLoop(rig.manager, McpApprovals(rig.config))
        with ProviderServer() as server:
            for kind in KINDS_ON_SERVER:
                server.push(
                    Reply(
                        text="Adding.",
                        tool_calls=[ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_7")],
                    ),
                    Reply(text="It is 42."),
                )
                person = Person(Approval.ALLOW_ONCE)
                async with make_provider(server, kind) as provider:
                    request = ChatRequest(model="tool-model", messages=[Message("user", "40 + 2?")])
                    events = [event async for event in loop.run(provider, request, person)]
                (run,) = [e.run for e in events if isinstance(e, ToolFinished)]
                assert (run.server, run.tool, run.outcome.text) == ("calc", "add_numbers", "42"), kind
                assert person.asked[0].arguments == {"a": 40, "b": 2}, kind
                done = events[-1]
                assert [m.role for m in done.messages] == ["assistant", "tool", "assistant"], kind
                assert done.messages[-1].content == "It is 42.", kind
                second = json.dumps(server.chat_requests[-1].json)
                assert "add_numbers" in second and "42" in second, kind


async def test_a_server_that_cannot_start_is_a_notice_and_the_others_serve(tmp_path: Path) -> None:
    async with calc_rig(tmp_path) as rig:
        await rig.add(stdio_config("broken", "--mode", "exit"))
        provider = ScriptedProvider(
            [calls_reply(ToolCall("c1", "echo", '{"text": "still here"}')), text_reply("ok")]
        )
        events = await collect(
            ToolLoop(rig.manager, McpApprovals(rig.config)), provider, Person(Approval.ALLOW_ONCE)
        )
        notices = [e.text for e in events if isinstance(e, LoopNotice)]
        assert len(notices) == 1 and "'broken' exited while starting" in notices[0]
        assert "not offered in this reply" in notices[0] and "missing configuration" not in notices[0]
        run = next(e.run for e in events if isinstance(e, ToolFinished))
        assert run.outcome.text == "still here"
        log = (rig.data / "logs" / "mcp" / "broken.log").read_text(encoding="utf-8")
        assert log.count("missing configuration") == 1  # not started again in the second round
