"""Manage every MCP server: start on first need, offer their tools to models, call them, stop all.

No Qt: the settings page and the tool loop use it through coroutines and a plain listener
callback. Servers start when a catalog or a call first needs them and stop with the app
(``aclose``). Tool names offered to the model are unique across servers and fit every
provider's rules (``assign_tool_names``); a catalog maps them back to (server, tool).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from desktop_llm.core.mcp_config import McpServerConfig, assign_tool_names
from desktop_llm.providers import ToolSpec
from desktop_llm.secrets import SecretsError
from desktop_llm.services.mcp_types import (
    DEFAULT_MAX_RESULT_CHARS,
    McpError,
    McpServerFailed,
    McpTool,
    ServerState,
    ToolOutcome,
)
from desktop_llm.storage.mcp_servers import McpServerRecord

if TYPE_CHECKING:
    from desktop_llm.services.mcp_connection import McpConnection

log = logging.getLogger(__name__)


class ConfigSource(Protocol):
    """Where the manager reads servers from (``McpConfigService``)."""

    async def records(self) -> list[McpServerRecord]: ...

    async def config(self, record: McpServerRecord) -> McpServerConfig: ...


@dataclass(frozen=True)
class ServerStatus:
    """What the settings page shows for one server."""

    name: str
    enabled: bool
    state: ServerState
    error: str
    tools: tuple[McpTool, ...]


@dataclass(frozen=True)
class ToolCatalog:
    """The tools offered to the model for one request, and where each name leads.

    Args:
        specs: what the request carries.
        routes: offered name -> the server's tool.
        failures: servers that could not start (their tools are missing; show the messages).
    """

    specs: tuple[ToolSpec, ...] = ()
    routes: Mapping[str, McpTool] = field(default_factory=dict)
    failures: tuple[McpError, ...] = ()

    def resolve(self, name: str) -> McpTool | None:
        """Return the tool behind an offered name, or None for a name this catalog never offered."""
        return self.routes.get(name)


class McpManager:
    """Start, list, call and stop MCP servers.

    Args:
        source: the stored servers and their secrets.
        log_dir: the app's log folder; each stdio server's stderr goes to ``mcp/<name>.log``.
        start_timeout: seconds a server has to start and list its tools (then it counts as hung).
        ping_timeout: after a call timed out, seconds the server has to answer a ping before the
            next call restarts it.
        call_timeout: seconds a tool call may take unless the caller says otherwise.
        max_result_chars: longer results are cut, with a note to the model.
    """

    def __init__(
        self,
        source: ConfigSource,
        *,
        log_dir: Path,
        start_timeout: float = 30.0,
        ping_timeout: float = 10.0,
        call_timeout: float = 120.0,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
    ) -> None:
        self._source = source
        self._log_dir = Path(log_dir)
        self.start_timeout = start_timeout
        self.ping_timeout = ping_timeout
        self.call_timeout = call_timeout
        self.max_result_chars = max_result_chars
        self._records: dict[str, McpServerRecord] | None = None
        self._connections: dict[str, McpConnection] = {}
        self._listeners: list[Callable[[], None]] = []
        self._proxy: str | None = None

    # -- configuration -------------------------------------------------------------------------

    async def reload(self) -> None:
        """Read the stored servers again; servers changed or removed since are stopped."""
        records = {record.name: record for record in await self._source.records()}
        self._records = records
        stale = [
            name
            for name, connection in self._connections.items()
            if name not in records
            or records[name].id != connection.config.id
            or await self._changed(records[name], connection.config)
        ]
        for name in stale:
            await self._connections.pop(name).stop()
        self._notify()

    async def _changed(self, record: McpServerRecord, running: McpServerConfig) -> bool:
        try:
            return await self._source.config(record) != running
        except (McpError, SecretsError):
            return True  # its secrets cannot be read now: stop it; the next start says why

    async def _known(self) -> dict[str, McpServerRecord]:
        if self._records is None:
            self._records = {record.name: record for record in await self._source.records()}
        return self._records

    async def _connection(self, name: str) -> McpConnection:
        records = await self._known()
        if name not in records:
            raise McpError(name, f"There is no MCP server called {name!r}; see `desktop-llm mcp list`.")
        connection = self._connections.get(name)
        if connection is None:
            # The SDK loads here, when a server is first needed, not when the app starts.
            from desktop_llm.services.mcp_connection import McpConnection

            try:
                config = await self._source.config(records[name])
            except SecretsError as error:  # its message names the server and what to do
                raise McpServerFailed(name, str(error)) from error
            connection = McpConnection(
                config,
                log_dir=self._log_dir,
                start_timeout=self.start_timeout,
                ping_timeout=self.ping_timeout,
                proxy=self._proxy,
                on_change=self._on_change,
            )
            self._connections[name] = connection
        return connection

    def set_proxy(self, proxy: str | None) -> None:
        """Reach streamable HTTP servers through ``proxy`` (Settings → General) from their next start."""
        self._proxy = proxy

    # -- tools -------------------------------------------------------------------------------

    async def tools(self, name: str) -> tuple[McpTool, ...]:
        """Start the server ``name`` if needed (enabled or not) and return its tools.

        Raises:
            McpServerFailed: it could not start or answer (the message names it).
            McpError: there is no such server.
        """
        return await (await self._connection(name)).start()

    async def catalog(
        self, servers: Collection[str] | None = None, *, skip: Collection[str] = ()
    ) -> ToolCatalog:
        """Start the enabled servers (or only those named) at once and return their tools for a request.

        A server that fails is left out and reported in ``failures``; the others still serve.

        Args:
            skip: servers not to start (those that already failed during this reply).
        """
        records = await self._known()
        names = [
            name
            for name, record in sorted(records.items())
            if record.enabled and (servers is None or name in servers) and name not in skip
        ]
        answers = await asyncio.gather(*(self._tools_or_error(name) for name in names))
        failures = tuple(answer for answer in answers if isinstance(answer, McpError))
        tools = [tool for answer in answers if not isinstance(answer, McpError) for tool in answer]
        offered = assign_tool_names([(tool.server, tool.name) for tool in tools])
        by_key = {(tool.server, tool.name): tool for tool in tools}
        routes = {name: by_key[key] for name, key in offered.items()}
        specs = tuple(
            ToolSpec(name=name, description=tool.description, parameters=_schema(tool.input_schema))
            for name, tool in routes.items()
        )
        return ToolCatalog(specs, routes, failures)

    async def _tools_or_error(self, name: str) -> tuple[McpTool, ...] | McpError:
        try:
            return await self.tools(name)
        except McpError as error:
            return error

    async def call(
        self, tool: McpTool, arguments: dict[str, Any], *, time_limit: float | None = None
    ) -> ToolOutcome:
        """Run a tool; return its result as text for the model (cut to ``max_result_chars``).

        Cancelling the caller cancels the call on the server.

        Raises:
            McpServerFailed: the server could not start or went away (restarted on next use).
            McpCallTimeout: no answer within ``time_limit`` (default ``call_timeout``) seconds;
                the call was cancelled on the server.
        """
        connection = await self._connection(tool.server)
        from desktop_llm.services.mcp_results import result_text

        result = await connection.call(tool.name, arguments, time_limit=time_limit or self.call_timeout)
        return result_text(result, max_chars=self.max_result_chars)

    # -- state -------------------------------------------------------------------------------

    async def statuses(self) -> list[ServerStatus]:
        """Return every stored server's state and tools (servers never started are "stopped")."""
        records = await self._known()
        statuses = []
        for name, record in sorted(records.items()):
            connection = self._connections.get(name)
            if connection is None:
                statuses.append(ServerStatus(name, record.enabled, "stopped", "", ()))
            else:
                statuses.append(
                    ServerStatus(name, record.enabled, connection.state, connection.error, connection.tools)
                )
        return statuses

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` whenever a server's state or tools change (on the event loop)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _on_change(self, _connection: object) -> None:
        self._notify()

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    async def stop(self, name: str) -> None:
        """Stop one server (it starts again on next use)."""
        connection = self._connections.pop(name, None)
        if connection is not None:
            await connection.stop()
            self._notify()

    async def aclose(self) -> None:
        """Stop every server at once (the app is quitting)."""
        connections = list(self._connections.values())
        self._connections.clear()
        results = await asyncio.gather(*(c.stop() for c in connections), return_exceptions=True)
        for connection, result in zip(connections, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("MCP server %r did not stop cleanly: %s", connection.name, result)


def _schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Return a JSON Schema object every provider accepts (an object with properties)."""
    cleaned = dict(schema)
    cleaned.setdefault("type", "object")
    cleaned.setdefault("properties", {})
    return cleaned


__all__ = ["ConfigSource", "McpManager", "McpServerFailed", "ServerStatus", "ToolCatalog"]
