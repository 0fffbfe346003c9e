"""Context and cost in the real window: the token meter, dimmed messages, notices, reply costs, the dashboard.

The app runs on a temporary data folder whose ``models.json`` gives the fake server's "model-a"
a tiny window (400 tokens, 100 kept for the reply) and round prices, so a few short turns fill it.
"""

from __future__ import annotations

import json

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer, Reply
from fakes.signal_wait import SignalWaiter
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop_llm.core.tokens import TokenCounter
from desktop_llm.services.chat import TOO_LONG_RETRY_NOTICE
from desktop_llm.services.context_planner import DEFAULT_MARGIN
from desktop_llm.ui.chat.token_meter import WARNING_COLOURS, MeterReading, TokenMeter

pytestmark = pytest.mark.ui

WINDOW, MAX_OUTPUT = 400, 100
BUDGET = WINDOW - MAX_OUTPUT - DEFAULT_MARGIN
CATALOG = {
    "models": [
        {
            "id": "model-a",
            "provider": "openai",
            "context_window": WINDOW,
            "max_output": MAX_OUTPUT,
            "price": {"input": 1000, "output": 2000},
        }
    ]
}


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "models.json").write_text(json.dumps(CATALOG), encoding="utf-8")
    return folder


def draft_tokens(text: str) -> int:
    return TokenCounter().count_message("user", text, "model-a").count


async def meter_text(app, predicate, what: str) -> str:
    meter = app.workspace.composer.meter
    await wait_until(lambda: meter.isVisible() and predicate(meter.text()), what=what)
    return meter.text()


