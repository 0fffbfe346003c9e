"""Name what the MCP client reports: its errors, a server's tools and states, a tool's outcome.

Light on purpose (no SDK import): the app imports these at start-up; the SDK loads when a
server first starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ServerState = Literal["stopped", "starting", "running", "failed"]
DEFAULT_MAX_RESULT_CHARS = 20_000


class McpError(Exception):
    """An MCP server could not do what was asked; the message names the server and says why.

    Args:
        server: the server's name.
        log_tail: the end of what the server wrote to stderr during this run ("" if nothing).
    """

    def __init__(self, server: str, message: str, *, log_tail: str = "") -> None:
        self.server = server
        self.log_tail = log_tail
        self.summary = message  # without the stderr tail: what the model is told
        full = message if not log_tail else f"{message} Its last words on stderr: {log_tail.strip()}"
        super().__init__(full)


class McpServerFailed(McpError):
    """The server did not start, stopped unexpectedly, or stopped answering; it restarts on next use."""


class McpCallTimeout(McpError):
    """A tool call took longer than its timeout; the server was told to cancel it."""


@dataclass(frozen=True)
class McpTool:
    """A tool as its server describes it.

    Args:
        server: the server's name.
        name: the tool's own name.
        input_schema: the JSON Schema of its arguments.
    """

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


def log_file(log_dir: Path, server: str) -> Path:
    """Return the file a server's stderr is written to."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", server).strip("._") or "server"
    return log_dir / "mcp" / f"{safe}.log"


@dataclass(frozen=True)
class ToolOutcome:
    """A tool's result as text for the model.

    Args:
        text: what the model reads (truncated to the limit, with a note saying so).
        is_error: the tool reported a failure (the model is told, it may try otherwise).
        truncated: the text was cut.
        full_length: the length of the whole text before any cut.
    """

    text: str
    is_error: bool = False
    truncated: bool = False
    full_length: int = 0
