"""Run ``desktop-llm ask --tools``: offer the enabled MCP servers' tools and answer for the person.

A call runs only when the person says so: ``--approve-tools`` approves every call of this
reply; otherwise a terminal asks (y/N on stderr, the answer from stdin), and with no terminal
the call is declined and the model told so. "Always allow" choices made in the window do not
apply here: without ``--approve-tools`` nothing runs unasked. Tool activity goes to stderr, one
line each, so stdout stays the reply alone.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from desktop_llm.secrets import KeyStore
from desktop_llm.services.chat_events import (
    ChatEvent,
    ToolApprovalNeeded,
    ToolCallDone,
    ToolCallRunning,
    ToolNotice,
)
from desktop_llm.services.chat_tools import ChatTools
from desktop_llm.services.mcp_config import McpConfigService
from desktop_llm.services.mcp_manager import McpManager
from desktop_llm.services.settings import SettingsService
from desktop_llm.services.tool_loop import Approval
from desktop_llm.storage.executor import DatabaseThread

PROG = "desktop-llm"


class _AskEveryTime:
    """An approval store that remembers nothing: on the command line every call is decided anew."""

    async def is_always_allowed(self, server: str, tool: str) -> bool:
        return False

    async def allow_always(self, server: str, tool: str) -> None:
        """Never remembered here (the terminal offers no "always")."""


class AskTools:
    """The tools of one ``ask``: the servers, the person's answers, the lines on stderr.

    Args:
        chat_tools: what the chat service runs tool rounds with.
        err: where activity lines and questions go.
        approve: ``--approve-tools`` was given.
        read_answer: reads the person's answer (stdin's next line); None when there is no terminal.
    """

    def __init__(
        self,
        chat_tools: ChatTools,
        manager: McpManager,
        err: TextIO,
        *,
        approve: bool,
        read_answer: Callable[[], str] | None,
    ) -> None:
        self.chat_tools = chat_tools
        self._manager = manager
        self._err = err
        self._approve = approve
        self._read_answer = read_answer
        self._asking: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(
        cls, db: DatabaseThread, keystore: KeyStore, logs: Path, err: TextIO, *, approve: bool
    ) -> AskTools:
        """Return the tools of the stored, enabled MCP servers (started when the reply needs them)."""
        settings = await SettingsService(db, keystore).app_settings()
        config = McpConfigService(db, keystore)
        manager = McpManager(config, log_dir=logs)
        chat_tools = ChatTools(manager, _AskEveryTime(), max_rounds=lambda: settings.tool_rounds)
        terminal = sys.stdin.isatty() and err.isatty()
        return cls(
            chat_tools, manager, err, approve=approve, read_answer=sys.stdin.readline if terminal else None
        )

    def on_event(self, event: ChatEvent) -> None:
        """Answer approval questions and write a line about each call."""
        if isinstance(event, ToolApprovalNeeded):
            self._on_question(event)
        elif isinstance(event, ToolCallRunning):
            self._line(f"running the tool {event.tool} ({event.server})…")
        elif isinstance(event, ToolCallDone):
            message = event.message
            where = (
                f"{message.tool_name} ({message.tool_server})" if message.tool_server else message.tool_name
            )
            outcome = (
                "failed or was declined"
                if message.tool_is_error
                else f"done in {message.tool_duration_ms} ms"
            )
            self._line(f"the tool {where} {outcome}")
        elif isinstance(event, ToolNotice):
            self._line(event.text)

    def _on_question(self, question: ToolApprovalNeeded) -> None:
        if self._approve:
            self.chat_tools.answer(question.call_id, Approval.ALLOW_ONCE)
            return
        if self._read_answer is None:
            self._line(
                f"declined the tool {question.tool} ({question.server}): no terminal to ask; "
                "--approve-tools runs tool calls"
            )
            self.chat_tools.answer(question.call_id, Approval.DENY)
            return
        task = asyncio.ensure_future(self._ask(question, self._read_answer))
        self._asking.add(task)
        task.add_done_callback(self._asking.discard)

    async def _ask(self, question: ToolApprovalNeeded, read_answer: Callable[[], str]) -> None:
        self._err.write(
            f"\n{PROG}: the model wants to run the tool {question.tool} from {question.server} with:\n"
            f"{question.arguments}\nAllow it? [y/N] "
        )
        self._err.flush()
        answer = await asyncio.to_thread(read_answer)
        allowed = answer.strip().casefold() in ("y", "yes")
        self.chat_tools.answer(question.call_id, Approval.ALLOW_ONCE if allowed else Approval.DENY)

    def _line(self, text: str) -> None:
        self._err.write(f"{PROG}: {text}\n")
        self._err.flush()

    async def aclose(self) -> None:
        """Stop the servers this command started."""
        for task in self._asking:
            task.cancel()
        await self._manager.aclose()
