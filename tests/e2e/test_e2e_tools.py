"""The real app under Xvfb: the model calls a tool of a real MCP server, the person allows it with Alt+O.

As in ``e2e_window``: the app is a subprocess on the ``DISPLAY`` scripts/test.sh starts, the fake
provider server runs in this process, keys go in with xdotool, the outcome is read from the
database file; a screenshot is kept as ``test-artifacts/e2e-tools.png``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_window import E2E_MARKS, environment, focus_window, log_says, poll, running_app, xdotool
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall

pytestmark = E2E_MARKS

FAKE_MCP = str(Path(__file__).resolve().parent.parent / "fakes" / "mcp_server.py")


def _rows(database: Path) -> list[tuple[str, str, str, str | None]]:
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT role, status, content, tool_server FROM messages ORDER BY seq").fetchall()


def _asked(database: Path) -> bool:
    """The first round is saved with its call: the question is on screen."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return bool(conn.execute("SELECT 1 FROM messages WHERE tool_calls IS NOT NULL").fetchall())


@pytest.mark.timeout(240)
def test_a_tool_call_is_allowed_in_the_window_and_kept_in_the_database(repo_root, tmp_path) -> None:
    with ProviderServer() as server:
        env = environment(repo_root, server)
        command = [sys.executable, "-m", "desktop_llm", "--data-dir", str(tmp_path / "data")]
        added = subprocess.run(
            [*command, "mcp", "add", "calc", "--", sys.executable, FAKE_MCP],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        call = ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_1")
        server.push(Reply(text="Let me add.", tool_calls=[call]), Reply(text="It is 42."))
        with running_app(repo_root, tmp_path, env) as app:
            xdotool("type", "--delay", "20", "What is 40 + 2?")
            xdotool("key", "Return")
            poll("the question about the call", lambda: _asked(app.database), timeout=60)
            app.screenshot("e2e-tools-question.png")
            assert len(server.chat_requests) == 1  # nothing ran, nothing was sent, until the person says

            focus_window()
            xdotool("key", "alt+o")

            rows = poll(
                "the reply after the tool",
                lambda: [
                    r
                    for r in _rows(app.database)
                    if r[0] == "assistant" and r[2] == "It is 42." and r[1] == "complete"
                ],
                timeout=60,
            )
            assert rows
            assert [(r[0], r[2], r[3]) for r in _rows(app.database)] == [
                ("user", "What is 40 + 2?", None),
                ("assistant", "Let me add.", None),
                ("tool", "42", "calc"),
                ("assistant", "It is 42.", None),
            ]
            assert server.chat_requests[1].json["messages"][-1] == {
                "role": "tool",
                "tool_call_id": "call_1",
                "content": "42",
            }
            app.screenshot("e2e-tools.png")
            app.quit()
    assert app.process.returncode == 0, app.stderr
    assert log_says(app.log, "Desktop LLM closed cleanly")
