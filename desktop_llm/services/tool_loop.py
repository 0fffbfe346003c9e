"""Run the tool loop of one reply: the model calls, the person approves, the tool runs, the model continues.

Independent of Qt and of the chat service (which stores what ``run`` yields). One reply is a
number of rounds: each round streams one model request; when the model asks for tools, each
call is approved (or already "always allowed" for that server's tool), run through the MCP
manager with a timeout, and its result goes back as a tool message; then the next round. The
loop ends when the model answers without calls, or after ``max_rounds`` rounds with a notice
(the calls of the last round are answered "not run" so the conversation stays well formed).

Trust: only calls the model makes in this reply are considered, each one approved by the
person (``Approver``) unless always allowed; nothing in a tool result, a file or an imported
conversation can approve anything. A denial is told to the model as a declined call.
Cancelling the task that iterates ``run`` (Stop) cancels a running call on its server.
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from desktop_llm.providers import (
    ChatRequest,
    Finish,
    Message,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)
from desktop_llm.services.mcp_manager import McpManager, ToolCatalog
from desktop_llm.services.mcp_types import McpError, McpTool, ToolOutcome

DEFAULT_MAX_ROUNDS = 10
DECLINED = "The person declined this tool call; it was not run. Do not retry it unless they ask."


class Approval(enum.Enum):
    """The person's answer to "may this tool run?"."""

    ALLOW_ONCE = "allow-once"
    ALWAYS = "always"
    DENY = "deny"


@dataclass(frozen=True)
class ApprovalRequest:
    """What the person is asked about: the tool, its server and the full arguments.

    Args:
        call: the model's call as it came.
        tool: the server's tool the call's name leads to.
        arguments: the parsed arguments (a JSON object).
    """

    call: ToolCall
    tool: McpTool
    arguments: dict[str, Any]


Approver = Callable[[ApprovalRequest], Awaitable[Approval]]


class ApprovalStore(Protocol):
    """Where "always allow" choices live (``McpApprovals`` over ``McpConfigService``)."""

    async def is_always_allowed(self, server: str, tool: str) -> bool: ...

    async def allow_always(self, server: str, tool: str) -> None: ...


class Streamer(Protocol):
    """What the loop needs of a provider: ``Provider.stream``."""

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]: ...


@dataclass(frozen=True)
class ToolRun:
    """One call of the reply and how it ended, for the chat to show and store.

    Args:
        call: the model's call.
        server, tool: where it led (None for a name no server offers).
        approval: the person's answer (None when it was never asked: unknown tool, bad arguments,
            round limit; ``ALWAYS`` also when it was always allowed before).
        outcome: the text the model reads back, and whether it is an error.
        elapsed_ms: how long the call ran (0 when it did not run).
    """

    call: ToolCall
    server: str | None
    tool: str | None
    approval: Approval | None
    outcome: ToolOutcome
    elapsed_ms: int = 0


@dataclass(frozen=True)
class RoundStarted:
    """A model request of the reply is about to be sent (``number`` from 1)."""

    number: int


@dataclass(frozen=True)
class ToolFinished:
    """A call of the model has its result (or was declined, or could not run)."""

    run: ToolRun


@dataclass(frozen=True)
class LoopNotice:
    """Something the person should read: a server failed (its tools are left out), or the round limit."""

    text: str


@dataclass(frozen=True)
class LoopDone:
    """The reply is over; ``messages`` are the assistant and tool messages it added, in order."""

    messages: tuple[Message, ...]


LoopEvent = (
    TextDelta
    | ReasoningDelta
    | ToolCall
    | Usage
    | Finish
    | RoundStarted
    | ToolFinished
    | LoopNotice
    | LoopDone
)


class McpApprovals:
    """``ApprovalStore`` over the stored servers' approvals (by server name).

    Args:
        config: ``McpConfigService`` (``record``, ``approvals``, ``always_allow``).
    """

    def __init__(self, config: Any) -> None:
        self._config = config

    async def is_always_allowed(self, server: str, tool: str) -> bool:
        """Return whether the person chose "always allow" for this server's tool."""
        record = await self._config.record(server)
        return tool in await self._config.approvals(record.id)

    async def allow_always(self, server: str, tool: str) -> None:
        """Remember "always allow" for this server's tool."""
        record = await self._config.record(server)
        await self._config.always_allow(record.id, tool)


