"""Run a chat reply's tool rounds: offer the conversation's tools, ask the person, keep each round.

The rounds themselves are ``tool_loop.ToolLoop``'s; this module is the chat service's side of
them. Each round's assistant message is saved with its calls as soon as the model has made
them (before the person is asked), each result becomes a ``tool`` message under it, and the
next round streams into a new assistant message under the last result; so the exchange is
part of the conversation tree (regenerate and branches work) and survives a restart.

Approval is only ever asked for calls the model makes in the live reply that is streaming
now: ``ToolLoop`` takes its calls from the provider's stream, never from stored history, a
tool result, a file or an imported conversation.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from desktop_llm.core.mcp_config import conversation_servers
from desktop_llm.providers import ChatRequest, StreamEvent, ToolCall
from desktop_llm.services.chat_events import (
    ChatListener,
    ToolApprovalNeeded,
    ToolCallDone,
    ToolCallRunning,
    ToolNotice,
    ToolRoundSaved,
)
from desktop_llm.services.mcp_manager import McpManager, ToolCatalog
from desktop_llm.services.mcp_types import ToolOutcome
from desktop_llm.services.tool_loop import (
    DEFAULT_MAX_ROUNDS,
    Approval,
    ApprovalRequest,
    ApprovalStore,
    LoopDone,
    LoopNotice,
    RoundStarted,
    Streamer,
    ToolFinished,
    ToolLoop,
    ToolRun,
)
from desktop_llm.storage.database import Database
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.storage.records import Conversation, StoredMessage

STOPPED_RESULT = "Stopped: the person stopped the reply before this call finished; it may not have run."


@dataclass
class ReplyRound:
    """One model request of a reply and what it streamed into its assistant message."""

    assistant: StoredMessage
    started: float
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    usage: Any = None
    finish_reason: str | None = None
    latency_ms: int | None = None  # fixed when the round is saved with its calls
    saved: StoredMessage | None = None


FinishRound = Callable[[ReplyRound, str, "str | None"], Awaitable[StoredMessage]]


class ReplyRounds:
    """The rounds of a reply without tools: one round, the one it started with."""

    def __init__(self, first: ReplyRound) -> None:
        self.round = first
        self.notice: str | None = None

    async def settle_stop(self) -> None:
        """Leave the tree well formed after Stop (nothing to do without tools)."""


class ChatTools:
    """What the chat service needs to run tools: the servers, "always allow", the person's answers.

    Args:
        manager: the MCP servers.
        approvals: "always allow" choices per server and tool.
        max_rounds: model requests per reply (a setting, read at each reply).
        call_timeout: seconds per call (None: the manager's).
    """

    def __init__(
        self,
        manager: McpManager,
        approvals: ApprovalStore,
        *,
        max_rounds: Callable[[], int] = lambda: DEFAULT_MAX_ROUNDS,
        call_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.manager = manager
        self.approvals = approvals
        self._max_rounds = max_rounds
        self._call_timeout = call_timeout
        self._clock = clock
        self._pending: dict[str, asyncio.Future[Approval]] = {}

    async def catalog(self, conversation: Conversation, listener: ChatListener) -> ToolCatalog | None:
        """Return the tools to offer in the conversation's next reply, or None for none.

        Servers that fail to start are named in a ``ToolNotice``; the others still serve.
        """
        servers = conversation_servers(conversation.params or {})
        if servers == []:
            return None
        catalog = await self.manager.catalog(servers)
        for failure in catalog.failures:
            listener(ToolNotice(conversation.id, str(failure)))
        return catalog if catalog.specs else None

    def loop(self, approvals: ApprovalStore | None = None) -> ToolLoop:
        """Return a loop with the current round limit (consulting ``approvals`` if given)."""
        return ToolLoop(
            self.manager,
            approvals or self.approvals,
            max_rounds=max(1, self._max_rounds()),
            call_timeout=self._call_timeout,
            clock=self._clock,
        )

    def pending_calls(self) -> list[str]:
        """Return the ids of the calls waiting for the person's answer."""
        return list(self._pending)

    def answer(self, call_id: str, approval: Approval) -> bool:
        """Give the person's answer to a waiting call; False if it is not waiting (any more)."""
        future = self._pending.get(call_id)
        if future is None or future.done():
            return False
        future.set_result(approval)
        return True

    async def ask(self, call_id: str, announce: Callable[[], None]) -> Approval:
        """Announce a call and wait for the person's answer (Stop cancels the wait).

        The answer is awaited before the announcement goes out, so an answer given at once counts.
        """
        future: asyncio.Future[Approval] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        try:
            announce()
            return await future
        finally:
            self._pending.pop(call_id, None)


class ToolRounds(ReplyRounds):
    """Run a reply through the tool loop, saving and reporting each round, call and result.

    Args:
        db: the database thread.
        listener: receives the chat events.
        tools: the servers and the person's answers.
        catalog: the tools offered in this reply.
        first: the round the reply started with (its assistant message exists already).
        finish: saves a round's assistant message with a status and an error or notice.
        open_round: appends the next round's streaming assistant message under a message id.
    """

    def __init__(
        self,
        db: DatabaseThread,
        listener: ChatListener,
        tools: ChatTools,
        catalog: ToolCatalog,
        first: ReplyRound,
        *,
        finish: FinishRound,
        open_round: Callable[[str], Awaitable[ReplyRound]],
    ) -> None:
        super().__init__(first)
        self._db = db
        self._listener = listener
        self._tools = tools
        self._catalog = catalog
        self._finish = finish
        self._open_round = open_round
        self._conversation_id = first.assistant.conversation_id
        self._answered: set[str] = set()
        self._reported: set[str] = set()
        self._parent_id = first.assistant.id

    async def run(self, provider: Streamer, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield the provider's events of every round; rounds, calls and results are handled here."""
        loop = self._tools.loop(_Reporting(self._tools.approvals, self._on_always_allowed))
        async for event in loop.run(provider, request, self._approve, catalog=self._catalog):
            if isinstance(event, RoundStarted):
                if event.number > 1:
                    self.round = await self._open_round(self._parent_id)
                    self._answered.clear()
                    self._reported.clear()
            elif isinstance(event, ToolFinished):
                await self._save_result(event.run)
            elif isinstance(event, LoopNotice):
                self.notice = event.text
                self._listener(ToolNotice(self._conversation_id, event.text))
            elif isinstance(event, ToolCall):
                self.round.calls.append(event)
                yield event
            elif not isinstance(event, LoopDone):
                yield event

    async def _close_round(self) -> StoredMessage:
        """Save the round's assistant message with its calls (once), before anyone is asked."""
        current = self.round
        if current.saved is None:
            current.saved = await self._finish(current, "complete", None)
            self._parent_id = current.saved.id
            self._listener(ToolRoundSaved(self._conversation_id, current.saved))
        return current.saved

    async def _approve(self, request: ApprovalRequest) -> Approval:
        saved = await self._close_round()
        question = ToolApprovalNeeded(
            self._conversation_id,
            saved.id,
            request.call.id,
            request.tool.name,
            request.tool.server,
            json.dumps(request.arguments, indent=2, ensure_ascii=False),
        )
        answer = await self._tools.ask(request.call.id, lambda: self._listener(question))
        if answer is not Approval.DENY:
            self._report_running(request.call.id, request.tool.name, request.tool.server)
        return answer

    async def _on_always_allowed(self, server: str, tool: str) -> None:
        await self._close_round()
        for call in self.round.calls:
            route = self._catalog.resolve(call.name)
            leads_here = route is not None and (route.server, route.name) == (server, tool)
            if leads_here and call.id not in self._reported:
                self._report_running(call.id, tool, server)
                return

    def _report_running(self, call_id: str, tool: str, server: str) -> None:
        self._reported.add(call_id)
        self._listener(ToolCallRunning(self._conversation_id, call_id, tool, server))

    async def _save_result(self, run: ToolRun) -> None:
        await self._close_round()
        parent_id = self._parent_id

        def append(db: Database) -> StoredMessage:
            return MessageRepository(db).append_tool_result(
                self._conversation_id,
                parent_id=parent_id,
                tool_call_id=run.call.id,
                tool_name=run.call.name,
                content=run.outcome.text,
                server=run.server,
                is_error=run.outcome.is_error,
                duration_ms=run.elapsed_ms,
            )

        saved = await self._db.call(append)
        self._parent_id = saved.id
        self._answered.add(run.call.id)
        self._listener(ToolCallDone(self._conversation_id, saved))

    async def settle_stop(self) -> None:
        """Answer the saved round's calls that Stop left without a result, so the tree stays well formed."""
        if self.round.saved is None:
            return
        for call in self.round.calls:
            if call.id not in self._answered:
                route = self._catalog.resolve(call.name)
                await self._save_result(
                    ToolRun(
                        call,
                        route.server if route else None,
                        route.name if route else None,
                        None,
                        ToolOutcome(STOPPED_RESULT, is_error=True),
                    )
                )


class _Reporting:
    """An ``ApprovalStore`` that reports each call it lets run without asking."""

    def __init__(self, store: ApprovalStore, on_allowed: Callable[[str, str], Awaitable[None]]) -> None:
        self._store = store
        self._on_allowed = on_allowed

    async def is_always_allowed(self, server: str, tool: str) -> bool:
        allowed = await self._store.is_always_allowed(server, tool)
        if allowed:
            await self._on_allowed(server, tool)
        return allowed

    async def allow_always(self, server: str, tool: str) -> None:
        await self._store.allow_always(server, tool)


def with_tools(request: ChatRequest, catalog: ToolCatalog) -> ChatRequest:
    """Return the request offering the catalog's tools."""
    return replace(request, tools=catalog.specs)
