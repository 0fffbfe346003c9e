"""Search all chats from the sidebar, find in a chat, and a loop that stays responsive meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.loop_lag import LoopLagProbe
from fakes.provider_server import ProviderServer
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_llm.storage.conversations import ConversationRepository
from desktop_llm.storage.database import Database
from desktop_llm.storage.messages import MessageRepository

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def populate(path: Path, conversations: int, *, messages_each: int = 4, needle_in: int | None = None) -> None:
    """Fill a database with conversations of plain chat text; one of them mentions "zanzibar"."""
    with Database.open(path) as db, db.transaction():
        chats, messages = ConversationRepository(db), MessageRepository(db)
        for number in range(conversations):
            conversation = chats.create(f"Chat number {number}", provider_id="env:openai", model="model-a")
            parent = None
            for turn in range(messages_each):
                role = "user" if turn % 2 == 0 else "assistant"
                text = f"Message {turn} of chat {number}: the weather, travel plans and some code."
                if number == needle_in and turn == 1:
                    text = "Spice markets of Zanzibar are worth a morning. Go early."
                parent = messages.append(conversation.id, parent_id=parent, role=role, content=text).id


async def test_a_search_hit_opens_its_conversation_at_the_message(qtbot, tmp_path, server) -> None:
    data = tmp_path / "data"
    async with open_app(
        qtbot, data, environ=fake_openai_environment(server), prepare=lambda db: populate(db, 30, needle_in=7)
    ) as app:
        sidebar = app.workspace.sidebar
        assert app.workspace.list_model.rowCount() == 30
        QTest.keyClick(app.window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        assert sidebar.search_box.hasFocus()
        QTest.keyClicks(sidebar.search_box, "zanzi")

        await wait_until(lambda: sidebar.results_model.rowCount() == 1, what="one hit")
        assert sidebar.searches_run == 1  # five keystrokes, one query: the box waits for a pause
        hit = sidebar.results_model.hits()[0]
        assert hit.title == "Chat number 7" and "[Zanzibar]" in hit.snippet
        assert sidebar.stack.currentWidget() is sidebar.results_view

        index = sidebar.results_model.index(0)
        QTest.mouseClick(
            sidebar.results_view.viewport(),
            Qt.MouseButton.LeftButton,
            pos=sidebar.results_view.visualRect(index).center(),
        )

        await wait_until(lambda: app.current_id() == hit.conversation_id, what="the conversation opens")
        await wait_until(lambda: app.view().selected_text() == "Zanzibar", what="the match selected")
        assert app.window.windowTitle() == "Chat number 7 — Desktop LLM"

        QTest.keyClick(sidebar.search_box, Qt.Key.Key_Escape)
        assert sidebar.search_box.text() == "" and sidebar.stack.currentWidget() is sidebar.list_view


async def test_a_search_with_no_hits_says_so_and_stale_answers_are_dropped(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot, tmp_path / "data", environ=fake_openai_environment(server), prepare=lambda db: populate(db, 5)
    ) as app:
        sidebar = app.workspace.sidebar
        sidebar.search_box.setText("weather")
        sidebar.on_debounce_timeout()  # a query goes out for "weather"...
        sidebar.search_box.setText("qwertyuiop")  # ...and the person types on before it answers
        await wait_until(lambda: sidebar.stack.currentWidget() is sidebar.no_results, what="no results")
        await app.composition.tasks.join()
        assert sidebar.results_model.rowCount() == 0  # the "weather" hits never showed up


async def test_ctrl_f_opens_the_find_bar_of_the_open_chat(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot, tmp_path / "data", environ=fake_openai_environment(server), prepare=lambda db: populate(db, 3)
    ) as app:
        conversation_id = app.workspace.list_model.first(1)[0].id
        app.workspace.open_conversation(conversation_id)
        await wait_until(lambda: app.workspace.current_session().loaded, what="loaded")
        view = app.view()
        assert not view.find_bar.isVisible()

        QTest.keyClick(app.workspace.composer.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)

        assert view.find_bar.isVisible()
        assert view.find_text("travel plans")
        assert view.selected_text() == "travel plans"


async def test_the_event_loop_stays_responsive_while_searching_a_big_database(
    qtbot, tmp_path, server
) -> None:
    async with open_app(
        qtbot,
        tmp_path / "data",
        environ=fake_openai_environment(server),
        prepare=lambda db: populate(db, 1500, messages_each=6, needle_in=900),
    ) as app:
        sidebar = app.workspace.sidebar
        with LoopLagProbe() as probe:
            for query in ("wea", "weather", "travel pla", "code", "zanzibar", "chat 1", "message 3"):
                sidebar.search_box.setText(query)
                sidebar.on_debounce_timeout()
                await asyncio.sleep(0)
                await app.composition.tasks.join()
        assert sidebar.results_model.rowCount() > 0
        worst = probe.worst_ms
        print(f"\nevent-loop lag searching 9,000 messages: max gap {worst:.1f} ms, {len(probe.gaps)} ticks")
        assert worst < 500  # generous: timings are reported, not judged
