"""Code highlighting never holds up the view: a hostile block is shown plain and the loop keeps turning."""

from __future__ import annotations

import itertools
import time

from chatview_support import anchor_hrefs, click_anchor, shown_view
from PySide6.QtCore import QTimer
from PySide6.QtGui import QTextFormat
from PySide6.QtWidgets import QApplication

from desktop_llm.core.highlight_pool import HighlightPool
from desktop_llm.core.markdown import MarkdownRenderer
from desktop_llm.ui.chat.chat_view import ChatView, MessageView

SCALA_TRAP = '"' + "\\" * 44  # minutes of backtracking in Pygments' Scala lexer


def coloured(view: ChatView, text: str) -> bool:
    cursor = view.browser.document().find(text)
    assert not cursor.isNull(), f"{text!r} is not shown"
    return cursor.charFormat().hasProperty(QTextFormat.Property.ForegroundBrush)


def test_a_74_character_reply_never_freezes_the_view(qtbot) -> None:
    pool = HighlightPool(budget=2.0)
    try:
        view = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=pool))
        ticks: list[float] = []
        probe = QTimer()
        probe.setInterval(5)
        probe.timeout.connect(lambda: ticks.append(time.perf_counter()))
        probe.start()
        reply = f"Here:\n\n```scala\n{SCALA_TRAP}\n```\n\nAnd:\n\n```python\nanswer = 42\n```\n"
        view.set_messages([MessageView("a1", "assistant", reply)])
        assert SCALA_TRAP in view.message_text("a1")  # shown at once, plain
        qtbot.waitUntil(lambda: coloured(view, "answer"), timeout=30_000)
        probe.stop()

        assert pool.timeouts == 1
        assert not coloured(view, SCALA_TRAP)
        # The event loop kept turning while the worker ran (and was killed).
        assert len(ticks) >= 20
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        print(f"longest stall of the Qt thread: {max(gaps) * 1000:.1f} ms over {len(ticks)} ticks")

        click_anchor(qtbot, view, "copy-code:a1:0")
        qtbot.waitUntil(lambda: QApplication.clipboard().text() == SCALA_TRAP)

        # Opening it again renders at once, plain, with no new attempt.
        again = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=pool))
        again.set_messages([MessageView("a1", "assistant", reply)])
        assert pool.idle() and coloured(again, "answer") and not coloured(again, SCALA_TRAP)
    finally:
        pool.close()


def test_colours_arrive_in_place_without_touching_the_rest_of_the_message(qtbot, highlight_pool) -> None:
    view = shown_view(qtbot, renderer=MarkdownRenderer(highlighter=highlight_pool))
    reply = "Intro paragraph.\n\n```python\nvalue = compute(7)\n```\n\nAfter the code."
    view.set_messages([MessageView("a1", "assistant", reply)])
    text_before = view.message_text("a1")
    qtbot.waitUntil(lambda: coloured(view, "compute"))
    assert view.message_text("a1") == text_before
    # The footer and everything after still sits where the message says it does.
    view.append_message(MessageView("u2", "user", "Thanks"))
    assert view.message_text("u2") == "Thanks"


def test_a_huge_reply_is_shown_cut_with_show_all_and_copy_gives_the_whole_code(qtbot) -> None:
    rows = "".join(f"| {i} | value {i} |\n" for i in range(1_000))
    code = "".join(f"line_{i} = {i}\n" for i in range(5_000))  # about 70 kB
    reply = f"| n | v |\n|---|---|\n{rows}\nAnd the code:\n\n```\n{code}```\n"
    view = shown_view(qtbot)
    view.set_messages([MessageView("a1", "assistant", reply)])
    shown = view.message_text("a1")
    assert "value 199" in shown and "value 200 " not in shown
    assert "800 more rows not shown" in shown
    assert "show-all:a1" in anchor_hrefs(view)

    click_anchor(qtbot, view, "copy-code:a1:0")
    qtbot.waitUntil(lambda: QApplication.clipboard().text() == code.removesuffix("\n"))

    click_anchor(qtbot, view, "show-all:a1")
    qtbot.waitUntil(lambda: "value 999" in (view.message_text("a1") or ""))
    assert "show-all:a1" not in anchor_hrefs(view)
