"""Tool calls in the chat view: collapsed blocks that open, find inside them, the approval bar's answers."""

from __future__ import annotations

import pytest
from chatview_support import click_anchor, shown_view
from PySide6.QtCore import Qt

from desktop_llm.core.message_chrome import TOGGLE_TOOL, MessageView, ToolBlock, action_href
from desktop_llm.services.chat_events import ToolApprovalNeeded

pytestmark = pytest.mark.ui

ARGS = '{\n  "city": "Lisbon"\n}'


def conversation() -> list[MessageView]:
    return [
        MessageView(id="u1", role="user", content="Weather in Lisbon?"),
        MessageView(id="a1", role="assistant", content="Let me look.", tool_calls=("get_weather",)),
        MessageView(
            id="t1",
            role="tool",
            content="Sunny, 21 degrees",
            tool=ToolBlock("get_weather", "weather", ARGS, False, 35),
        ),
        MessageView(
            id="t2",
            role="tool",
            content="Error: the station is offline",
            tool=ToolBlock("get_station", "weather", "{}", True, 12),
        ),
        MessageView(id="a2", role="assistant", content="It is sunny."),
    ]


def test_tool_blocks_are_collapsed_and_open_with_a_click(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(conversation())
    text = view.browser.toPlainText()
    assert "Tool" in text and "get_weather" in text and "weather" in text and "35 ms" in text
    assert "Called get_weather" in text
    assert ARGS not in view.message_text("t1")
    assert "failed" in text  # the failed call says so in its header

    click_anchor(qtbot, view, action_href(TOGGLE_TOOL, "t1"))

    assert view.is_tool_expanded("t1")
    opened = view.message_text("t1")
    assert '"city": "Lisbon"' in opened and "Sunny, 21 degrees" in opened
    assert "Arguments" in view.browser.toPlainText() and "Result" in view.browser.toPlainText()
    click_anchor(qtbot, view, action_href(TOGGLE_TOOL, "t1"))
    assert not view.is_tool_expanded("t1")


def test_the_toggle_is_reached_with_tab_and_opened_with_enter(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(conversation()[:3])
    browser = view.browser
    browser.setFocus()
    for _ in range(30):
        qtbot.keyClick(browser, Qt.Key.Key_Tab)
        cursor = browser.textCursor()
        if cursor.hasSelection() and cursor.charFormat().anchorHref() == action_href(TOGGLE_TOOL, "t1"):
            break
    else:
        raise AssertionError("Tab never reached the tool block's toggle")
    qtbot.keyClick(browser, Qt.Key.Key_Return)
    assert view.is_tool_expanded("t1")


def test_find_opens_the_block_holding_the_text(qtbot) -> None:
    view = shown_view(qtbot)
    view.set_messages(conversation())
    assert view.find_text("station is offline")
    assert view.is_tool_expanded("t2") and not view.is_tool_expanded("t1")


def test_the_approval_bar_shows_the_call_and_reports_each_answer(qtbot) -> None:
    view = shown_view(qtbot)
    bar = view.approval_bar
    assert not bar.isVisible()
    answers: list[tuple[str, str]] = []
    bar.answered.connect(lambda call_id, answer: answers.append((call_id, answer)))

    for call_id, button in (("c1", bar.allow_once), ("c2", bar.always), ("c3", bar.deny)):
        bar.ask(ToolApprovalNeeded("conv", "a1", call_id, "get_weather", "weather", ARGS))
        assert bar.isVisible() and bar.arguments.toPlainText() == ARGS
        assert "get_weather" in bar.title.text() and "weather" in bar.title.text()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    assert answers == [("c1", "allow-once"), ("c2", "always"), ("c3", "deny")]
    assert not bar.isVisible()  # nothing is running: the bar goes
    bar.running("c1", "get_weather", "weather")
    assert bar.isVisible() and "Running get_weather (weather)" in bar.status.text()
    bar.finished("c1")
    assert not bar.isVisible()
