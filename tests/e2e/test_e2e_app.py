"""The real app under Xvfb, driven like a person would: type, press Enter, read the reply, Ctrl+Q.

The app runs as a subprocess with ``QT_QPA_PLATFORM=xcb`` on the ``DISPLAY`` that
``scripts/test.sh`` starts, with ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` pointing at the fake
provider server in this process. Keys go in with xdotool; the reply is read from the database
file with sqlite3; a screenshot of the screen is kept as ``test-artifacts/e2e.png``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes.provider_server import ProviderServer, Reply

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not os.environ.get("DISPLAY"), reason="no X display: scripts/test.sh starts Xvfb and sets DISPLAY"
    ),
    pytest.mark.skipif(
        not (shutil.which("xdotool") and shutil.which("import")),
        reason="xdotool and ImageMagick's import are needed (scripts/test.sh installs them)",
    ),
]

WINDOW_NAME = "Desktop LLM"


def _environment(repo_root: Path, server: ProviderServer) -> dict[str, str]:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="xcb",
        OPENAI_API_KEY="sk-e2e-test-key-000000",
        OPENAI_BASE_URL=server.url_for("openai"),
    )
    if not os.environ.get("DESKTOP_LLM_TEST_INSTALLED"):
        env["PYTHONPATH"] = str(repo_root)
    return env


def _xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=30)


def _focus_window() -> None:
    """Bring the app's window to the front and give it the keyboard.

    ``windowactivate`` needs a window manager; bare Xvfb has none, so focus the window directly.
    """
    activate = ["xdotool", "search", "--sync", "--name", WINDOW_NAME, "windowactivate", "--sync"]
    if subprocess.run(activate, timeout=30, capture_output=True).returncode != 0:
        _xdotool("search", "--sync", "--name", WINDOW_NAME, "windowfocus", "--sync")


def _poll(what: str, condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _replies(database: Path) -> list[tuple[str, str]]:
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT status, content FROM messages WHERE role = 'assistant' ORDER BY seq"
        ).fetchall()


def _log_says(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(encoding="utf-8")


def test_type_a_message_get_the_reply_and_quit_with_a_reply_streaming(repo_root, tmp_path) -> None:
    data = tmp_path / "data"
    database, log = data / "desktop-llm.sqlite3", data / "logs" / "desktop-llm.log"
    artifacts = repo_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with ProviderServer() as server:
        server.push(Reply(text="Hello from the fake server, through the real window."))
        app = subprocess.Popen(
            [sys.executable, "-m", "desktop_llm", "--data-dir", str(data)],
            cwd=tmp_path,
            env=_environment(repo_root, server),
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
            _xdotool("type", "--delay", "20", "Hello from xdotool")
            _xdotool("key", "Return")

            replies = _poll(
                "the reply in the database", lambda: [r for r in _replies(database) if r[0] == "complete"]
            )
            assert replies[0][1] == "Hello from the fake server, through the real window."
            assert server.chat_requests[0].json["messages"][-1] == {
                "role": "user",
                "content": "Hello from xdotool",
            }
            time.sleep(0.5)  # let the reply paint before the picture
            subprocess.run(["import", "-window", "root", str(artifacts / "e2e.png")], check=True, timeout=30)

            # A second message whose reply is still streaming when the person quits.
            server.push(Reply(text=" ".join(f"word{i}" for i in range(500)), delay=0.05))
            _xdotool("type", "--delay", "20", "A long one please")
            _xdotool("key", "Return")
            _poll(
                "the reply to start streaming",
                lambda: len(_replies(database)) == 2 and _replies(database)[1][1],
            )
            _focus_window()
            _xdotool("key", "ctrl+q")

            app.wait(timeout=30)
        finally:
            if app.poll() is None:
                app.kill()
            _out, err = app.communicate()
    assert app.returncode == 0, err
    status, text = _replies(database)[1]
    assert status == "stopped"
    assert text.startswith("word0") and not text.endswith("word499")
    assert _log_says(log, "Desktop LLM closed cleanly")