class ToolLoop:
    """Run replies that may call MCP tools.

    Args:
        manager: the MCP servers.
        approvals: "always allow" choices.
        max_rounds: model requests per reply before the loop stops with a notice.
        call_timeout: seconds per call (None: the manager's default).
        clock: monotonic seconds, for ``elapsed_ms`` (injectable).
    """

    def __init__(
        self,
        manager: McpManager,
        approvals: ApprovalStore,
        *,
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        call_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rounds < 1:
            raise ValueError("max_rounds must be at least 1")
        self._manager = manager
        self._approvals = approvals
        self.max_rounds = max_rounds
        self._call_timeout = call_timeout
        self._clock = clock

    async def run(
        self,
        provider: Streamer,
        request: ChatRequest,
        approver: Approver,
        *,
        servers: Sequence[str] | None = None,
        catalog: ToolCatalog | None = None,
    ) -> AsyncIterator[LoopEvent]:
        """Stream the reply round by round; yield the provider's events and the loop's own.

        Args:
            request: the conversation so far; its ``tools`` are replaced by the catalog's.
            servers: offer only these servers' tools (None: every enabled server).
            catalog: the tools to offer (None: asked of the manager at each round, so a
                list-changed notification shows up in the next round).
        """
        messages = list(request.messages)
        added: list[Message] = []
        told: set[str] = set()
        for number in range(1, self.max_rounds + 1):
            # A server that failed in this reply is not started again in its later rounds.
            offered = catalog or await self._manager.catalog(servers, skip=told)
            for failure in offered.failures:
                if failure.server not in told:  # once per reply: the model goes on without its tools
                    told.add(failure.server)
                    yield LoopNotice(f"{failure.summary} Its tools are not offered in this reply.")
            yield RoundStarted(number)
            text: list[str] = []
            calls: list[ToolCall] = []
            round_request = replace(request, messages=tuple(messages), tools=offered.specs)
            async for event in provider.stream(round_request):
                if isinstance(event, TextDelta):
                    text.append(event.text)
                elif isinstance(event, ToolCall):
                    calls.append(event)
                yield event
            assistant = Message(role="assistant", content="".join(text), tool_calls=tuple(calls))
            messages.append(assistant)
            added.append(assistant)
            if not calls:
                break
            last_round = number == self.max_rounds
            for run in await self._answer(calls, offered, approver, run_them=not last_round):
                result = Message(
                    role="tool", content=run.outcome.text, tool_call_id=run.call.id, name=run.call.name
                )
                messages.append(result)
                added.append(result)
                yield ToolFinished(run)
            if last_round:
                yield LoopNotice(
                    f"Stopped after {self.max_rounds} rounds of tool calls in one reply; the model's last "
                    "calls were not run. Send a message to let it continue."
                )
        yield LoopDone(tuple(added))

    async def _answer(
        self, calls: list[ToolCall], catalog: ToolCatalog, approver: Approver, *, run_them: bool
    ) -> list[ToolRun]:
        """Ask about each call in order, then run the approved ones at once; results in call order."""
        decided: list[ToolRun | tuple[ToolCall, McpTool, dict[str, Any], Approval]] = []
        for call in calls:
            decided.append(await self._decide(call, catalog, approver, run_them=run_them))
        pending = [item for item in decided if isinstance(item, tuple)]
        finished = await asyncio.gather(*(self._execute(*item) for item in pending))
        done = iter(finished)
        return [item if isinstance(item, ToolRun) else next(done) for item in decided]

    async def _decide(
        self, call: ToolCall, catalog: ToolCatalog, approver: Approver, *, run_them: bool
    ) -> ToolRun | tuple[ToolCall, McpTool, dict[str, Any], Approval]:
        tool = catalog.resolve(call.name)
        if not run_them:
            note = f"Not run: the limit of {self.max_rounds} tool rounds for one reply was reached."
            return _not_run(call, tool, note)
        if tool is None:
            return _not_run(call, None, f"Error: there is no tool called {call.name!r}.")
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as error:
            return _not_run(
                call, tool, f"Error: the arguments are not valid JSON ({error.msg}); nothing was run."
            )
        if not isinstance(arguments, dict):
            return _not_run(call, tool, "Error: the arguments must be a JSON object; nothing was run.")
        if await self._approvals.is_always_allowed(tool.server, tool.name):
            return (call, tool, arguments, Approval.ALWAYS)
        answer = await approver(ApprovalRequest(call, tool, arguments))
        if answer is Approval.DENY:
            return ToolRun(call, tool.server, tool.name, answer, ToolOutcome(DECLINED, is_error=True))
        if answer is Approval.ALWAYS:
            await self._approvals.allow_always(tool.server, tool.name)
        return (call, tool, arguments, answer)

    async def _execute(
        self, call: ToolCall, tool: McpTool, arguments: dict[str, Any], approval: Approval
    ) -> ToolRun:
        started = self._clock()
        try:
            outcome = await self._manager.call(tool, arguments, time_limit=self._call_timeout)
        except McpError as error:
            outcome = ToolOutcome(f"Error: {error.summary}", is_error=True)
        elapsed = int((self._clock() - started) * 1000)
        return ToolRun(call, tool.server, tool.name, approval, outcome, elapsed)


def _not_run(call: ToolCall, tool: McpTool | None, text: str) -> ToolRun:
    server, name = (tool.server, tool.name) if tool is not None else (None, None)
    return ToolRun(call, server, name, None, ToolOutcome(text, is_error=True))
