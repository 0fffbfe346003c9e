"""The conversation list in the window: order, rename in place, pin, folders, trash with Undo, first run."""

from __future__ import annotations

import pytest
from app_harness import fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget
from test_main_window_search import populate

from desktop_llm.services.settings import AppSettings
from desktop_llm.storage.records import ProviderSetting

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def titles(app) -> list[str]:
    return [c.title for c in app.workspace.list_model.first(100)]


async def test_first_run_without_any_provider_shows_the_welcome_panel(qtbot, tmp_path) -> None:
    async with open_app(qtbot, tmp_path / "data", environ={}) as app:
        workspace = app.workspace
        assert workspace.centre.currentWidget() is workspace.welcome
        assert workspace.welcome.isVisible()
        text = " ".join(label.text() for label in workspace.welcome.findChildren(QLabel))
        assert "OPENAI_API_KEY" in text and "Ollama" in text
        QTest.mouseClick(workspace.welcome.settings_button, Qt.MouseButton.LeftButton)
        await wait_until(lambda: app.settings_opened == [app.composition], what="Settings opened")
        workspace.new_chat()  # still nothing to chat with: the welcome stays
        assert workspace.centre.currentWidget() is workspace.welcome


async def test_rename_in_place_pin_and_folders(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot, tmp_path / "data", environ=fake_openai_environment(server), prepare=lambda db: populate(db, 4)
    ) as app:
        listing = app.workspace.sidebar.list_view
        assert titles(app) == ["Chat number 3", "Chat number 2", "Chat number 1", "Chat number 0"]
        listing.select_conversation(app.workspace.list_model.first(3)[2].id)  # "Chat number 1"
        QTest.keyClick(listing, Qt.Key.Key_F2)
        editor = QApplication.focusWidget()
        assert isinstance(editor, QLineEdit) and editor.text() == "Chat number 1"
        editor.setText("Holiday plans")
        QTest.keyClick(editor, Qt.Key.Key_Return)
        await wait_until(
            lambda: app.rows("SELECT 1 FROM conversations WHERE title = 'Holiday plans'"), what="save"
        )
        assert titles(app)[2] == "Holiday plans"  # renaming does not reorder

        holiday = app.workspace.list_model.first(3)[2]
        menu = listing.build_menu(holiday)
        [pin] = [a for a in menu.actions() if a.text() == "Pin to top"]
        pin.trigger()
        await wait_until(lambda: titles(app)[0] == "Holiday plans", what="pinned first")
        assert app.workspace.list_model.first(1)[0].pinned

        await app.workspace._conversations.create_folder("Travel")
        listing.set_folders(await app.workspace._conversations.folders())
        menu = listing.build_menu(app.workspace.list_model.first(1)[0])
        [folders] = [a.menu() for a in menu.actions() if a.text() == "Move to folder"]
        [travel] = [a for a in folders.actions() if a.text() == "Travel"]
        travel.trigger()
        await wait_until(lambda: app.workspace.list_model.first(1)[0].folder_id is not None, what="moved")
        assert (
            app.rows("SELECT f.name FROM conversations c JOIN folders f ON f.id = c.folder_id")[0][0]
            == "Travel"
        )


async def test_delete_moves_to_the_trash_with_undo(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot, tmp_path / "data", environ=fake_openai_environment(server), prepare=lambda db: populate(db, 3)
    ) as app:
        workspace = app.workspace
        doomed = workspace.list_model.first(1)[0]
        workspace.open_conversation(doomed.id)
        await wait_until(lambda: workspace.current_session().loaded)
        QTest.keyClick(workspace.sidebar.list_view, Qt.Key.Key_Delete)

        await wait_until(lambda: workspace.list_model.row_of(doomed.id) is None, what="removed from the list")
        assert app.rows("SELECT deleted_at FROM conversations WHERE id = ?", doomed.id)[0][0] is not None
        assert workspace.centre.currentWidget() is workspace.empty_state
        status = app.composition.status_bar
        assert status.toast.isVisible() and "Chat number 2" in status.toast_label.text()

        QTest.mouseClick(status.toast_button, Qt.MouseButton.LeftButton)

        await wait_until(lambda: app.current_id() == doomed.id, what="restored and opened")
        assert app.rows("SELECT deleted_at FROM conversations WHERE id = ?", doomed.id)[0][0] is None
        assert workspace.list_model.rowCount() == 3 and workspace.list_model.row_of(doomed.id) is not None
        assert not status.toast.isVisible()


async def test_the_list_pages_in_as_it_scrolls(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot,
        tmp_path / "data",
        environ=fake_openai_environment(server),
        prepare=lambda db: populate(db, 450, messages_each=1),
    ) as app:
        model = app.workspace.list_model
        assert model.rowCount() == 200 and model.canFetchMore()
        model.fetchMore()
        await wait_until(lambda: model.rowCount() == 400, what="the second page")
        model.fetchMore()
        await wait_until(lambda: model.rowCount() == 450, what="the last page")
        assert not model.canFetchMore()
        assert len({c.id for c in model.first(450)}) == 450


async def test_settings_from_the_menu_change_the_look_and_the_providers(qtbot, tmp_path, server) -> None:
    async with open_app(
        qtbot, tmp_path / "data", environ=fake_openai_environment(server), real_settings_dialog=True
    ) as app:
        app.window.actions_by_name["open_settings"].trigger()

        def dialogs() -> list[QWidget]:
            return [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "SettingsDialog"]

        await wait_until(lambda: bool(dialogs()), what="the Settings dialog")
        [dialog] = dialogs()
        await dialog.load()
        assert dialog.isVisible()

        chosen = AppSettings(theme="dark", font_size=15, send_key="ctrl+enter").as_dict()
        dialog.app_settings_changed.emit(chosen)

        window_colour = QApplication.palette().color(QPalette.ColorRole.Window)
        assert window_colour.lightness() < 60
        assert app.workspace.composer.hint.text().startswith("Ctrl+Enter to send")
        assert app.window.actions_by_name["send"].text() == "Send message\tCtrl+Enter"
        assert app.view().browser.font().pointSize() == 15

        saved = await app.composition.services.settings.save_provider(
            ProviderSetting(id="", kind="ollama", name="My Ollama", base_url=server.url_for("ollama"))
        )
        dialog.providers_changed.emit()
        picker = app.workspace.picker
        await wait_until(lambda: picker.provider_box.findData(saved.id) >= 0, what="the new provider listed")
        assert picker.provider_box.itemText(picker.provider_box.findData(saved.id)) == "My Ollama"
        dialog.close()
        app.composition.apply_app_settings(AppSettings(theme="light"))
