"""Run one MCP server: start it, keep its session in one long-lived task, call its tools, stop it.

The SDK is anyio-based; its transports and ``ClientSession`` are context managers whose cancel
scopes must be entered and left in the same task. So each connection owns one asyncio task
that enters them, initializes, lists the tools, then waits until it is told to stop or the
server goes away (its message stream ends); list-changed notifications wake it to list the
tools again. Calls go through the session from the callers' tasks (requests need no scope of
their own beyond the call), so parallel calls run at once and a cancelled caller sends the
server ``notifications/cancelled`` (the SDK does that).

A stdio server's stderr goes to ``<logs>/mcp/<name>.log``; when it fails, the error carries the
tail of what it wrote there during this run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
import mcp.types as types
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from desktop_llm import __version__
from desktop_llm.core.mcp_config import McpServerConfig
from desktop_llm.providers.base import is_local_address
from desktop_llm.services.mcp_types import (
    McpCallTimeout,
    McpError,
    McpServerFailed,
    McpTool,
    ServerState,
    log_file,
)

log = logging.getLogger(__name__)

LOG_TAIL_CHARS = 2000
LOG_LIMIT_BYTES = 1_000_000  # a server's stderr log is rotated at its next start past this
_CLIENT_INFO = types.Implementation(name="desktop-llm", version=__version__)
_MAX_TOOL_PAGES = 100  # a server whose tools/list never ends cannot hang a start


def _root(error: BaseException) -> BaseException:
    """Return the first real error inside (nested) exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


