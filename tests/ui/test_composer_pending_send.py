"""The composer reads Stop from the moment a send is accepted, and Stop then calls the send off."""

from __future__ import annotations

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer, Reply
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


async def test_the_button_reads_stop_as_soon_as_enter_is_pressed_and_a_quick_second_enter_waits(
    qtbot, tmp_path, server
) -> None:
    server.push(Reply(text="First."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        composer = app.workspace.composer
        composer.set_text("One")
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
        # No event-loop turn yet: the service has not announced anything, the button already says Stop.
        assert composer.button.text() == "Stop" and composer.streaming
        composer.set_text("Two")
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
        assert composer.text() == "Two"  # kept in the box, not sent beside the first

        await wait_until(lambda: [m["status"] for m in app.messages()] == ["complete", "complete"])
        await wait_until(lambda: composer.button.text() == "Send", what="Send again")
        assert [m["content"] for m in app.messages()] == ["One", "First."]
        assert len(server.chat_requests) == 1
        assert "still streaming" not in app.composition.status_bar.toast_label.text()


async def test_stop_before_the_reply_started_calls_the_send_off_and_gives_the_text_back(
    qtbot, tmp_path, server
) -> None:
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        composer = app.workspace.composer
        composer.set_text("Never mind")
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
        assert composer.button.text() == "Stop" and composer.text() == ""

        composer.button.click()

        await wait_until(lambda: composer.button.text() == "Send", what="Send again")
        await wait_until(lambda: composer.text() == "Never mind", what="the text handed back")
        await app.idle()
        assert app.messages() == [] and server.chat_requests == []
        assert app.workspace.list_model.rowCount() == 0
