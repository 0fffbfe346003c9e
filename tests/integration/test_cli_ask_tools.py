"""``desktop-llm ask --tools`` as a subprocess: the fake provider calls the fake MCP server (stdio)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall
from test_cli_ask import _environment

from desktop_llm.services.tool_loop import DECLINED

FAKE_MCP = str(Path(__file__).resolve().parent.parent / "fakes" / "mcp_server.py")
ADD = ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_1")


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def run_cli(server: ProviderServer, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "desktop_llm", "--data-dir", str(data), *args]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=_environment(server, "openai"),
        stdin=subprocess.DEVNULL,  # no terminal to ask
        timeout=90,
    )


def tool_rows(data: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(data / "desktop-llm.sqlite3") as conn:
        return conn.execute("SELECT role, content, tool_server FROM messages ORDER BY seq").fetchall()


@pytest.fixture
def data(server, tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    added = run_cli(server, folder, "mcp", "add", "calc", "--", sys.executable, FAKE_MCP)
    assert added.returncode == 0, added.stderr
    return folder


def test_approve_tools_runs_the_call_and_the_reply_goes_to_stdout(server, data) -> None:
    server.push(Reply(text="Adding.", tool_calls=[ADD]), Reply(text="It is 42."))

    result = run_cli(server, data, "ask", "--provider", "openai", "--tools", "--approve-tools", "40 + 2?")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Adding.It is 42.\n"
    assert "running the tool add_numbers (calc)" in result.stderr
    assert "the tool add_numbers (calc) done in" in result.stderr
    assert tool_rows(data) == [
        ("user", "40 + 2?", None),
        ("assistant", "Adding.", None),
        ("tool", "42", "calc"),
        ("assistant", "It is 42.", None),
    ]
    assert [t["function"]["name"] for t in server.chat_requests[0].json["tools"]].count("add_numbers") == 1


def test_without_approve_tools_and_no_terminal_the_call_is_declined(server, data) -> None:
    server.push(Reply(text="", tool_calls=[ADD]), Reply(text="I may not add."))

    result = run_cli(server, data, "ask", "--provider", "openai", "--tools", "40 + 2?")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "I may not add.\n"
    assert "declined the tool add_numbers (calc): no terminal to ask" in result.stderr
    assert tool_rows(data)[2] == ("tool", DECLINED, "calc")
    assert server.chat_requests[1].json["messages"][-1]["content"] == DECLINED


def test_without_tools_none_are_offered(server, data) -> None:
    server.push(Reply(text="Plain."))

    result = run_cli(server, data, "ask", "--provider", "openai", "hello")

    assert result.returncode == 0, result.stderr
    assert "tools" not in server.chat_requests[0].json
