"""Time from launch to a painted window: the real app on a 2,000-conversation database vs a bare Qt window.

Each run starts a fresh process (interpreter start and imports included, as a person double-
clicking would), alternating app and baseline so drift hits both alike. The child reports the
first paint of its main window (a Paint event on a widget of a ``QMainWindow``), then, for the
app, when the conversations are listed ("ready": a visible conversation list with rows; when the
first paint already shows it, ready is the first paint), with its resident memory; the parent
reads the times off the child's stdout. The baseline is a bare PySide6 ``QMainWindow`` with a label.
Then, half a second after that, its resident memory again ("idle"); and, since the services now
load after the first paint, half a second after the whole window is built (the workspace in,
"settled"), so what the deferred parts cost is not hidden. Targets: app / bare first paint <= 1.5
(medians of 7), idle memory <= 120 MB.

Usage: python bench/startup.py [--quick] [--runs N] [--conversations N] [--platform offscreen|xcb]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
TARGET_IDLE_MB = 120.0
CHILD_TIMEOUT = 60.0


# -- the child --------------------------------------------------------------------------------


def _child(kind: str, data_dir: str) -> int:
    """Run the app or the bare window, printing "painted" and "ready <rss bytes>" when they happen."""
    import psutil
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QListView, QMainWindow, QWidget

    app = QApplication(sys.argv[:1])
    state = {"painted": False, "idle": False}

    def say(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (
                not state["painted"]
                and event.type() == QEvent.Type.Paint
                and isinstance(watched, QWidget)
                and isinstance(watched.window(), QMainWindow)
            ):
                state["painted"] = True
                say("painted")
                # Checked now, inside the first paint: is the real list in it?
                wait_until_ready()
            return False

    def main_window() -> QMainWindow | None:
        return next((w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)), None)

    def lists_conversations(window: QMainWindow | None) -> bool:
        views = window.findChildren(QListView) if window else []
        return any(
            type(view).__name__ == "ConversationList" and view.isVisible() and view.model().rowCount() > 0
            for view in views
        )

    def wait_until_ready() -> None:
        window = main_window()
        if kind == "app" and not lists_conversations(window):
            QTimer.singleShot(10, wait_until_ready)
            return
        say(f"ready {psutil.Process().memory_info().rss}")
        # Idle memory: half a second after the window shows its real content, as a person sees it.
        QTimer.singleShot(500, idle)
        QTimer.singleShot(0, wait_until_settled)

    def idle() -> None:
        say(f"idle {psutil.Process().memory_info().rss}")
        state["idle"] = True

    def wait_until_settled() -> None:
        window = main_window()
        central = window.centralWidget() if window else None
        if kind == "app" and type(central).__name__ != "Workspace":
            QTimer.singleShot(10, wait_until_settled)
            return

        def settled() -> None:
            if not state["idle"]:  # timers are coarse: say "idle" first, then close
                QTimer.singleShot(10, settled)
                return
            say(f"settled {psutil.Process().memory_info().rss}")
            if window is not None:
                window.close()

        QTimer.singleShot(500, settled)

    watcher = FirstPaint()
    app.installEventFilter(watcher)
    if kind == "bare":
        window = QMainWindow()
        window.setWindowTitle("bare")
        window.setCentralWidget(QLabel("Hello"))
        window.resize(1200, 780)
        window.show()
        return app.exec()
    from desktop_llm.app import run_gui

    return run_gui(data_dir=data_dir)


# -- the parent -------------------------------------------------------------------------------


def populate(data_dir: Path, conversations: int) -> None:
    """Create the app's database with ``conversations`` chats of four messages each."""
    sys.path.insert(0, str(ROOT))
    from desktop_llm.storage.conversations import ConversationRepository
    from desktop_llm.storage.database import Database
    from desktop_llm.storage.messages import MessageRepository

    data_dir.mkdir(parents=True, exist_ok=True)
    with Database.open(data_dir / "desktop-llm.sqlite3") as db, db.transaction():
        chats, messages = ConversationRepository(db), MessageRepository(db)
        for number in range(conversations):
            chat = chats.create(f"Conversation {number}", provider_id="env:openai", model="gpt-4o-mini")
            parent = None
            for turn in range(4):
                role = "user" if turn % 2 == 0 else "assistant"
                text = f"Turn {turn} of conversation {number}: a question, an answer with `code` and a list."
                parent = messages.append(chat.id, parent_id=parent, role=role, content=text).id


