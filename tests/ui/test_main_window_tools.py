"""Tool calls in the window: the fake provider calls a real MCP server; the person answers in the chat."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from app_harness import App, fake_openai_environment, open_app, wait_until
from chatview_support import anchor_hrefs, click_anchor
from fakes.provider_server import ProviderServer, Reply
from fakes.wire_base import ScriptedCall
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_llm.core.mcp_config import McpServerConfig
from desktop_llm.core.message_chrome import TOGGLE_TOOL, action_href
from desktop_llm.services.tool_loop import DECLINED

pytestmark = [
    pytest.mark.ui,
    # In-process, the app's qasync loop sometimes never wakes a task cancelled at shutdown while
    # a stdio MCP server runs (anyio subprocess under qasync): the test then hangs at the end.
    # The same flow runs for real in tests/e2e/test_e2e_tools.py; run these by hand with
    # DESKTOP_LLM_TOOL_WINDOW_TESTS=1 until the shutdown hang is found.
    pytest.mark.skipif(
        not os.environ.get("DESKTOP_LLM_TOOL_WINDOW_TESTS"), reason="may hang at shutdown (see the comment)"
    ),
]

FAKE_MCP = str(Path(__file__).resolve().parent.parent / "fakes" / "mcp_server.py")
ADD = ScriptedCall("add_numbers", '{"a": 40, "b": 2}', id="call_1")


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


async def settle(app: App) -> None:
    """Let the work a reply's end starts (costs, the meter) finish before the app shuts down."""
    await app.idle()
    await wait_until(lambda: app.composition.tasks.pending == 0, what="background work")


async def add_calc_server(app: App) -> None:
    services = app.composition.services
    assert services.mcp_config is not None and services.mcp is not None
    await services.mcp_config.save(McpServerConfig("calc", "stdio", command=sys.executable, args=(FAKE_MCP,)))
    await services.mcp.reload()


async def ask_and_wait_for_the_question(app: App, text: str) -> None:
    await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the default model")
    await app.type_and_send(text)
    await wait_until(lambda: app.view().approval_bar.call_id == "call_1", seconds=30, what="the question")


async def test_an_approved_call_runs_and_shows_as_a_block_that_opens(qtbot, tmp_path, server) -> None:
    server.push(Reply(text="Let me add.", tool_calls=[ADD]), Reply(text="It is 42."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await add_calc_server(app)
        await ask_and_wait_for_the_question(app, "What is 40 + 2?")
        bar = app.view().approval_bar
        assert bar.isVisible()
        assert "add_numbers" in bar.title.text() and "calc" in bar.title.text()
        assert '"a": 40' in bar.arguments.toPlainText()
        assert app.workspace.composer.button.text() == "Stop"  # the reply is still on

        qtbot.mouseClick(bar.allow_once, Qt.MouseButton.LeftButton)

        await wait_until(lambda: len(app.messages()) == 4 and app.messages()[-1]["status"] == "complete")
        roles = [(m["role"], m["content"]) for m in app.messages()]
        assert roles == [
            ("user", "What is 40 + 2?"),
            ("assistant", "Let me add."),
            ("tool", "42"),
            ("assistant", "It is 42."),
        ]
        await wait_until(lambda: not bar.isVisible(), what="the bar to go")
        await wait_until(lambda: app.workspace.composer.button.text() == "Send", what="Send again")
        tool_id = app.messages()[2]["id"]
        view = app.view()
        shown = view.message(tool_id)
        assert shown is not None and shown.tool is not None
        assert (shown.tool.name, shown.tool.server) == ("add_numbers", "calc")
        assert "Called add_numbers" in view.browser.toPlainText()
        assert '"a": 40' not in view.message_text(tool_id)  # collapsed by default

        click_anchor(qtbot, view, action_href(TOGGLE_TOOL, tool_id))

        assert view.is_tool_expanded(tool_id)
        opened = view.message_text(tool_id)
        assert '"a": 40' in opened and "42" in opened
        await settle(app)

    # After a restart the same conversation shows the same block.
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        conversation_id = app.messages()[0]["conversation_id"]
        app.workspace.open_conversation(conversation_id)
        await wait_until(lambda: app.view().message(tool_id) is not None, what="the block after a restart")
        assert app.view().message(tool_id).tool.arguments == '{\n  "a": 40,\n  "b": 2\n}'
        assert action_href(TOGGLE_TOOL, tool_id) in anchor_hrefs(app.view())
        await settle(app)


async def test_deny_with_the_keyboard_tells_the_model(qtbot, tmp_path, server) -> None:
    server.push(Reply(tool_calls=[ADD]), Reply(text="Alright, I won't."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await add_calc_server(app)
        await ask_and_wait_for_the_question(app, "Add please")
        bar = app.view().approval_bar

        QTest.keyClick(app.window, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)

        await wait_until(
            lambda: len(app.messages()) == 4 and app.messages()[-1]["status"] == "complete", what="the reply"
        )
        assert app.messages()[2]["content"] == DECLINED
        assert server.chat_requests[1].json["messages"][-1]["content"] == DECLINED
        assert not bar.isVisible()
        await settle(app)


async def test_stop_while_asked_hides_the_question(qtbot, tmp_path, server) -> None:
    server.push(Reply(tool_calls=[ADD]))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await add_calc_server(app)
        await ask_and_wait_for_the_question(app, "Add please")

        QTest.keyClick(app.workspace.composer.editor, Qt.Key.Key_Escape)

        await wait_until(lambda: not app.view().approval_bar.isVisible(), what="the bar to go")
        await app.idle()
        assert [m["role"] for m in app.messages()] == ["user", "assistant", "tool"]
        assert app.messages()[1]["status"] == "stopped"
        await settle(app)
