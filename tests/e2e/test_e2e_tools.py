"""The real app under Xvfb: the model calls a tool of a real MCP server, the person allows it with Alt+O.

As ``test_e2e_app``: the app is a subprocess on the ``DISPLAY`` scripts/test.sh starts, the fake
provider server runs in this process, keys go in with xdotool, the outcome is read from the
database file; a screenshot is kept as ``test-artifacts/e2e-tools.png``.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall
from test_e2e_app import _environment, _focus_window, _log_says, _poll, _xdotool, pytestmark  # noqa: F401

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
    data = tmp_path / "data"
    database, log = data / "desktop-llm.sqlite3", data / "logs" / "desktop-llm.log"
    artifacts = repo_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with ProviderServer() as server:
        env = _environment(repo_root, server)
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "desktop_llm",
                "--data-dir",
                str(data),
                "mcp",
                "add",
                "calc",
                "--",
                sys.executable,
                FAKE_MCP,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        call = ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_1")
        server.push(Reply(text="Let me add.", tool_calls=[call]), Reply(text="It is 42."))
        app = subprocess.Popen(
            [sys.executable, "-m", "desktop_llm", "--data-dir", str(data)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _poll(
                "the window to be ready",
                lambda: _log_says(log, "the window is ready") or app.poll() is not None,
            )
            assert app.poll() is None, app.communicate()
            _focus_window()
            _xdotool("type", "--delay", "20", "What is 40 + 2?")
            _xdotool("key", "Return")
            _poll("the question about the call", lambda: _asked(database), timeout=60)
            time.sleep(0.5)  # let the bar paint before the picture
            subprocess.run(
                ["import", "-window", "root", str(artifacts / "e2e-tools-question.png")],
                check=True,
                timeout=30,
            )
            assert len(server.chat_requests) == 1  # nothing ran, nothing was sent, until the person says

            _focus_window()
            _xdotool("key", "alt+o")

            rows = _poll(
                "the reply after the tool",
                lambda: [
                    r
                    for r in _rows(database)
                    if r[0] == "assistant" and r[2] == "It is 42." and r[1] == "complete"
                ],
                timeout=60,
            )
            assert rows
            assert [(r[0], r[2], r[3]) for r in _rows(database)] == [
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
            time.sleep(0.5)
            subprocess.run(
                ["import", "-window", "root", str(artifacts / "e2e-tools.png")], check=True, timeout=30
            )
            _focus_window()
            _xdotool("key", "ctrl+q")
            app.wait(timeout=30)
        finally:
            if app.poll() is None:
                app.kill()
            _out, err = app.communicate()
    assert app.returncode == 0, err
    assert _log_says(log, "Desktop LLM closed cleanly")
