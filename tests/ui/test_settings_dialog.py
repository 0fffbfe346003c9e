"""The Settings dialog through its widgets: providers and keys, local servers, general settings, trash.

Real SQLite, the fake provider server, a real keyring where the D-Bus session provides one.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.null
import keyring.errors
import pytest
from fakes.keyrings import DictKeyring
from fakes.provider_server import ProviderServer
from fakes.signal_wait import SignalWaiter, answer_message_box, until
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from desktop_llm.secrets import SERVICE, KeyStore
from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.exchange import ExchangeService
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.settings import LocalServer, SettingsService
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.ui.settings.settings_dialog import SettingsDialog
from desktop_llm.ui.settings.settings_providers import NO_KEYRING_HEADLINE

KEY = "test-key-4f9c2a71d3e8b6"


def free_port() -> int:
    """Return a loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Rig:
    """The dialog wired to a real database, a keystore and the fake server."""

    def __init__(
        self,
        tmp_path: Path,
        qtbot,
        server: ProviderServer,
        keystore: KeyStore,
        environ: dict[str, str] | None = None,
    ) -> None:
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        self.db_path = data / "desktop-llm.sqlite3"
        self.db = DatabaseThread(self.db_path)
        self.keystore = keystore
        self.directory = ProviderDirectory(self.db, keystore, environ=environ or {})
        self.local_servers = (
            LocalServer("Ollama", "ollama", None, server.base_url, server.base_url + "/api/tags"),
            LocalServer(
                "LM Studio",
                "openai-compatible",
                "lmstudio",
                f"http://127.0.0.1:{free_port()}/v1",
                f"http://127.0.0.1:{free_port()}/v1/models",
            ),
        )
        self.settings = SettingsService(self.db, keystore, local_servers=self.local_servers)
        self.conversations = ConversationService(self.db)
        self.dialog = SettingsDialog(
            self.settings,
            self.directory,
            keystore.status,
            data,
            ExchangeService(self.db),
            self.conversations,
        )
        qtbot.addWidget(self.dialog)
        self.page = self.dialog.providers_page
        self.form = self.page.form

    async def open(self) -> None:
        self.dialog.show()
        await self.dialog.load()

    async def aclose(self) -> None:
        await self.directory.aclose()
        await self.db.aclose()


@pytest.fixture
def server():
    with ProviderServer() as running:
        running.models = ["model-a", "model-b", "model-c"]
        yield running


@pytest.fixture
def make_rig(tmp_path, qtbot, server, qloop):
    """Build rigs (one per test) and close their database and providers afterwards."""
    made: list[Rig] = []

    def make(keystore: KeyStore | None = None, environ: dict[str, str] | None = None) -> Rig:
        made.append(Rig(tmp_path, qtbot, server, keystore or KeyStore(DictKeyring()), environ))
        return made[-1]

    yield make
    for rig in made:
        qloop.run_until_complete(rig.aclose())


@pytest.fixture
def rig(make_rig):
    return make_rig()


def _type(qtbot, field: QLineEdit, text: str) -> None:
    field.clear()
    qtbot.keyClicks(field, text)


async def _add_provider(qtbot, rig: Rig, server: ProviderServer, key: str, *, name: str = "My OpenAI") -> str:
    """Add an OpenAI entry through the widgets and return its id."""
    qtbot.mouseClick(rig.page.add_button, Qt.MouseButton.LeftButton)
    rig.form.kind.setCurrentIndex(rig.form.kind.findData("openai"))
    _type(qtbot, rig.form.name, name)
    _type(qtbot, rig.form.base_url, server.url_for("openai"))
    _type(qtbot, rig.form.api_key, key)
    saved = SignalWaiter(rig.dialog.providers_changed)
    qtbot.mouseClick(rig.form.save_button, Qt.MouseButton.LeftButton)
    await saved.wait()
    entry = rig.page.current_entry()
    assert entry is not None and entry.name == name
    return entry.id


