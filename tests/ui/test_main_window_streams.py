"""Several replies at once, failures shown where they happen, and nothing lost on the way out."""

from __future__ import annotations

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer, Reply

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def _slow(prefix: str, words: int = 60, delay: float = 0.02) -> Reply:
    return Reply(text=" ".join(f"{prefix}{i}" for i in range(words)), delay=delay)


async def test_switching_chats_while_one_streams_keeps_each_reply_in_its_own_chat(
    qtbot, tmp_path, server
) -> None:
    first_text, second_text = _slow("alpha").text, _slow("beta").text
    server.push(_slow("alpha"), _slow("beta"))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        workspace = app.workspace
        await wait_until(lambda: workspace.picker.model(), what="model")
        await app.type_and_send("first chat")
        await wait_until(lambda: workspace.composer.button.text() == "Stop", what="first stream")
        # Stop shows as soon as Enter is pressed; wait until the chat is saved and its reply runs.
        await wait_until(lambda: app.current_id() is not None, what="first chat saved")
        first_id = app.current_id()
        first_view = app.view()

        workspace.new_chat()  # the reply keeps streaming out of sight
        assert workspace.composer.button.text() == "Send"
        await wait_until(lambda: workspace.picker.model(), what="model")
        await app.type_and_send("second chat")
        await wait_until(lambda: workspace.composer.button.text() == "Stop", what="second stream")
        await wait_until(lambda: app.current_id() is not None, what="second chat saved")
        second_id = app.current_id()
        assert second_id != first_id
        await wait_until(
            lambda: workspace.sessions.is_streaming(first_id) and workspace.sessions.is_streaming(second_id)
        )

        workspace.open_conversation(first_id)
        assert app.view() is first_view
        assert workspace.composer.button.text() == "Stop"

        def finished(cid: str) -> bool:
            rows = app.messages(cid)
            return len(rows) == 2 and rows[1]["status"] == "complete"

        await wait_until(lambda: finished(first_id) and finished(second_id), what="both replies", seconds=20)
        assert app.messages(first_id)[1]["content"] == first_text
        assert app.messages(second_id)[1]["content"] == second_text
        await wait_until(lambda: first_view.message_text(app.messages(first_id)[1]["id"]) == first_text)
        second_view = workspace.sessions.get(second_id).view
        await wait_until(lambda: second_view.message_text(app.messages(second_id)[1]["id"]) == second_text)
        assert "alpha" not in (second_view.message_text(app.messages(second_id)[1]["id"]) or "")
        # Both replies moved their conversations to the top; the list marks none as replying now.
        assert {c.id for c in workspace.list_model.first(2)} == {first_id, second_id}


async def test_a_rejected_key_shows_what_to_do_in_the_conversation(qtbot, tmp_path, server) -> None:
    server.push(Reply(status=401, error_message="Incorrect API key provided"))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("hello?")
        await wait_until(lambda: len(app.messages()) == 2 and app.messages()[1]["status"] == "error")
        error = app.messages()[1]["error"]
        assert "API key" in error and ("OPENAI_API_KEY" in error or "Settings" in error)
        assert "sk-test-fake-key-0001" not in error
        label = app.composition.status_bar.activity_label
        await wait_until(
            lambda: label.text().startswith("Last reply failed:"), what="the failure in the status bar"
        )
        assert "API key" in label.text()
        session = app.workspace.current_session()
        assert session.path[-1].status == "error" and session.path[-1].error == error
        assert app.workspace.composer.button.text() == "Send"


async def test_a_rate_limit_shows_the_retry_then_the_reply(qtbot, tmp_path, server) -> None:
    server.push(Reply(status=429, headers={"retry-after": "0.1"}), Reply(text="Worth the wait."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        shown: list[str] = []
        app.composition.status_bar.activity_changed.connect(shown.append)
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("busy?")
        await wait_until(lambda: len(app.messages()) == 2 and app.messages()[1]["status"] == "complete")
        assert app.messages()[1]["content"] == "Worth the wait."
        await wait_until(lambda: shown[-1] == "", what="the status bar to clear")
        assert any(text.startswith("The provider is busy; retrying in") for text in shown), shown
        assert shown[0] == "Connecting…"


async def test_a_dropped_stream_keeps_its_text_and_retry_gets_a_full_reply(qtbot, tmp_path, server) -> None:
    server.push(Reply(text="one two three four five six", drop_after=3), Reply(text="A complete answer."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("go")
        await wait_until(lambda: len(app.messages()) == 2 and app.messages()[1]["status"] == "interrupted")
        broken = app.messages()[1]
        assert broken["content"] == "one two three"
        await wait_until(lambda: (app.view().message_text(broken["id"]) or "").startswith("one two three"))
        await app.idle()

        app.view().action_requested.emit("retry", broken["id"])

        await wait_until(lambda: len(app.messages()) == 3 and app.messages()[2]["status"] == "complete")
        assert app.messages()[2]["content"] == "A complete answer."
        assert app.messages()[2]["parent_id"] == broken["parent_id"]
        session = app.workspace.current_session()
        await wait_until(lambda: [m.content for m in session.path] == ["go", "A complete answer."])


async def test_a_send_that_fails_before_it_is_saved_keeps_the_draft(qtbot, tmp_path, server) -> None:
    server.models = []  # no model to default to: the send cannot start
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        workspace = app.workspace
        await wait_until(lambda: workspace.picker.model_box.toolTip() == "0 models from this provider")
        await app.type_and_send("please keep me")
        await wait_until(lambda: workspace.composer.text() == "please keep me", what="the draft back")
        assert "Choose a provider and a model" in app.composition.status_bar.currentMessage()
        assert app.messages() == []
        assert workspace.list_model.rowCount() == 0


async def test_closing_with_a_reply_streaming_saves_it_as_stopped(qtbot, tmp_path, server) -> None:
    server.push(_slow("gamma", words=400))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model(), what="model")
        await app.type_and_send("long story please")
        await wait_until(
            lambda: app.composition.status_bar.tracker.describe(app.current_id()).startswith("Stream")
        )
        closed: list[bool] = []
        app.window.close_requested.connect(lambda: closed.append(True))
        app.window.close()  # asks; the app (here: the harness's exit) shuts down and then allows it
        assert closed == [True] and app.window.isVisible()
    rows = app.messages()
    assert rows[-1]["status"] == "stopped"
    assert rows[-1]["content"].startswith("gamma0") and "gamma399" not in rows[-1]["content"]
