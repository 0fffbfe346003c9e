"""Opening a long conversation in the chat view: time to first paint and memory, against one setHtml.

Each case runs in its own process (so resident memory is the case's own), offscreen by
default, on the same 5,000 synthesised messages (mixed markdown: paragraphs, lists, tables,
code blocks):

- ``chatview``: ChatView.set_messages (renders the newest messages, older ones on scroll-up);
- ``baseline``: every message rendered to HTML by the same renderer and shown with one
  QTextBrowser.setHtml of everything.

First paint: from the call until the view's viewport receives its first paint event, and
until that paint is done. Memory: the process's resident set (psutil) after the paint, and
its growth over the process before the call. Targets: first paint at most 150 ms, resident
memory at most 250 MB.

Usage: python bench/open_conversation.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import psutil  # noqa: E402
from PySide6.QtCore import QEvent, QObject  # noqa: E402
from PySide6.QtWidgets import QApplication, QTextBrowser, QWidget  # noqa: E402

from desktop_llm.core.highlight_pool import HighlightPool  # noqa: E402
from desktop_llm.core.markdown import MarkdownRenderer  # noqa: E402
from desktop_llm.core.theme import LIGHT  # noqa: E402
from desktop_llm.ui.chat.chat_view import ChatView, MessageView  # noqa: E402

TARGET_FIRST_PAINT_MS = 150.0
TARGET_RSS_MB = 250.0
SIZE = (900, 700)

REPLIES = [
    "Sure. Here is how **message {n}** works:\n\n- first, read the input\n- then, *transform* it\n"
    "- finally, write `result_{n}`\n\nThat is all.",
    "```python\ndef step_{n}(values: list[int]) -> int:\n    total = 0\n    for value in values:\n"
    "        total += value * {n}\n    return total\n```\n\nCall it with a list of numbers.",
    "| item | count |\n|------|------:|\n| apples | {n} |\n| pears | 3 |\n\n> Counts as of message {n}.",
    "## Notes {n}\n\n1. Check the [docs](https://example.com/{n}).\n2. Run the tests.\n\n"
    "A longer paragraph follows, with enough words to wrap over a couple of lines in a window of "
    "ordinary width, as replies usually do when they explain something in detail.",
]


def messages(count: int) -> list[MessageView]:
    """Return ``count`` messages alternating user and assistant, with varied markdown replies."""
    result = []
    for n in range(count):
        if n % 2 == 0:
            result.append(MessageView(f"m{n}", "user", f"Question {n}: how does step {n} work?"))
        else:
            content = REPLIES[(n // 2) % len(REPLIES)].format(n=n)
            result.append(MessageView(f"m{n}", "assistant", content, model="bench-model"))
    return result


class PaintWatch(QObject):
    """Record when a widget first receives a paint event."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.painted_at: float | None = None
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Note the first paint event; let every event through."""
        if event.type() == QEvent.Type.Paint and self.painted_at is None:
            self.painted_at = time.perf_counter()
        return False


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.005)


def measure(app: QApplication, browser: QTextBrowser, show: object) -> dict:
    """Call ``show()``, run the event loop until ``browser`` painted; return timings and memory."""
    process = psutil.Process()
    rss_before = process.memory_info().rss
    watch = PaintWatch(browser.viewport())
    start = time.perf_counter()
    show()  # type: ignore[operator]
    returned = time.perf_counter()
    while watch.painted_at is None:
        app.processEvents()
    painted = time.perf_counter()
    settle(app)
    rss_after = process.memory_info().rss
    return {
        "call_ms": round((returned - start) * 1000, 1),
        "first_paint_event_ms": round((watch.painted_at - start) * 1000, 1),
        "first_paint_done_ms": round((painted - start) * 1000, 1),
        "rss_mb": round(rss_after / 2**20, 1),
        "rss_growth_mb": round((rss_after - rss_before) / 2**20, 1),
    }


def run_case(case: str, count: int) -> dict:
    """Run one case in this process and return its figures."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    conversation = messages(count)
    if case == "chatview":
        view = ChatView(renderer=MarkdownRenderer(highlighter=HighlightPool()))  # as the app builds it
        view.resize(*SIZE)
        view.show()
        settle(app)
        result = measure(app, view.browser, lambda: view.set_messages(conversation))
        result["messages_rendered"] = sum(1 for m in conversation if view.message_text(m.id) is not None)
        return result
    browser = QTextBrowser()
    browser.resize(*SIZE)
    browser.show()
    settle(app)
    renderer = MarkdownRenderer(highlighter=HighlightPool())
    renderer.warm_up(LIGHT)  # as the chat view's renderer is by the time a conversation opens

    def show_all() -> None:
        parts = []
        for message in conversation:
            body = renderer.render_message(
                message.id, message.content, LIGHT, markdown=message.role == "assistant"
            )
            parts.append(f"<p><b>{message.role}</b></p>{body.html}")
        browser.setHtml("".join(parts))

    result = measure(app, browser, show_all)
    result["messages_rendered"] = count
    return result


def main(quick: bool) -> dict:
    count = 1000 if quick else 5000
    cases = {}
    for case in ("chatview", "baseline"):
        output = subprocess.run(
            [sys.executable, __file__, "--case", case, "--count", str(count)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        cases[case] = json.loads(output)
    ours, base = cases["chatview"], cases["baseline"]
    return {
        "benchmark": "open_conversation",
        "quick": quick,
        "platform": os.environ.get("QT_QPA_PLATFORM", ""),
        "messages": count,
        "figure": "first_paint_event_ms and rss_mb of ChatView.set_messages",
        "first_paint_event_ms": ours["first_paint_event_ms"],
        "rss_mb": ours["rss_mb"],
        "targets": {"first_paint_ms": TARGET_FIRST_PAINT_MS, "rss_mb": TARGET_RSS_MB},
        "meets_targets": ours["first_paint_event_ms"] <= TARGET_FIRST_PAINT_MS
        and ours["rss_mb"] <= TARGET_RSS_MB,
        "chatview": ours,
        "baseline": {"method": "render all, one QTextBrowser.setHtml", **base},
        "ratio_first_paint_baseline_over_ours": round(
            base["first_paint_event_ms"] / ours["first_paint_event_ms"], 1
        ),
        "ratio_rss_growth_baseline_over_ours": round(
            base["rss_growth_mb"] / max(0.1, ours["rss_growth_mb"]), 1
        ),
    }


def cli() -> None:
    """Parse arguments, run the cases (each in a fresh process) and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 messages instead of 5,000")
    parser.add_argument("--case", choices=("chatview", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=5000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.count)))
        return
    print(json.dumps(main(args.quick), indent=2))


if __name__ == "__main__":
    cli()
