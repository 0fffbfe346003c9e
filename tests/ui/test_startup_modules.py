"""The real app's start-up: the first paint lists the conversations, and the heavy libraries wait.

Each test starts the app in a fresh process (a test process has imported everything already),
lets it settle half a second after the window has its workspace, and reads the child's report:
whether the window's first paint showed the conversation list with rows, and ``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database

pytestmark = pytest.mark.ui

# Loaded when first used (a provider called, a key read, a reply rendered, a file attached, a
# formula drawn, a model metered, a tool server started), never by a start-up alone.
DEFERRED = (
    "httpx",
    "httpcore",
    "keyring",
    "secretstorage",
    "markdown_it",
    "pygments",
    "mcp",
    "pypdfium2",
    "PIL",
    "ziamath",
    "tiktoken",
)
PROVIDER_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "OLLAMA_HOST",
)
CHILD = """
import json, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QListView, QMainWindow, QWidget

app = QApplication(sys.argv[:1])
report = {}

def window():
    return next((w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)), None)

def listed(shown):
    views = shown.findChildren(QListView) if shown else []
    return [v.model().rowCount() for v in views if type(v).__name__ == "ConversationList" and v.isVisible()]

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if "first_paint" not in report and event.type() == QEvent.Type.Paint and isinstance(watched, QWidget):
            if isinstance(watched.window(), QMainWindow):
                report["first_paint"] = listed(watched.window())
        return False

def settle():
    shown = window()
    if shown is None or type(shown.centralWidget()).__name__ != "Workspace":
        QTimer.singleShot(20, settle)
        return
    def done():
        report["modules"] = sorted(sys.modules)
        print(json.dumps(report), flush=True)
        shown.close()
    QTimer.singleShot(500, done)

watcher = FirstPaint()
app.installEventFilter(watcher)
QTimer.singleShot(0, settle)
from desktop_llm.app import run_gui
sys.exit(run_gui(data_dir=sys.argv[1]))
"""


def start_and_settle(repo_root: Path, data_dir: Path) -> dict[str, list[object]]:
    """Run the app on ``data_dir`` until it settles; return its report."""
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_VARIABLES}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(repo_root))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir)],
        cwd=data_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, list[object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_the_first_paint_shows_the_conversations_and_heavy_libraries_wait_for_use(
    repo_root: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with Database.open(data / "desktop-llm.sqlite3") as db, db.transaction():
        chats = ConversationRepository(db)
        for number in range(30):
            chats.create(f"Chat {number}", provider_id="env:openai", model="gpt-4o-mini")

    report = start_and_settle(repo_root, data)

    assert report["first_paint"] == [30], "the first paint did not show the conversation list"
    loaded = {name.split(".")[0] for name in report["modules"]}  # type: ignore[union-attr]
    early = sorted(loaded & set(DEFERRED))
    assert not early, f"loaded at start-up, before any use: {early}"
    assert "desktop_llm.ui.shell.composition" in report["modules"]  # the app did start fully
