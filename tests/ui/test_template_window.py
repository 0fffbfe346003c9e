"""The templates in the real window: the Templates tab, "Use in chat", compare and batch from the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from template_rig import save_screenshot

from desktop_llm.core.builtin_templates import load_builtin_templates
from desktop_llm.ui.shell.template_feature import CHATS_TAB, TEMPLATES_TAB
from desktop_llm.ui.templates.batch_dialog import BatchDialog
from desktop_llm.ui.templates.compare_view import CompareView

pytestmark = pytest.mark.ui


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        yield running


async def test_the_templates_tab_switches_the_centre_and_back(qtbot, tmp_path, server) -> None:
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        feature = app.composition.templates
        workspace = app.workspace
        await wait_until(lambda: feature.panel.loaded is not None, what="the first template")
        assert (
            feature.tabs.tabText(CHATS_TAB) == "Chats" and feature.tabs.tabText(TEMPLATES_TAB) == "Templates"
        )
        assert workspace.centre.currentWidget() is workspace.chat_page

        feature.tabs.setCurrentIndex(TEMPLATES_TAB)
        assert workspace.centre.currentWidget() is feature.panel
        review = load_builtin_templates()["review_code"]
        row = feature.list_pane.model.names().index(review.name)
        feature.list_pane.view.clicked.emit(feature.list_pane.model.index(row))
        await wait_until(lambda: feature.panel.editor.name.text() == review.name, what="the template opened")
        assert feature.panel.builtin_badge.isVisible()
        save_screenshot(app.window, "templates.png", tmp_path)

        feature.tabs.setCurrentIndex(CHATS_TAB)
        assert workspace.centre.currentWidget() is workspace.chat_page

        feature.show_templates()
        workspace.new_chat()  # Ctrl+N from the Templates tab brings the chats back
        assert feature.tabs.currentIndex() == CHATS_TAB
        assert workspace.centre.currentWidget() is workspace.chat_page

        app.window.actions_by_name["toggle_sidebar"].trigger()
        assert not feature.tabs.isVisible()


async def test_compare_and_batch_open_from_the_page(qtbot, tmp_path, server) -> None:
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        feature = app.composition.templates
        await wait_until(lambda: feature.panel.loaded is not None, what="the first template")
        feature.show_templates()

        QTest.mouseClick(feature.panel.compare_button, Qt.MouseButton.LeftButton)
        QTest.mouseClick(feature.panel.batch_button, Qt.MouseButton.LeftButton)

        compare, batch = feature.dialogs
        assert isinstance(compare, CompareView) and isinstance(batch, BatchDialog)
        await wait_until(lambda: compare.loaded is not None and batch.loaded is not None, what="both set up")
        assert compare.template_id == batch.template_box.currentData() == feature.panel.loaded.id
        compare.close()
        batch.close()
        await wait_until(lambda: not feature.dialogs, what="the dialogs forgotten")


async def test_use_in_chat_starts_a_new_chat_with_the_system_part(qtbot, tmp_path, server) -> None:
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        feature = app.composition.templates
        await wait_until(lambda: feature.panel.loaded is not None, what="the first template")
        feature.show_templates()
        assert app.workspace.centre.currentWidget() is feature.panel
        assert feature.tabs.currentIndex() == TEMPLATES_TAB

        dialog = feature.panel.use_in_chat()
        assert dialog is not None
        for name in dialog.form.missing():
            dialog.form.set_value(name, "print('hi')")
        expected = dialog.form.rendered_prompt()
        assert expected.system
        QTest.mouseClick(dialog.new_chat_button, Qt.MouseButton.LeftButton)

        assert feature.tabs.currentIndex() == CHATS_TAB
        assert app.workspace.centre.currentWidget() is app.workspace.chat_page
        assert app.workspace.composer.text() == expected.user
        assert app.workspace.header.system_prompt() == expected.system
        session = app.workspace.current_session()
        assert session is not None and session.settings.system_prompt == expected.system
