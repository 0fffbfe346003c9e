"""The "/" template picker: on its own, and in the real window (``/`` at the start of the message box)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer
from fakes.signal_wait import SignalWaiter
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

from desktop_llm.core.builtin_templates import load_builtin_templates
from desktop_llm.services.templates import TemplateSummary
from desktop_llm.ui.templates.template_picker import TemplatePicker

pytestmark = pytest.mark.ui

SUMMARIES = [
    TemplateSummary("1", "Explain code", "What a piece of code does", 1, "", True),
    TemplateSummary("2", "Translate", "Into another language", 1, "", True),
    TemplateSummary("3", "Translate legal text", "Contracts, carefully", 2, "", False),
]


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


def open_picker(qtbot) -> tuple[QWidget, TemplatePicker]:
    anchor = QWidget()
    anchor.resize(600, 200)
    qtbot.addWidget(anchor)
    anchor.show()
    picker = TemplatePicker(anchor)
    picker.open_above(anchor, SUMMARIES)
    return anchor, picker


async def test_the_picker_filters_as_you_type_and_enter_picks(qtbot) -> None:
    _anchor, picker = open_picker(qtbot)
    picked = SignalWaiter(picker.picked)
    assert picker.isVisible() and picker.model.rowCount() == 3

    QTest.keyClicks(picker.filter, "transl")
    assert picker.model.names() == ["Translate", "Translate legal text"]
    assert picker.current_row() == 0
    QTest.keyClick(picker.filter, Qt.Key.Key_Down)
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)

    assert await picked.wait() == ("3",)
    assert not picker.isVisible()


async def test_nothing_matches_and_escape_dismisses(qtbot) -> None:
    _anchor, picker = open_picker(qtbot)
    dismissed = SignalWaiter(picker.dismissed)
    picked: list[str] = []
    picker.picked.connect(picked.append)

    QTest.keyClicks(picker.filter, "zzz")
    assert picker.model.rowCount() == 0 and picker.empty.isVisibleTo(picker)
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)  # nothing to pick
    assert picker.isVisible()
    QTest.keyClick(picker.filter, Qt.Key.Key_Escape)

    assert await dismissed.wait() == ()
    assert not picker.isVisible() and picked == []


async def test_slash_at_the_start_of_the_message_box_fills_in_a_template(qtbot, tmp_path, server) -> None:
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        feature = app.composition.templates
        await wait_until(lambda: feature.list_pane.model.rowCount() > 0, what="the built-in templates")
        composer = app.workspace.composer
        composer.focus_editor()

        QTest.keyClick(composer.editor, Qt.Key.Key_Slash)
        await wait_until(lambda: feature.picker.isVisible(), what="the picker")
        assert composer.text() == ""  # the slash opened the picker instead of being typed
        QTest.keyClicks(feature.picker.filter, "commit")
        shipped = load_builtin_templates()["commit_message"]
        assert feature.picker.model.names() == [shipped.name]
        QTest.keyClick(feature.picker.filter, Qt.Key.Key_Return)

        await wait_until(
            lambda: feature.form_dialog is not None and feature.form_dialog.isVisible(), what="form"
        )
        dialog = feature.form_dialog
        required = dialog.form.missing()
        assert required, "the commit message template asks for the change"
        for name in required:
            dialog.form.set_value(name, "diff --git a/x b/x")
        QTest.mouseClick(dialog.insert_button, Qt.MouseButton.LeftButton)

        expected = dialog.form.rendered_prompt().user
        assert composer.text() == expected
        assert "diff --git a/x b/x" in expected


async def test_a_slash_after_text_or_an_escaped_picker_is_typed(qtbot, tmp_path, server) -> None:
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        feature = app.composition.templates
        composer = app.workspace.composer
        composer.set_text("a")
        QTest.keyClick(composer.editor, Qt.Key.Key_Slash)
        assert composer.text() == "a/" and not feature.picker.isVisible()

        composer.clear()
        QTest.keyClick(composer.editor, Qt.Key.Key_Slash)
        await wait_until(lambda: feature.picker.isVisible(), what="the picker")
        QTest.keyClick(feature.picker.filter, Qt.Key.Key_Escape)
        assert composer.text() == "/"