def assert_key_absent(key: str, *paths: Path) -> list[Path]:
    """Fail if ``key`` occurs in the bytes of any file under ``paths``; return the files scanned."""
    scanned = []
    for root in paths:
        files = (
            [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        )
        for file in files:
            assert key.encode() not in file.read_bytes(), f"the key leaked into {file}"
            scanned.append(file)
    return scanned


async def test_add_provider_tests_connection_and_keeps_key_out_of_database(qtbot, rig, server):
    await rig.open()
    assert rig.page.entry_ids() == []
    qtbot.mouseClick(rig.page.add_button, Qt.MouseButton.LeftButton)
    rig.form.kind.setCurrentIndex(rig.form.kind.findData("openai"))
    assert rig.form.name.text() == "OpenAI"  # the name follows the kind until one is typed
    _type(qtbot, rig.form.base_url, server.url_for("openai"))
    _type(qtbot, rig.form.api_key, KEY)
    assert rig.form.api_key.echoMode() == QLineEdit.EchoMode.Password
    qtbot.mouseClick(rig.form.show_key, Qt.MouseButton.LeftButton)
    assert rig.form.api_key.echoMode() == QLineEdit.EchoMode.Normal

    checked = SignalWaiter(rig.page.connection_checked)
    qtbot.mouseClick(rig.form.test_button, Qt.MouseButton.LeftButton)
    assert await checked.wait() == ("Connected: 3 models",)
    assert rig.form.status.text() == "Connected: 3 models"
    assert [rig.form.model.itemText(i) for i in range(rig.form.model.count())] == [
        "model-a",
        "model-b",
        "model-c",
    ]
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    rig.form.model.setCurrentIndex(1)

    changed = SignalWaiter(rig.dialog.providers_changed)
    qtbot.mouseClick(rig.form.save_button, Qt.MouseButton.LeftButton)
    await changed.wait()
    [setting] = await rig.settings.providers()
    assert (setting.kind, setting.name, setting.base_url, setting.default_model) == (
        "openai",
        "OpenAI",
        server.url_for("openai"),
        "model-b",
    )
    assert rig.keystore.get(setting.id) == KEY
    assert rig.page.entry_ids() == [setting.id]
    assert rig.form.api_key.text() == ""
    assert "Saved in the keyring" in rig.form.api_key.placeholderText()
    assert rig.form.status.text().startswith("Saved.")

    # Editing an entry with the key field left empty keeps (and tests with) the stored key.
    server.api_key = KEY
    checked = SignalWaiter(rig.page.connection_checked)
    qtbot.mouseClick(rig.form.test_button, Qt.MouseButton.LeftButton)
    assert await checked.wait() == ("Connected: 3 models",)

    db_files = [rig.db_path, Path(f"{rig.db_path}-wal"), Path(f"{rig.db_path}-shm")]
    assert len(assert_key_absent(KEY, *db_files)) >= 2  # the file and its WAL exist and were scanned


async def test_testing_a_changed_address_never_sends_the_saved_key(qtbot, rig, server):
    await rig.open()
    await _add_provider(qtbot, rig, server, KEY)
    sent_before = len(server.requests)
    assert "Saved in the keyring" in rig.form.api_key.placeholderText()
    _type(qtbot, rig.form.base_url, server.url_for("openai").replace("127.0.0.1", "localhost"))
    assert rig.form.api_key.text() == ""
    assert "Type the key for this server" in rig.form.api_key.placeholderText()

    checked = SignalWaiter(rig.page.connection_checked)
    qtbot.mouseClick(rig.form.test_button, Qt.MouseButton.LeftButton)
    (text,) = await checked.wait()

    assert "Type the API key again" in text
    assert rig.form.status.property("state") == "error"
    assert len(server.requests) == sent_before  # nothing went anywhere, least of all the key


async def test_connection_refused_key_shows_the_provider_message(qtbot, rig, server):
    server.api_key = "the-right-key-123456"
    await rig.open()
    qtbot.mouseClick(rig.page.add_button, Qt.MouseButton.LeftButton)
    rig.form.kind.setCurrentIndex(rig.form.kind.findData("openai"))
    _type(qtbot, rig.form.base_url, server.url_for("openai"))
    _type(qtbot, rig.form.api_key, KEY)
    checked = SignalWaiter(rig.page.connection_checked)
    qtbot.mouseClick(rig.form.test_button, Qt.MouseButton.LeftButton)
    (text,) = await checked.wait()
    assert "rejected the API key (401)" in text
    assert KEY not in text
    assert rig.form.status.property("state") == "error"
    assert rig.form.test_button.isEnabled()  # re-enabled after the failure
    assert await rig.settings.providers() == []  # testing stores nothing


async def test_invalid_entry_is_explained_and_not_stored(qtbot, rig, server):
    await rig.open()
    qtbot.mouseClick(rig.page.add_button, Qt.MouseButton.LeftButton)
    rig.form.kind.setCurrentIndex(rig.form.kind.findData("openai-compatible"))
    assert rig.form.preset.isVisibleTo(rig.dialog)
    rig.form.preset.setCurrentIndex(rig.form.preset.findData("groq"))
    assert rig.form.base_url.text() == "https://api.groq.com/openai/v1"
    assert rig.form.name.text() == "Groq"
    _type(qtbot, rig.form.base_url, "ftp://example.com")
    shown = SignalWaiter(rig.page.status_shown)
    qtbot.mouseClick(rig.form.save_button, Qt.MouseButton.LeftButton)
    (text,) = await shown.wait()
    assert "must be a web address" in text
    assert await rig.settings.providers() == []


@pytest.mark.parametrize("bad_key", ["sk-test\u200b0123456789", "sk-test café 0123"])
async def test_a_key_http_cannot_carry_is_refused_when_typed(qtbot, rig, server, bad_key):
    await rig.open()
    qtbot.mouseClick(rig.page.add_button, Qt.MouseButton.LeftButton)
    rig.form.kind.setCurrentIndex(rig.form.kind.findData("openai"))
    _type(qtbot, rig.form.base_url, server.url_for("openai"))
    rig.form.api_key.setText(bad_key)  # pasted: keyClicks cannot type every character
    for button in (rig.form.test_button, rig.form.save_button):
        shown = SignalWaiter(rig.page.status_shown)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        (text,) = await shown.wait()
        assert "The API key contains a" in text and "paste the key again" in text
        assert "sk-test" not in text and "0123" not in text
        assert rig.form.status.property("state") == "error"
    assert await rig.settings.providers() == []
    assert [r.path for r in server.requests if r.path.startswith("/v1")] == []  # only local-server probes


async def test_edit_then_remove_deletes_the_key(qtbot, rig, server):
    await rig.open()
    entry_id = await _add_provider(qtbot, rig, server, KEY)
    _type(qtbot, rig.form.name, "Renamed")
    changed = SignalWaiter(rig.dialog.providers_changed)
    qtbot.mouseClick(rig.form.save_button, Qt.MouseButton.LeftButton)
    await changed.wait()
    assert [s.name for s in await rig.settings.providers()] == ["Renamed"]
    assert rig.keystore.get(entry_id) == KEY  # an empty key field keeps the key

    assert rig.page.remove_button.isEnabled()
    qtbot.mouseClick(rig.page.remove_button, Qt.MouseButton.LeftButton)
    await answer_message_box(rig.dialog, "Remove")
    await changed.wait()
    assert await rig.settings.providers() == []
    assert rig.keystore.get(entry_id) is None
    assert rig.page.entry_ids() == []


async def test_remove_cancelled_keeps_the_entry(qtbot, rig, server):
    await rig.open()
    entry_id = await _add_provider(qtbot, rig, server, KEY)
    qtbot.mouseClick(rig.page.remove_button, Qt.MouseButton.LeftButton)
    await answer_message_box(rig.dialog, "Cancel")
    await until(lambda: rig.page.remove_button.isEnabled())
    assert rig.page.entry_ids() == [entry_id]
    assert rig.keystore.get(entry_id) == KEY


async def test_environment_providers_are_listed_read_only(make_rig, qtbot, server):
    environ = {"OPENAI_API_KEY": "env-key-7c1d9e33", "OPENAI_BASE_URL": server.url_for("openai")}
    rig = make_rig(environ=environ)
    await rig.open()
    assert rig.page.entry_ids() == ["env:openai"]
    host = server.base_url.removeprefix("http://")
    assert rig.page.list.item(0).text() == f"OpenAI (environment)\nfrom environment · OpenAI · {host}"
    await until(lambda: rig.form.read_only)
    for widget in (rig.form.kind, rig.form.name, rig.form.base_url, rig.form.api_key, rig.form.model):
        assert not widget.isEnabled()
    assert not rig.form.save_button.isEnabled()
    assert not rig.page.remove_button.isEnabled()
    assert "OPENAI_API_KEY" in rig.form.note.text() and rig.form.note.isVisibleTo(rig.dialog)
    assert rig.form.base_url.text() == server.url_for("openai")

    checked = SignalWaiter(rig.page.connection_checked)
    qtbot.mouseClick(rig.form.test_button, Qt.MouseButton.LeftButton)
    assert await checked.wait() == ("Connected: 3 models",)
    assert server.requests[-1].headers["authorization"] == "Bearer env-key-7c1d9e33"

    # A stored entry comes after the environment's and stays editable.
    stored_id = await _add_provider(qtbot, rig, server, KEY)
    assert rig.page.entry_ids() == ["env:openai", stored_id]
    assert rig.form.name.isEnabled() and not rig.form.read_only


async def test_no_keyring_warning_with_a_null_backend(make_rig, qtbot, server):
    keystore = KeyStore(keyring.backends.null.Keyring())
    rig = make_rig(keystore)
    await rig.open()
    banner = rig.page.banner
    assert banner.isVisible()
    text = banner.findChild(QLabel).text()
    assert NO_KEYRING_HEADLINE in text
    assert "GNOME Keyring" in text and "OPENAI_API_KEY" in text
    assert keystore.status.message in text

    # Keys still work for the session, in memory only.
    entry_id = await _add_provider(qtbot, rig, server, KEY)
    assert keystore.get(entry_id) == KEY


async def test_no_warning_when_a_keyring_works(qtbot, rig):
    await rig.open()
    assert not rig.page.banner.isVisible()


async def test_local_servers_that_answer_can_be_added_in_one_click(qtbot, rig, server):
    await rig.open()
    ollama, lm_studio = rig.page.local_buttons["Ollama"], rig.page.local_buttons["LM Studio"]
    assert ollama.isEnabled()
    assert not lm_studio.isEnabled()  # nothing listens on its port
    assert rig.page.local_label.text() == "Running on this computer: Ollama."
    assert {r.path for r in server.requests} == {"/api/tags"}

    changed = SignalWaiter(rig.dialog.providers_changed)
    qtbot.mouseClick(ollama, Qt.MouseButton.LeftButton)
    await changed.wait()
    [setting] = await rig.settings.providers()
    assert (setting.kind, setting.name, setting.base_url) == ("ollama", "Ollama", server.base_url)
    assert not ollama.isEnabled()  # already added
    assert "already" in ollama.toolTip()

    checked = SignalWaiter(rig.page.connection_checked)
    qtbot.mouseClick(rig.form.test_button, Qt.MouseButton.LeftButton)
    assert await checked.wait() == ("Connected: 3 models",)


async def test_general_settings_are_saved_applied_and_announced(qtbot, rig, server):
    await rig.open()
    general = rig.dialog.general_page
    rig.dialog.show_page("general")
    changed = SignalWaiter(rig.dialog.app_settings_changed)
    general.theme.setCurrentIndex(general.theme.findData("dark"))
    (values,) = await changed.wait()
    assert values["theme"] == "dark"
    general.font_size.setValue(14)
    assert (await changed.wait())[0]["font_size"] == 14
    general.send_key.setCurrentIndex(general.send_key.findData("ctrl+enter"))
    assert (await changed.wait())[0]["send_key"] == "ctrl+enter"
    general.auto_titles.setChecked(False)
    assert (await changed.wait())[0]["auto_titles"] is False
    general.tool_rounds.setValue(4)
    assert (await changed.wait())[0]["tool_rounds"] == 4

    _type(qtbot, general.proxy, "proxy.example.com:3128")
    general.proxy.editingFinished.emit()
    await until(lambda: general.proxy_error.isVisibleTo(rig.dialog))
    assert "must start with http://" in general.proxy_error.text()

    _type(qtbot, general.proxy, "http://proxy.example.com:3128")
    general.proxy.editingFinished.emit()
    assert (await changed.wait())[0]["proxy"] == "http://proxy.example.com:3128"
    assert not general.proxy_error.isVisibleTo(rig.dialog)

    assert general.content_timeout.value() == 300  # the default
    general.content_timeout.setValue(90)
    general.content_timeout.editingFinished.emit()
    assert (await changed.wait())[0]["content_timeout"] == 90

    stored = await rig.settings.app_settings()
    assert stored.as_dict() == {
        "theme": "dark",
        "font_size": 14,
        "send_key": "ctrl+enter",
        "auto_titles": False,
        "proxy": "http://proxy.example.com:3128",
        "tool_rounds": 4,
        "content_timeout": 90,
    }
    # The proxy and the reply timeout reach the providers the app builds from now on.
    entry_id = await _add_provider(qtbot, rig, server, KEY)
    config = await rig.directory.config_for(entry_id)
    assert (config.proxy, config.content_timeout) == ("http://proxy.example.com:3128", 90.0)


async def test_general_page_shows_stored_settings(qtbot, rig):
    await rig.settings.save_app_settings({"theme": "light", "font_size": 20, "send_key": "ctrl+enter"})
    await rig.open()
    general = rig.dialog.general_page
    assert general.theme.currentData() == "light"
    assert general.font_size.value() == 20
    assert general.send_key.currentData() == "ctrl+enter"
    assert general.auto_titles.isChecked()


async def test_trash_restore_delete_forever_and_empty(qtbot, rig):
    made = [await rig.conversations.create(provider_id=None, model=None, title=f"Chat {n}") for n in range(4)]
    for conversation in made[:3]:
        await rig.conversations.trash(conversation.id)
    await rig.open()
    rig.dialog.show_page("data")
    data = rig.dialog.data_page
    assert data.trash.topLevelItemCount() == 3
    assert data.folder.text() == str(rig.db_path.parent)
    assert not data.restore.isEnabled()

    changed = SignalWaiter(rig.dialog.conversations_changed)
    _select_titled(data, "Chat 0")
    qtbot.mouseClick(data.restore, Qt.MouseButton.LeftButton)
    await changed.wait()
    assert [c.title for c in await rig.conversations.list()] == ["Chat 3", "Chat 0"]
    assert data.trash.topLevelItemCount() == 2

    _select_titled(data, "Chat 1")
    qtbot.mouseClick(data.delete_forever, Qt.MouseButton.LeftButton)
    await answer_message_box(rig.dialog, "Delete forever")
    await changed.wait()
    assert [c.title for c in await rig.conversations.list(trashed=True)] == ["Chat 2"]

    qtbot.mouseClick(data.empty_trash, Qt.MouseButton.LeftButton)
    await answer_message_box(rig.dialog, "Empty trash")
    await changed.wait()
    assert await rig.conversations.list(trashed=True) == []
    assert data.trash_empty_note.isVisibleTo(rig.dialog)
    assert not data.empty_trash.isEnabled()
    assert len(await rig.conversations.list()) == 2


def _select_titled(data, title: str) -> None:
    for row in range(data.trash.topLevelItemCount()):
        item = data.trash.topLevelItem(row)
        if item.text(0) == title:
            data.trash.setCurrentItem(item)
            return
    raise AssertionError(f"{title!r} is not in the trash list")


@pytest.mark.keyring
async def test_key_lands_in_the_real_keyring_and_never_in_the_database(make_rig, qtbot, server):
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("no D-Bus session: run under scripts/test.sh (it starts one with gnome-keyring)")
    keystore = KeyStore()
    if not keystore.status.available:
        pytest.skip(f"the D-Bus session has no usable keyring: {keystore.status.message}")
    rig = make_rig(keystore)
    await rig.open()
    assert not rig.page.banner.isVisible()
    entry_id = await _add_provider(qtbot, rig, server, KEY)
    # Read back through the keyring library itself, not through our KeyStore.
    assert keyring.get_keyring().get_password(SERVICE, entry_id) == KEY
    db_files = [rig.db_path, Path(f"{rig.db_path}-wal"), Path(f"{rig.db_path}-shm")]
    assert len(assert_key_absent(KEY, *db_files)) >= 2

    qtbot.mouseClick(rig.page.remove_button, Qt.MouseButton.LeftButton)
    changed = SignalWaiter(rig.dialog.providers_changed)
    await answer_message_box(rig.dialog, "Remove")
    await changed.wait()
    assert keyring.get_keyring().get_password(SERVICE, entry_id) is None