async def test_the_meter_counts_the_draft_then_takes_the_reported_usage(qtbot, data, server) -> None:
    server.push(Reply(text="Hello there.", usage={"input_tokens": 20, "output_tokens": 5}))
    async with open_app(qtbot, data, environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")
        composer = app.workspace.composer
        draft = "How long is a piece of string?"

        composer.set_text(draft)  # a new chat, not saved yet: the planner counts the draft alone

        expected = f"≈{draft_tokens(draft):,} / {WINDOW:,} tokens"
        assert await meter_text(app, lambda text: text == expected, "the draft's estimate") == expected
        assert "estimate" in composer.meter.toolTip()

        await app.type_and_send(draft)
        await wait_until(lambda: [m["status"] for m in app.messages()] == ["complete", "complete"])
        # Nothing typed: the next request is the reported prompt plus the reply, no estimate left.
        await meter_text(app, lambda text: text == "25 / 400 tokens", "the reported usage")

        composer.set_text("And why?")
        expected = f"≈{25 + draft_tokens('And why?'):,} / 400 tokens"
        await meter_text(app, lambda text: text == expected, "reported usage plus the draft")
        assert composer.meter.reading.level == "ok"


async def test_a_draft_too_long_for_the_window_shows_why(qtbot, data, server) -> None:
    async with open_app(qtbot, data, environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")
        meter = app.workspace.composer.meter

        app.workspace.composer.set_text("word " * 400)

        text = await meter_text(app, lambda text: text.startswith("⚠"), "the reason")
        assert "Your message needs" in text and f"leaves {BUDGET:,}" in text and "shorten" in text
        assert meter.reading.level == "error"
        assert meter.colour_name() == "#b91c1c"  # the theme's error colour (light)


async def test_messages_left_out_are_dimmed_and_counted(qtbot, data, server) -> None:
    async with open_app(qtbot, data, environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")
        for turn in range(4):
            server.push(Reply(text=f"answer {turn} " + "word " * 30))
            await app.type_and_send(f"question {turn} " + "word " * 30)
            await wait_until(lambda t=turn: len(app.messages()) == 2 * (t + 1), what=f"turn {turn}")
            # The reply's row exists a moment before the window hears it started: wait for the service.
            await app.idle()
        conversation_id = app.current_id()
        draft = "one more question " + "word " * 40  # a long draft pushes a second turn out
        app.workspace.composer.set_text(draft)

        text = await meter_text(app, lambda text: "not sent" in text, "messages left out")

        plan = await app.composition.services.chat.context_preview(conversation_id, draft)
        assert plan is not None and len(plan.excluded_ids) == 4
        assert f"{len(plan.excluded_ids)} earlier messages not sent" in text
        assert app.workspace.composer.meter.reading.level == "warning"
        view = app.view()
        dimmed = {m["id"] for m in app.messages() if view.message(m["id"]).excluded}
        assert dimmed == plan.excluded_ids
        newest = app.messages()[-1]["id"]
        assert not view.message(newest).excluded

        app.workspace.composer.clear()  # without the draft, only the oldest turn stays out
        await wait_until(
            lambda: (
                {m["id"] for m in app.messages() if view.message(m["id"]).excluded}
                == {m["id"] for m in app.messages()[:2]}
            ),
            what="only the first turn dimmed",
        )


async def test_a_provider_that_says_too_long_is_retried_and_the_status_bar_says_so(
    qtbot, data, server
) -> None:
    async with open_app(qtbot, data, environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")
        for turn in range(3):
            server.push(Reply(text=f"answer {turn} " + "word " * 10))
            await app.type_and_send(f"question {turn} " + "word " * 10)
            await wait_until(lambda t=turn: len(app.messages()) == 2 * (t + 1), what=f"turn {turn}")
            # The reply's row exists a moment before the window hears it started: wait for the service.
            await app.idle()
        server.push(
            Reply(status=400, error_type="context_length_exceeded", error_message="maximum context length"),
            Reply(text="fine now"),
        )
        status_bar = app.composition.status_bar
        notices = SignalWaiter(app.composition.services.bridge.context_notice)

        await app.type_and_send("question 3")

        _conversation, text = await notices.wait()
        assert text == TOO_LONG_RETRY_NOTICE
        assert status_bar.currentMessage() == TOO_LONG_RETRY_NOTICE
        await wait_until(lambda: app.messages()[-1]["content"] == "fine now", what="the retried reply")
        assert app.messages()[-1]["status"] == "complete"
        assert len(server.chat_requests[-1].json["messages"]) < len(server.chat_requests[-2].json["messages"])


async def test_each_reply_shows_its_cost_and_the_status_bar_the_total(qtbot, data, server) -> None:
    server.push(
        Reply(text="One.", usage={"input_tokens": 20, "output_tokens": 5}),
        Reply(text="Two.", usage={"input_tokens": 40, "output_tokens": 10, "cached_input_tokens": 0}),
    )
    async with open_app(qtbot, data, environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")
        await app.type_and_send("first")
        await wait_until(lambda: len(app.messages()) == 2 and app.messages()[-1]["status"] == "complete")
        await app.type_and_send("second")
        await wait_until(lambda: len(app.messages()) == 4 and app.messages()[-1]["status"] == "complete")
        first, second = (m["id"] for m in app.messages() if m["role"] == "assistant")
        view = app.view()

        # $1000 per million in, $2000 out: 20 in + 5 out = $0.03; 40 in + 10 out = $0.06.
        await wait_until(lambda: view.message(second).note.endswith("$0.0600"), what="the reply's cost")
        assert view.message(first).note == "20 in · 5 out tokens · $0.0300"
        cost = app.composition.status_bar.cost_label
        await wait_until(lambda: cost.text() == "$0.0900", what="the conversation's total")
        assert "prices as of" in cost.toolTip()


async def test_the_context_strategy_is_saved_with_the_conversation(qtbot, data, server) -> None:
    async with open_app(qtbot, data, environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")
        await app.type_and_send("hello")
        await wait_until(lambda: len(app.messages()) == 2, what="the reply")
        await app.idle()
        header = app.workspace.header

        header.context.setCurrentIndex(header.context.findData("summarise"))

        def saved_strategy() -> str | None:
            rows = app.rows("SELECT params FROM conversations")
            return json.loads(rows[0]["params"]).get("context") if rows else None

        await wait_until(lambda: saved_strategy() == "summarise", what="params saved")
        header.context.setCurrentIndex(header.context.findData("sliding"))
        await wait_until(lambda: saved_strategy() is None, what="back to the default")


async def test_view_usage_opens_the_dashboard_with_the_replies(qtbot, data, server) -> None:
    server.push(Reply(text="Priced.", usage={"input_tokens": 1000, "output_tokens": 500}))
    async with open_app(qtbot, data, environ=fake_openai_environment(server)) as app:
        await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")
        await app.type_and_send("price me")
        await wait_until(lambda: len(app.messages()) == 2 and app.messages()[-1]["status"] == "complete")

        app.window.actions_by_name["open_usage"].trigger()

        dialog = app.composition.context.dialog
        assert dialog is not None and dialog.isVisible()
        await wait_until(lambda: dialog.table_model.rowCount() == 1, what="the dashboard's rows")
        index = dialog.table_model.index
        assert dialog.table_model.data(index(0, 1)) == "OpenAI"
        assert dialog.table_model.data(index(0, 2)) == "model-a"
        assert dialog.table_model.data(index(0, 7)) == "$2.00"  # 1000 in at $1000/M + 500 out at $2000/M
        dialog.close()


async def test_a_broken_catalog_file_is_reported_and_the_shipped_one_used(qtbot, tmp_path, server) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "models.json").write_text('{"models": [{"id": "x"}]}', encoding="utf-8")
    async with open_app(qtbot, folder, environ=fake_openai_environment(server)) as app:
        problem = app.composition.services.catalog_problem
        assert problem is not None and "models.json" in problem and "provider" in problem
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
        assert any(problem in box.text() for box in boxes)
        assert app.composition.services.usage.catalog.lookup("gpt-4o", "openai").known
        for box in boxes:
            box.close()


def test_the_meter_reads_and_colours_by_level(qtbot) -> None:
    meter = TokenMeter()
    qtbot.addWidget(meter)
    reading = MeterReading(
        tokens=1_240, window=128_000, budget=111_000, exact=True, fits=True, excluded=0, reason="", model="m"
    )

    meter.show_reading(reading)
    assert meter.text() == "1,240 / 128,000 tokens" and reading.level == "ok"
    near = MeterReading(100_000, 128_000, 111_000, False, True, 2, "", "m", model_known=False)
    meter.show_reading(near)
    assert meter.text() == "≈100,000 / 128,000 tokens · 2 earlier messages not sent"
    assert near.level == "warning" and meter.colour_name() == WARNING_COLOURS[False]
    assert "not in the model catalog" in meter.toolTip()
    meter.clear_reading()
    assert not meter.isVisible() and meter.reading is None
