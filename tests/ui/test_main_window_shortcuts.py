"""Keyboard shortcuts listed in the menus, and what the window does on start with a crashed reply."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu
from test_main_window_search import populate

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository
from desktop_llm.ui.shell.main_window import MainWindow

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def test_every_shortcut_is_listed_in_a_menu(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.allow_close()
    listed = {
        action.text().split("\t")[-1] if "\t" in action.text() else action.shortcut().toString()
        for menu in window.menuBar().findChildren(QMenu)
        for action in menu.actions()
    }
    for keys in ("Ctrl+N", "Ctrl+K", "Ctrl+F", "Enter", "Esc", "Up", "Ctrl+Shift+E", "Ctrl+,", "Ctrl+Q"):
        assert keys in listed, keys
    titles = [action.text().replace("&", "") for action in window.menuBar().actions()]
    assert titles == ["File", "Edit", "View", "Chat", "Help"]


async def test_ctrl_n_ctrl_k_ctrl_f_and_ctrl_q(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot, tmp_path / "data", environ=fake_openai_environment(server), prepare=lambda db: populate(db, 2)
    ) as app:
        workspace = app.workspace
        workspace.open_conversation(workspace.list_model.first(1)[0].id)
        await wait_until(lambda: workspace.current_session().loaded)

        QTest.keyClick(app.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        assert workspace.current_session().conversation is None  # the new chat
        assert workspace.composer.editor.hasFocus()

        QTest.keyClick(workspace.composer.editor, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        assert workspace.sidebar.search_box.hasFocus()

        workspace.open_conversation(workspace.list_model.first(1)[0].id)
        await wait_until(lambda: workspace.current_session().loaded)
        view = app.view()
        # Inside the view its own shortcut answers; in the composer the workspace does. Never both.
        view.browser.setFocus()
        QTest.keyClick(view.browser, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert view.find_bar.isVisible()
        view.find_bar.hide()
        QTest.keyClick(workspace.composer.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert view.find_bar.isVisible()

        asked: list[bool] = []
        app.window.close_requested.connect(lambda: asked.append(True))
        QTest.keyClick(workspace.composer.editor, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        assert asked == [True]


def _crashed_reply(database: Path) -> None:
    """Leave a reply ``streaming``, as a crash in the middle of a stream would."""
    with Database.open(database) as db:
        chat = ConversationRepository(db).create("Crashed chat", provider_id="env:openai", model="model-a")
        messages = MessageRepository(db)
        question = messages.append(chat.id, parent_id=None, role="user", content="Tell me everything")
        reply = messages.append(
            chat.id, parent_id=question.id, role="assistant", content="", status="streaming"
        )
        messages.update_streaming(reply.id, "Half of the ans")


async def test_a_reply_left_streaming_by_a_crash_opens_as_interrupted(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot, tmp_path / "data", environ=fake_openai_environment(server), prepare=_crashed_reply
    ) as app:
        [(status, content)] = [
            tuple(r) for r in app.rows("SELECT status, content FROM messages WHERE role='assistant'")
        ]
        assert (status, content) == ("interrupted", "Half of the ans")
        app.workspace.open_conversation(app.workspace.list_model.first(1)[0].id)
        await wait_until(lambda: app.workspace.current_session().loaded)
        assert app.workspace.current_session().path[-1].status == "interrupted"
        assert app.workspace.composer.button.text() == "Send"
