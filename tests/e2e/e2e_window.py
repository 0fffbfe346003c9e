"""Drive the real app under Xvfb as a person would: start it, type, take pictures, quit.

The app runs as a subprocess with ``QT_QPA_PLATFORM=xcb`` on the ``DISPLAY`` that
``scripts/test.sh`` starts, with ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` pointing at the fake
provider server in the test's process. Keys go in with xdotool; what happened is read from the
database file with sqlite3; pictures of the screen are kept in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from fakes.provider_server import ProviderServer

E2E_MARKS = [
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
T = TypeVar("T")


def environment(repo_root: Path, server: ProviderServer) -> dict[str, str]:
    """Return the app's environment: X, and an OpenAI entry on the fake server."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="xcb",
        OPENAI_API_KEY="sk-e2e-test-key-000000",
        OPENAI_BASE_URL=server.url_for("openai"),
    )
    if not os.environ.get("DESKTOP_LLM_TEST_INSTALLED"):
        env["PYTHONPATH"] = str(repo_root)
    return env


def xdotool(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=30)


def focus_window() -> None:
    """Bring the app's window to the front and give it the keyboard.

    ``windowactivate`` needs a window manager; bare Xvfb has none, so focus the window directly.
    """
    activate = ["xdotool", "search", "--sync", "--name", WINDOW_NAME, "windowactivate", "--sync"]
    if subprocess.run(activate, timeout=30, capture_output=True).returncode != 0:
        xdotool("search", "--sync", "--name", WINDOW_NAME, "windowfocus", "--sync")


def poll(what: str, condition: Callable[[], T], timeout: float = 30.0) -> T:
    """Return ``condition()`` once it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def replies(database: Path) -> list[tuple[str, str]]:
    """Return every reply's status and text, in order."""
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT status, content FROM messages WHERE role = 'assistant' ORDER BY seq"
        ).fetchall()


def log_says(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(encoding="utf-8")


@dataclass
class RunningApp:
    """The app's process and where it keeps its data; ``stderr`` is filled in once it has ended."""

    process: subprocess.Popen[str]
    database: Path
    log: Path
    artifacts: Path
    stderr: str = ""

    def screenshot(self, name: str) -> None:
        """Keep a picture of the whole screen as ``test-artifacts/<name>``."""
        time.sleep(0.5)  # let the last change paint before the picture
        subprocess.run(["import", "-window", "root", str(self.artifacts / name)], check=True, timeout=30)

    def quit(self) -> None:
        """Quit with Ctrl+Q as a person would, and wait for the process to end."""
        focus_window()
        xdotool("key", "ctrl+q")
        self.process.wait(timeout=30)


@contextmanager
def running_app(repo_root: Path, tmp_path: Path, env: dict[str, str]) -> Iterator[RunningApp]:
    """Start the app on a data folder in ``tmp_path``, wait for its window, focus it; kill it at the end."""
    data = tmp_path / "data"
    artifacts = repo_root / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "desktop_llm", "--data-dir", str(data)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    app = RunningApp(process, data / "desktop-llm.sqlite3", data / "logs" / "desktop-llm.log", artifacts)
    try:
        poll(
            "the window to be ready",
            lambda: log_says(app.log, "the window is ready") or process.poll() is not None,
        )
        assert process.poll() is None, process.communicate()
        focus_window()
        yield app
    finally:
        if process.poll() is None:
            process.kill()
        _out, app.stderr = process.communicate()
