"""The compare view against the fake provider server: two replies stream at once, the pick is kept."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fakes.provider_server import ProviderServer, Reply
from fakes.signal_wait import SignalWaiter
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from template_rig import TemplateRig, save_screenshot, template_rig, wait_for

from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.services.compare import CompareService
from desktop_llm.ui.templates.compare_view import CompareView, combined_inputs

pytestmark = pytest.mark.ui

V1 = PromptTemplate(
    name="Explain",
    user="Explain {topic} to {audience}.",
    specs=(VariableSpec("audience", default="a child", choices=("a child", "an expert")),),
)
V2 = PromptTemplate(
    name="Explain",
    system="You are a patient teacher.",
    user="Explain {topic} in three sentences to {audience}.",
    specs=(VariableSpec("audience", default="a child", choices=("a child", "an expert")),),
)
ANSWER_A = "**Photosynthesis** is how plants turn light into sugar. " * 3
ANSWER_B = "Plants use sunlight, water and air to make their food. " * 3


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        running.models = ["model-a", "model-b"]
        yield running


async def open_view(rig: TemplateRig, qtbot) -> CompareView:
    loaded = await rig.templates.create(V1, "first")
    await rig.templates.save_version(loaded.id, V2, "teacher persona")
    view = CompareView(
        CompareService(rig.db, rig.directory), rig.templates, rig.directory, rig.tasks, loaded.id
    )
    qtbot.addWidget(view)
    view.show()
    await view.start()
    await wait_for(
        lambda: all(side.picker.model() == "model-a" for side in view.sides), what="default models"
    )
    return view


def kept(rig: TemplateRig) -> list[sqlite3.Row]:
    with sqlite3.connect(rig.db.path) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM comparisons").fetchall()


def test_the_inputs_form_asks_for_the_variables_of_both_versions() -> None:
    other = PromptTemplate(name="x", user="{topic} {tone}")
    inputs = combined_inputs([V1, other])
    assert [s.name for s in inputs.variable_specs()] == ["audience", "topic", "tone"]
    assert inputs.spec("audience").choices == ("a child", "an expert")


async def test_two_versions_stream_at_once_and_the_pick_becomes_the_default(qtbot, tmp_path, server) -> None:
    async with template_rig(tmp_path, server) as rig:
        view = await open_view(rig, qtbot)
        assert [side.version_box.currentData() for side in view.sides] == [1, 2]
        assert view.form.missing() == ["topic"]
        QTest.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
        assert view.status.text() == "Fill in topic first."
        assert server.chat_requests == []

        QTest.keyClicks(view.form.fields["topic"], "photosynthesis")
        server.push(Reply(text=ANSWER_A, delay=0.02), Reply(text=ANSWER_B, delay=0.02))
        kept_signal = SignalWaiter(view.comparison_kept)
        QTest.mouseClick(view.run_button, Qt.MouseButton.LeftButton)

        await wait_for(
            lambda: all(pane.text and pane.status.text() == "Streaming…" for pane in view.panes),
            what="both replies streaming at the same time",
        )
        assert not view.run_button.isEnabled() and view.stop_button.isEnabled()
        (comparison_id,) = await kept_signal.wait()
        await rig.settle()

        texts = sorted(pane.browser.toPlainText().strip() for pane in view.panes)
        assert texts == sorted([ANSWER_A.replace("**", "").strip(), ANSWER_B.strip()])
        assert all(pane.status.text().startswith("Done · ") for pane in view.panes)
        asked = sorted(r.json["messages"][-1]["content"] for r in server.chat_requests)
        assert asked == [
            "Explain photosynthesis in three sentences to a child.",
            "Explain photosynthesis to a child.",
        ]
        [row] = kept(rig)
        assert row["id"] == comparison_id and row["kind"] == "versions"
        save_screenshot(view, "compare.png", tmp_path)

        defaults = SignalWaiter(view.default_changed)
        assert view.make_default.isEnabled() and view.make_default.isChecked()
        QTest.mouseClick(view.panes[1].pick_button, Qt.MouseButton.LeftButton)
        assert await defaults.wait() == (view.template_id, 2)
        await rig.settle()

        assert (await rig.templates.load(view.template_id)).record.default_version == 2
        [row] = kept(rig)
        assert '"pick":1' in row["payload"] and '"made_default":true' in row["payload"]
        assert view.panes[1].pick_button.text().endswith("✓")
        assert "Version 2 is now the default" in view.status.text()


async def test_two_models_on_one_version(qtbot, tmp_path, server) -> None:
    async with template_rig(tmp_path, server) as rig:
        view = await open_view(rig, qtbot)
        side_b = view.sides[1]
        side_b.version_box.setCurrentIndex(side_b.version_box.findData(1))
        await wait_for(lambda: side_b.picker.model_box.count() == 2, what="the model list")
        side_b.picker.model_box.setCurrentIndex(1)
        QTest.keyClicks(view.form.fields["topic"], "tides")
        view.form.set_value("audience", "an expert")

        QTest.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
        await rig.settle()

        assert sorted(r.json["model"] for r in server.chat_requests) == ["model-a", "model-b"]
        assert not view.make_default.isEnabled()  # the versions are the same: nothing to make default
        [row] = kept(rig)
        assert row["kind"] == "models"
        QTest.mouseClick(view.panes[0].pick_button, Qt.MouseButton.LeftButton)
        await rig.settle()
        assert (await rig.templates.load(view.template_id)).record.default_version == 1
        assert view.status.text() == "Picked A."


async def test_stop_keeps_both_partial_replies(qtbot, tmp_path, server) -> None:
    async with template_rig(tmp_path, server) as rig:
        view = await open_view(rig, qtbot)
        QTest.keyClicks(view.form.fields["topic"], "rain")
        long = " ".join(f"word{i}" for i in range(400))
        server.push(Reply(text=long, delay=0.02), Reply(text=long, delay=0.02))
        QTest.mouseClick(view.run_button, Qt.MouseButton.LeftButton)
        await wait_for(
            lambda: all(len(pane.text) > 20 for pane in view.panes), what="some text on both sides"
        )

        QTest.mouseClick(view.stop_button, Qt.MouseButton.LeftButton)
        await rig.settle()

        assert all(pane.status.text().startswith("Stopped") for pane in view.panes)
        assert all(0 < len(pane.text) < len(long) for pane in view.panes)
        [row] = kept(rig)
        assert row["payload"].count('"status":"stopped"') == 2


def _click_text(browser, text: str) -> None:
    cursor = browser.document().find(text)
    assert not cursor.isNull(), f"{text!r} is not shown"
    cursor.setPosition(cursor.selectionStart() + 1)
    point = browser.cursorRect(cursor).center()
    QTest.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def test_a_link_in_a_reply_opens_in_the_browser_and_the_reply_stays(qtbot) -> None:
    from PySide6.QtCore import QUrl

    from desktop_llm.core.markdown import MarkdownRenderer
    from desktop_llm.services.compare import SideOutcome
    from desktop_llm.ui.templates.compare_view import ComparePane

    opened: list[QUrl] = []
    pane = ComparePane("A", MarkdownRenderer(), opened.append)
    qtbot.addWidget(pane)
    pane.resize(500, 300)
    pane.show()
    qtbot.waitExposed(pane)
    pane.finish(SideOutcome("complete", text="Read [the guide](https://example.com/guide) first."))

    _click_text(pane.browser, "the guide")

    assert [url.toString() for url in opened] == ["https://example.com/guide"]
    assert "Read the guide first." in pane.browser.toPlainText()
    assert pane.browser.source().isEmpty()


def test_a_hostile_error_is_shown_as_text_in_the_pane_and_its_title(qtbot) -> None:
    from desktop_llm.core.markdown import MarkdownRenderer
    from desktop_llm.services.compare import SideOutcome
    from desktop_llm.ui.templates.compare_view import ComparePane

    hostile = '<img src="file:///etc/passwd"><b>bold</b>'
    pane = ComparePane("A", MarkdownRenderer())
    qtbot.addWidget(pane)
    pane.start(f"model {hostile}")
    pane.finish(SideOutcome("error", error=f"Server said: {hostile}"))

    assert pane.status.textFormat() == Qt.TextFormat.PlainText and hostile in pane.status.text()
    assert "&lt;img" in pane.title.text() and "<img" not in pane.title.text()


def test_a_code_block_in_a_pane_gets_its_colours_when_they_arrive(qtbot, highlight_pool) -> None:
    from PySide6.QtGui import QTextFormat

    from desktop_llm.core.markdown import MarkdownRenderer
    from desktop_llm.services.compare import SideOutcome
    from desktop_llm.ui.templates.compare_view import ComparePane

    pane = ComparePane("A", MarkdownRenderer(highlighter=highlight_pool))
    qtbot.addWidget(pane)
    pane.finish(SideOutcome("complete", text="```python\ndef answer():\n    return 42\n```\n"))

    def coloured() -> bool:
        cursor = pane.browser.document().find("def")
        return not cursor.isNull() and cursor.charFormat().hasProperty(QTextFormat.Property.ForegroundBrush)

    qtbot.waitUntil(coloured)
    assert "return 42" in pane.browser.toPlainText()