class McpConnection:
    """One server's process or HTTP session, started on demand and restarted after a failure.

    Args:
        config: the server, secrets included.
        log_dir: the app's log folder (stderr goes to ``mcp/<name>.log`` under it).
        start_timeout: seconds to start, initialize and list tools before the server counts as hung.
        ping_timeout: seconds a ping may take after a timed-out call before the server is restarted.
        proxy: the proxy for a streamable HTTP server (None: the environment's, as httpx does).
        on_change: called (on the loop) whenever the state or the tool list changes.
    """

    def __init__(
        self,
        config: McpServerConfig,
        *,
        log_dir: Path,
        start_timeout: float = 30.0,
        ping_timeout: float = 10.0,
        proxy: str | None = None,
        on_change: Callable[[McpConnection], None] = lambda _: None,
    ) -> None:
        self.config = config
        self._log_path = log_file(log_dir, config.name)
        self._start_timeout = start_timeout
        self._ping_timeout = ping_timeout
        self._proxy = proxy
        self._on_change = on_change
        self.state: ServerState = "stopped"
        self.error: str = ""
        self.tools: tuple[McpTool, ...] = ()
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[tuple[McpTool, ...]] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._tools_stale = False
        self._suspect = False
        self._log_start = 0

    @property
    def name(self) -> str:
        """Return the server's name."""
        return self.config.name

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> tuple[McpTool, ...]:
        """Start the server unless it runs (or is starting); return its tools.

        Raises:
            McpServerFailed: it could not start, exited, or did not answer within the start timeout.
        """
        task, ready = self._task, self._ready
        if (
            task is not None
            and not task.done()
            and ready is not None
            and ready.done()
            and self._session is None
        ):
            # Winding down after the server went away: let it finish, then start afresh.
            await asyncio.shield(task)
        if self._task is None or self._task.done():
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            self._stopping = False
            self._wake = asyncio.Event()
            self._set_state("starting", "")
            self._task = loop.create_task(self._run(self._ready), name=f"mcp-server-{self.name}")
        assert self._ready is not None
        # Shielded: a caller that gives up waiting must not cancel a start others may share.
        await asyncio.shield(self._ready)
        return self.tools  # the current list: list-changed notifications may have renewed it

    async def stop(self) -> None:
        """Stop the server (a stdio process gets its stdin closed, then SIGTERM, then SIGKILL)."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        if self._ready is not None and not self._ready.done():
            task.cancel()  # still starting (maybe hung): do not wait out the start timeout
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # the caller of stop() was cancelled, not the server's task
        finally:
            self._task = None
        if self.state != "failed":
            self._set_state("stopped", "")

    async def _run(self, ready: asyncio.Future[tuple[McpTool, ...]]) -> None:
        try:
            await self._serve(ready)
        except BaseException as raised:  # every way out is turned into a state and an answer
            error = _root(raised)
            if isinstance(error, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                self._fail_ready(ready, McpServerFailed(self.name, f"MCP server {self.name!r} was stopped."))
                self._session = None
                self._set_state("stopped", "")
                raise
            failure = await self._explain(error, starting=not ready.done())
            log.warning("%s", failure)
            self._fail_ready(ready, failure)
            self._set_state("failed", str(failure))
        else:
            if not self._stopping:
                failure = McpServerFailed(
                    self.name,
                    f"MCP server {self.name!r} stopped unexpectedly; it is started again on next use.",
                    log_tail=await self._log_tail(),
                )
                log.warning("%s", failure)
                self._fail_ready(ready, failure)
                self._set_state("failed", str(failure))
        finally:
            self._session = None

    async def _serve(self, ready: asyncio.Future[tuple[McpTool, ...]]) -> None:
        async with self._transport() as (read, write):
            forward, session_read = anyio.create_memory_object_stream[Any](0)
            ended = False

            async def pump() -> None:
                # Relays the server's messages and notices when they end (the server went away).
                nonlocal ended
                async with forward:
                    async for item in read:
                        await forward.send(item)
                ended = True
                self._wake.set()

            async with anyio.create_task_group() as group:
                group.start_soon(pump)
                async with ClientSession(
                    session_read, write, message_handler=self._on_message, client_info=_CLIENT_INFO
                ) as session:
                    with anyio.fail_after(self._start_timeout):
                        await session.initialize()
                        tools = await self._list_tools(session)
                    self._session = session
                    self.tools = tools
                    self._set_state("running", "")
                    if not ready.done():
                        ready.set_result(tools)
                    while not (self._stopping or ended):
                        await self._wake.wait()
                        self._wake.clear()
                        if self._tools_stale and not (self._stopping or ended):
                            self._tools_stale = False
                            await self._refresh(session)
                    self._session = None
                group.cancel_scope.cancel()

    @asynccontextmanager
    async def _transport(self) -> AsyncIterator[tuple[Any, Any]]:
        config = self.config
        if config.transport == "stdio":
            stderr = await asyncio.to_thread(self._open_log)
            try:
                parameters = StdioServerParameters(
                    command=config.command, args=list(config.args), env=dict(config.env)
                )
                async with stdio_client(parameters, errlog=stderr) as streams:
                    yield streams
            finally:
                await asyncio.to_thread(stderr.close)
            return
        # As for providers: a server on this computer is reached directly, never through the proxy.
        # Nor through the environment's HTTP_PROXY/ALL_PROXY, which httpx reads when it trusts it.
        local = is_local_address(config.url)
        client = httpx2.AsyncClient(
            headers=dict(config.headers),
            timeout=httpx2.Timeout(30.0, read=300.0),
            proxy=None if local else self._proxy,
            trust_env=not local,
        )
        async with client, streamable_http_client(config.url, http_client=client) as streams:
            yield streams

    def _open_log(self) -> TextIO:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        if self._log_path.exists() and self._log_path.stat().st_size > LOG_LIMIT_BYTES:
            # One older generation is kept: enough to compare with the last run, never unbounded.
            self._log_path.replace(self._log_path.with_name(self._log_path.name + ".1"))
        handle = open(self._log_path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed in _transport
        self._log_start = handle.tell()
        return handle

    async def _refresh(self, session: ClientSession) -> None:
        try:
            with anyio.fail_after(self._start_timeout):
                self.tools = await self._list_tools(session)
        except (MCPError, TimeoutError) as error:
            log.warning("MCP server %r: could not list its tools again after a change: %s", self.name, error)
            return
        self._on_change(self)

    async def _list_tools(self, session: ClientSession) -> tuple[McpTool, ...]:
        tools: list[McpTool] = []
        cursor: str | None = None
        for _ in range(_MAX_TOOL_PAGES):
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            tools.extend(
                McpTool(self.name, tool.name, tool.description or "", dict(tool.input_schema or {}))
                for tool in page.tools
            )
            cursor = page.next_cursor
            if not cursor:
                break
        return tuple(tools)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._tools_stale = True
            self._wake.set()
        elif isinstance(message, Exception):
            log.warning("MCP server %r: transport error: %s", self.name, message)

    # -- calls -------------------------------------------------------------------------------

    async def call(self, tool: str, arguments: dict[str, Any], *, time_limit: float) -> types.CallToolResult:
        """Call a tool and return the server's result (``is_error`` set when the tool failed).

        A JSON-RPC error for the call (unknown tool, bad arguments) comes back as an error result,
        so the model can read it. Cancelling the caller cancels the call on the server too.

        Raises:
            McpServerFailed: the server could not start or went away during the call.
            McpCallTimeout: no answer within ``time_limit`` seconds.
        """
        if self._suspect:
            await self._check_alive()
        await self.start()
        session = self._session
        if session is None:
            raise McpServerFailed(self.name, f"MCP server {self.name!r} stopped before the call; try again.")
        try:
            result = await session.call_tool(tool, arguments, read_timeout_seconds=time_limit)
        except MCPError as error:
            if error.code == types.REQUEST_TIMEOUT:
                self._suspect = True  # a slow tool, or a hung server: the next call checks which
                raise McpCallTimeout(
                    self.name,
                    f"MCP server {self.name!r} did not finish the tool {tool!r} within {time_limit:g} s; "
                    "the call was cancelled.",
                ) from error
            if error.code == types.CONNECTION_CLOSED:
                self._wake.set()
                raise McpServerFailed(
                    self.name,
                    f"MCP server {self.name!r} stopped while running the tool {tool!r}; "
                    "it is started again on next use.",
                    log_tail=await self._log_tail(),
                ) from error
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=f"Error: {error.message}")], is_error=True
            )
        if not isinstance(result, types.CallToolResult):
            return types.CallToolResult(
                content=[
                    types.TextContent(
                        type="text", text="Error: the server gave an unexpected kind of result."
                    )
                ],
                is_error=True,
            )
        return result

    async def _check_alive(self) -> None:
        """After a timed-out call, ping the server; one that does not answer is restarted."""
        self._suspect = False
        session = self._session
        if session is None:
            return
        try:
            with anyio.fail_after(self._ping_timeout):
                await session.send_ping()
        except (MCPError, TimeoutError) as error:
            log.warning("MCP server %r does not answer a ping (%s); restarting it", self.name, error)
            await self.stop()

    # -- errors ------------------------------------------------------------------------------

    async def _explain(self, error: BaseException, *, starting: bool) -> McpServerFailed:
        tail = await self._log_tail()
        when = "while starting" if starting else "while running"
        name = self.name
        if isinstance(error, TimeoutError):
            text = (
                f"MCP server {name!r} did not answer within {self._start_timeout:g} s {when}; it was stopped."
            )
        elif isinstance(error, FileNotFoundError):
            command = self.config.command
            text = f"MCP server {name!r} could not be started: the command {command!r} was not found."
        elif isinstance(error, PermissionError):
            text = f"MCP server {name!r} could not be started: {self.config.command!r} is not executable."
        elif isinstance(error, MCPError) and error.code == types.CONNECTION_CLOSED:
            text = f"MCP server {name!r} exited {when}."
        elif isinstance(error, httpx2.HTTPError | OSError | MCPError):
            where = f" at {self.config.url}" if self.config.transport == "http" else ""
            text = f"MCP server {name!r}{where} failed {when}: {error or type(error).__name__}."
        else:  # a bug of ours or the SDK's: the traceback goes to the log, the person gets the gist
            log.error("MCP server %r failed %s", name, when, exc_info=error)
            text = f"MCP server {name!r} failed {when} ({type(error).__name__}: {error}); see the app's log."
        return McpServerFailed(name, text, log_tail=tail)

    async def _log_tail(self) -> str:
        if self.config.transport != "stdio":
            return ""
        return await asyncio.to_thread(self._read_log_tail)

    def _read_log_tail(self) -> str:
        try:
            with open(self._log_path, encoding="utf-8", errors="replace") as handle:
                handle.seek(self._log_start)
                text = handle.read()
        except OSError as error:
            return f"(its log {self._log_path} cannot be read: {error.strerror})"
        return text[-LOG_TAIL_CHARS:]

    @staticmethod
    def _fail_ready(ready: asyncio.Future[tuple[McpTool, ...]], error: McpError) -> None:
        if not ready.done():
            ready.set_exception(error)
            ready.exception()  # retrieved: nobody may be waiting, and that is not an error

    def _set_state(self, state: ServerState, error: str) -> None:
        self.state, self.error = state, error
        if state != "running":
            self.tools = () if state != "starting" else self.tools
        self._on_change(self)


__all__ = ["LOG_TAIL_CHARS", "McpCallTimeout", "McpConnection", "McpError", "McpServerFailed", "McpTool"]
