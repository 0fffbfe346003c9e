"""The main window against the fake provider server: send, stream, stop, regenerate, branches, edit."""

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


async def test_a_sent_message_streams_in_and_is_saved_complete_with_usage(qtbot, tmp_path, server) -> None:
    server.push(Reply(text="Hello **there**, friend.", usage={"input_tokens": 9, "output_tokens": 5}))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        assert app.window.windowTitle().endswith("Desktop LLM")
        assert app.workspace.picker.provider_box.currentText() == "OpenAI (environment)"
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the default model")

        await app.type_and_send("Hi!")

        await wait_until(
            lambda: [m["status"] for m in app.messages()] == ["complete", "complete"], what="reply"
        )
        user, reply = app.messages()
        assert (user["role"], user["content"]) == ("user", "Hi!")
        assert reply["content"] == "Hello **there**, friend."
        assert (reply["input_tokens"], reply["output_tokens"]) == (9, 5)
        assert server.chat_requests[0].json["model"] == "model-a"
        assert server.chat_requests[0].headers["authorization"] == "Bearer sk-test-fake-key-0001"
        await wait_until(
            lambda: app.view().message_text(reply["id"]) == "Hello there, friend.", what="render"
        )
        assert app.workspace.composer.text() == ""
        await wait_until(lambda: app.workspace.composer.button.text() == "Send", what="Send again")
        # The new conversation is listed, selected, titled from the question, and usage is shown.
        model = app.workspace.list_model
        assert model.rowCount() == 1 and model.first(1)[0].id == reply["conversation_id"]
        assert app.workspace.sidebar.list_view.current_id() == reply["conversation_id"]
        await wait_until(lambda: model.first(1)[0].title == "Hi!", what="title")
        assert app.composition.status_bar.usage_label.text() == "9 in · 5 out tokens"


async def test_stop_ends_the_reply_at_once_and_keeps_its_text(qtbot, tmp_path, server) -> None:
    words = " ".join(f"word{i}" for i in range(200))
    server.push(Reply(text=words, delay=0.02))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("Count slowly")
        composer = app.workspace.composer
        await wait_until(lambda: composer.button.text() == "Stop", what="Stop button")
        await wait_until(
            lambda: len(server.chat_requests) == 1 and app.rows("SELECT 1 FROM messages"), what="req"
        )
        await wait_until(
            lambda: "Streaming" in app.composition.status_bar.activity_label.text(), what="streaming"
        )

        QTest.keyClick(composer.editor, Qt.Key.Key_Escape)

        await wait_until(lambda: app.messages()[-1]["status"] == "stopped", what="stopped")
        saved = app.messages()[-1]["content"]
        assert saved.startswith("word0 word1") and saved != words
        # The row is saved as stopped before the window hears the reply ended: wait for it.
        await wait_until(lambda: composer.button.text() == "Send", what="Send button")
        await wait_until(lambda: app.view().message_text(app.messages()[-1]["id"]) is not None)
        assert "word0" in app.view().message_text(app.messages()[-1]["id"])


async def test_regenerate_makes_a_sibling_and_the_branch_switcher_moves_between_them(
    qtbot, tmp_path, server
) -> None:
    server.push(Reply(text="First answer."), Reply(text="Second answer."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("Question")
        await wait_until(lambda: [m["status"] for m in app.messages()] == ["complete", "complete"])
        first = app.messages()[1]
        await app.idle()

        app.view().action_requested.emit("regenerate", first["id"])

        await wait_until(lambda: len(app.messages()) == 3 and app.messages()[2]["status"] == "complete")
        second = app.messages()[2]
        assert second["parent_id"] == first["parent_id"] and second["content"] == "Second answer."
        session = app.workspace.current_session()
        await wait_until(lambda: [m.content for m in session.path] == ["Question", "Second answer."])
        assert session.positions[second["id"]] == (1, 2)
        # The second request carried only the question, not the replaced reply.
        assert [m["content"] for m in server.chat_requests[1].json["messages"]] == ["Question"]
        await app.idle()

        app.view().action_requested.emit("previous_branch", second["id"])
        await wait_until(lambda: [m.content for m in session.path] == ["Question", "First answer."])
        await wait_until(lambda: app.view().message_text(first["id"]) == "First answer.")
        assert session.positions[first["id"]] == (0, 2)
        leaf = app.rows("SELECT current_leaf_id FROM conversations")[0][0]
        assert leaf == first["id"]

        app.view().action_requested.emit("next_branch", first["id"])
        await wait_until(lambda: [m.content for m in session.path] == ["Question", "Second answer."])


async def test_up_in_an_empty_composer_edits_the_last_message_and_sending_makes_a_branch(
    qtbot, tmp_path, server
) -> None:
    server.push(Reply(text="About cats."), Reply(text="About dogs."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("Tell me about cats")
        await wait_until(lambda: [m["status"] for m in app.messages()] == ["complete", "complete"])
        original = app.messages()[0]
        composer = app.workspace.composer
        await wait_until(lambda: composer.button.text() == "Send", what="the reply to end on screen")

        QTest.keyClick(composer.editor, Qt.Key.Key_Up)
        assert composer.editing_id == original["id"]
        assert composer.text() == "Tell me about cats"
        assert composer.edit_banner.isVisibleTo(composer)
        composer.set_text("Tell me about dogs")
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)

        await wait_until(lambda: len(app.messages()) == 4 and app.messages()[3]["status"] == "complete")
        edited, reply = app.messages()[2], app.messages()[3]
        assert (edited["role"], edited["content"], edited["parent_id"]) == (
            "user",
            "Tell me about dogs",
            None,
        )
        assert reply["parent_id"] == edited["id"] and reply["content"] == "About dogs."
        session = app.workspace.current_session()
        await wait_until(lambda: [m.content for m in session.path] == ["Tell me about dogs", "About dogs."])
        assert session.positions[edited["id"]] == (1, 2)
        assert composer.editing_id is None and composer.text() == ""


async def test_deleting_a_message_removes_it_and_its_replies(qtbot, tmp_path, server) -> None:
    server.push(Reply(text="One."), Reply(text="Two."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("first")
        await wait_until(lambda: len(app.messages()) == 2 and app.messages()[1]["status"] == "complete")
        await app.type_and_send("second")
        await wait_until(lambda: len(app.messages()) == 4 and app.messages()[3]["status"] == "complete")
        await app.idle()

        app.view().action_requested.emit("delete", app.messages()[2]["id"])

        await wait_until(lambda: len(app.messages()) == 2)
        session = app.workspace.current_session()
        await wait_until(lambda: [m.content for m in session.path] == ["first", "One."])