def _measure(kind: str, data_dir: Path, env: dict[str, str]) -> dict[str, float]:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--data-dir", str(data_dir)],
        cwd=data_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    result: dict[str, float] = {}
    assert child.stdout is not None
    for line in child.stdout:
        now = (time.perf_counter() - started) * 1000
        if line.startswith("painted"):
            result["paint_ms"] = now
        elif line.startswith("ready"):
            result["ready_ms"] = now
            result["rss_mb"] = int(line.split()[1]) / 2**20
        elif line.startswith("idle"):
            result["idle_rss_mb"] = int(line.split()[1]) / 2**20
        elif line.startswith("settled"):
            result["settled_rss_mb"] = int(line.split()[1]) / 2**20
    child.wait(timeout=CHILD_TIMEOUT)
    if child.returncode != 0 or "paint_ms" not in result:
        raise RuntimeError(f"the {kind} child failed (exit {child.returncode})")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs, 500 conversations")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--conversations", type=int, default=None)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    parser.add_argument("--child", choices=("app", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child, args.data_dir)

    runs = args.runs or (3 if args.quick else 7)
    conversations = args.conversations or (500 if args.quick else 2000)
    env = dict(os.environ, QT_QPA_PLATFORM=args.platform, PYTHONPATH=str(ROOT))
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
    ):
        env.pop(name, None)
    env["OPENAI_API_KEY"] = "sk-bench-not-used"  # one provider, so the app opens a chat, not the welcome
    env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"  # nothing listens: no request leaves the machine
    with tempfile.TemporaryDirectory(prefix="desktop-llm-bench-") as folder:
        data = Path(folder) / "data"
        populate(data, conversations)
        env["HOME"] = env["XDG_CONFIG_HOME"] = str(Path(folder) / "home")
        app_runs, bare_runs = [], []
        for _ in range(runs):
            app_runs.append(_measure("app", data, env))
            bare_runs.append(_measure("bare", data, env))

    def median(samples: list[dict[str, float]], key: str) -> float:
        return round(statistics.median(s[key] for s in samples), 1)

    app_paint, bare_paint = median(app_runs, "paint_ms"), median(bare_runs, "paint_ms")
    report = {
        "benchmark": "startup",
        "platform": args.platform,
        "runs": runs,
        "conversations": conversations,
        "app_first_paint_ms": app_paint,
        "bare_first_paint_ms": bare_paint,
        "ratio": round(app_paint / bare_paint, 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": app_paint / bare_paint <= TARGET_RATIO,
        "app_ready_ms": median(app_runs, "ready_ms"),
        # The first paint is the window's frame; "ready" is the real conversation list shown.
        "ratio_ready_vs_bare_paint": round(median(app_runs, "ready_ms") / bare_paint, 2),
        "app_rss_mb": median(app_runs, "rss_mb"),
        "bare_rss_mb": median(bare_runs, "rss_mb"),
        "rss_ratio": round(median(app_runs, "rss_mb") / median(bare_runs, "rss_mb"), 2),
        "app_idle_rss_mb": median(app_runs, "idle_rss_mb"),
        "bare_idle_rss_mb": median(bare_runs, "idle_rss_mb"),
        "target_idle_rss_mb": TARGET_IDLE_MB,
        "meets_idle_target": median(app_runs, "idle_rss_mb") <= TARGET_IDLE_MB,
        # Half a second after the services and the rest of the window are built (they load after
        # the first paint): the memory of the whole running app, idle.
        "app_settled_rss_mb": median(app_runs, "settled_rss_mb"),
        "meets_idle_target_settled": median(app_runs, "settled_rss_mb") <= TARGET_IDLE_MB,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
