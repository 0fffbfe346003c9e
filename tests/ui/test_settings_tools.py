"""Settings → Tools through its widgets: a real MCP server (stdio), a real database, the keyring fake."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fakes.keyrings import DictKeyring
from fakes.mcp_server import TOOL_NAMES
from fakes.signal_wait import SignalWaiter, answer_message_box, until
from PySide6.QtCore import Qt

from desktop_llm.secrets import SERVICE, KeyStore
from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.exchange import ExchangeService
from desktop_llm.services.mcp_config import McpConfigService, keyring_user
from desktop_llm.services.mcp_manager import McpManager
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.settings import SettingsService
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.ui.common.await_dialog import PathRequest
from desktop_llm.ui.settings.settings_dialog import SettingsDialog

FAKE_SERVER = str(Path(__file__).resolve().parent.parent / "fakes" / "mcp_server.py")
TOKEN = "ghp-ui-secret-77aa01"


class Rig:
    """The dialog with its Tools page wired to a real database, a dict keyring and an MCP manager."""

    def __init__(self, tmp_path: Path, qtbot) -> None:
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        self.data = data
        self.db_path = data / "desktop-llm.sqlite3"
        self.db = DatabaseThread(self.db_path)
        self.keyring = DictKeyring()
        keystore = KeyStore(self.keyring)
        self.config = McpConfigService(self.db, keystore)
        self.manager = McpManager(self.config, log_dir=data / "logs", start_timeout=30.0)
        self.chosen: list[PathRequest] = []
        self.answer: Path | None = None
        self.directory = ProviderDirectory(self.db, keystore, environ={})

        async def choose(parent, request: PathRequest) -> Path | None:
            self.chosen.append(request)
            return self.answer

        self.dialog = SettingsDialog(
            SettingsService(self.db, keystore, local_servers=()),
            self.directory,
            keystore.status,
            data,
            ExchangeService(self.db),
            ConversationService(self.db),
            choose_path=choose,
            mcp_config=self.config,
            mcp_manager=self.manager,
        )
        qtbot.addWidget(self.dialog)
        self.page = self.dialog.tools_page
        self.form = self.page.form

    async def open(self) -> None:
        self.dialog.show()
        self.dialog.show_page("tools")
        await self.dialog.load()

    async def aclose(self) -> None:
        await self.manager.aclose()
        await self.directory.aclose()
        await self.db.aclose()


@pytest.fixture
def rig(tmp_path, qtbot, qloop):
    made = Rig(tmp_path, qtbot)
    yield made
    qloop.run_until_complete(made.aclose())


def _type(qtbot, field, text: str) -> None:
    field.clear()
    qtbot.keyClicks(field, text)


async def _save(qtbot, rig: Rig) -> None:
    saved = SignalWaiter(rig.page.status_shown)
    qtbot.mouseClick(rig.form.save_button, Qt.MouseButton.LeftButton)
    text = (await saved.wait(within=30))[0]
    assert text.startswith("Saved"), text


async def test_add_connect_see_tools_and_schema_keep_secret_out_of_database(qtbot, rig: Rig) -> None:
    await rig.open()
    assert rig.page.server_names() == []
    qtbot.mouseClick(rig.page.add_button, Qt.MouseButton.LeftButton)
    _type(qtbot, rig.form.name, "calc")
    _type(qtbot, rig.form.command, sys.executable)
    _type(qtbot, rig.form.arguments, f"'{FAKE_SERVER}' --name calc")
    rig.form.environment.setPlainText(f"GITHUB_TOKEN={TOKEN}\nROOT=/tmp")
    await _save(qtbot, rig)
    assert rig.page.server_names() == ["calc"]
    record = await rig.config.record("calc")
    assert record.args == (FAKE_SERVER, "--name", "calc") and record.env == {"ROOT": "/tmp"}
    assert TOKEN in rig.keyring.passwords[(SERVICE, keyring_user(record.id))]
    stored = b"".join(p.read_bytes() for p in rig.data.glob("desktop-llm.sqlite3*"))
    assert TOKEN.encode() not in stored
    # The secret's value is not shown; its name is, empty.
    assert rig.form.environment.toPlainText() == "ROOT=/tmp\nGITHUB_TOKEN="

    shown = SignalWaiter(rig.page.status_shown)
    qtbot.mouseClick(rig.form.connect_button, Qt.MouseButton.LeftButton)
    assert (await shown.wait(within=60))[0] == f"Connected: {len(TOOL_NAMES)} tools."
    assert rig.page.tools.topLevelItemCount() == len(TOOL_NAMES)
    await until(lambda: f"running · {len(TOOL_NAMES)} tools" in rig.page.list.item(0).text())
    names = [rig.page.tools.topLevelItem(i).text(0) for i in range(len(TOOL_NAMES))]
    row = names.index("add_numbers")
    assert rig.page.tools.topLevelItem(row).text(1) == "Add two numbers"
    rig.page.tools.setCurrentItem(rig.page.tools.topLevelItem(row))
    schema = json.loads(rig.page.schema.toPlainText())
    assert schema["required"] == ["a", "b"]

    # Saving again with the secret left empty keeps it; the server sees it.
    await _save(qtbot, rig)
    record = await rig.config.record("calc")
    assert (await rig.config.config(record)).env["GITHUB_TOKEN"] == TOKEN


async def test_a_failing_server_shows_its_message(qtbot, rig: Rig) -> None:
    await rig.open()
    qtbot.mouseClick(rig.page.add_button, Qt.MouseButton.LeftButton)
    _type(qtbot, rig.form.name, "broken")
    _type(qtbot, rig.form.command, sys.executable)
    _type(qtbot, rig.form.arguments, f"'{FAKE_SERVER}' --mode exit")
    await _save(qtbot, rig)
    shown = SignalWaiter(rig.page.status_shown)
    qtbot.mouseClick(rig.form.connect_button, Qt.MouseButton.LeftButton)
    text = (await shown.wait(within=60))[0]
    assert "'broken' exited while starting" in text and "missing configuration" in text
    assert rig.form.status.property("state") == "error"
    await until(lambda: "failed" in rig.page.list.item(0).text())
    assert "exited while starting" in rig.page.list.item(0).toolTip()


async def test_disable_revoke_and_remove(qtbot, rig: Rig) -> None:
    from desktop_llm.core.mcp_config import McpServerConfig

    record = await rig.config.save(
        McpServerConfig("calc", "stdio", command=sys.executable, args=(FAKE_SERVER,))
    )
    await rig.config.always_allow(record.id, "echo")
    await rig.open()
    rig.form.enabled.setChecked(False)
    await _save(qtbot, rig)
    assert (await rig.config.record("calc")).enabled is False
    assert rig.page.list.item(0).text().endswith("stdio · off")

    shown = SignalWaiter(rig.page.status_shown)
    qtbot.mouseClick(rig.form.connect_button, Qt.MouseButton.LeftButton)
    assert (await shown.wait(within=60))[0] == f"Connected: {len(TOOL_NAMES)} tools."
    rows = {rig.page.tools.topLevelItem(i).text(0): i for i in range(rig.page.tools.topLevelItemCount())}
    echo = rig.page.tools.topLevelItem(rows["echo"])
    assert echo.text(2) == "always allowed"
    rig.page.tools.setCurrentItem(rig.page.tools.topLevelItem(rows["add_numbers"]))
    assert not rig.page.revoke_button.isEnabled()
    rig.page.tools.setCurrentItem(echo)
    assert rig.page.revoke_button.isEnabled()
    revoked = SignalWaiter(rig.page.status_shown)
    qtbot.mouseClick(rig.page.revoke_button, Qt.MouseButton.LeftButton)
    await revoked.wait()
    assert await rig.config.approvals(record.id) == [] and echo.text(2) == ""

    changed = SignalWaiter(rig.page.servers_changed)
    qtbot.mouseClick(rig.page.remove_button, Qt.MouseButton.LeftButton)
    await answer_message_box(rig.page, "Remove")
    await changed.wait(within=30)
    assert rig.page.server_names() == [] and await rig.config.records() == []


async def test_import_from_claude_desktop(qtbot, rig: Rig, tmp_path: Path) -> None:
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "files": {"command": "npx", "args": ["-y", "server-filesystem", "/tmp"]},
                    "remote": {
                        "url": "https://example.com/mcp",
                        "headers": {"Authorization": "Bearer " + TOKEN},
                    },
                }
            }
        ),
        encoding="utf-8",
    )
    await rig.open()
    rig.answer = source
    changed = SignalWaiter(rig.page.servers_changed)
    qtbot.mouseClick(rig.page.import_button, Qt.MouseButton.LeftButton)
    await changed.wait(within=30)
    assert rig.chosen[0].caption == "Import MCP servers from Claude Desktop"
    assert rig.page.server_names() == ["files", "remote"]
    assert rig.form.status.text() == "Imported files, remote."
    stored = b"".join(p.read_bytes() for p in rig.data.glob("desktop-llm.sqlite3*"))
    assert TOKEN.encode() not in stored

    rig.answer = tmp_path / "nothing-here.json"
    shown = SignalWaiter(rig.page.status_shown)
    qtbot.mouseClick(rig.page.import_button, Qt.MouseButton.LeftButton)
    text = (await shown.wait())[0]
    assert text.startswith("Could not import") and "nothing-here.json" in text


def test_the_log_redactor_learns_server_secrets_from_the_keystore() -> None:
    from desktop_llm.services.logs import KeyRedactor
    from desktop_llm.ui.shell.composition import RedactingKeyStore

    redactor = KeyRedactor()
    keystore = RedactingKeyStore(redactor, DictKeyring())
    entry = json.dumps({"env": {"GITHUB_TOKEN": TOKEN}, "headers": {}})
    keystore.set(keyring_user("server-1"), entry)
    assert TOKEN not in redactor.redact(f"the server said: token {TOKEN} rejected")
    fresh = KeyRedactor()
    RedactingKeyStore(fresh, keystore._backend).get(keyring_user("server-1"))
    assert TOKEN not in fresh.redact(f"token={TOKEN}")


async def test_the_app_stops_its_mcp_servers_when_it_closes(tmp_path: Path) -> None:
    import psutil

    from desktop_llm.core.mcp_config import McpServerConfig
    from desktop_llm.core.paths import resolve_paths
    from desktop_llm.services.logs import KeyRedactor
    from desktop_llm.ui.shell.composition import build_services

    paths = resolve_paths(tmp_path / "app").ensure()
    services = await build_services(
        paths, redactor=KeyRedactor(), environ={}, keyring_backend=DictKeyring(), holds_lock=False
    )
    try:
        assert services.mcp is not None and services.mcp_config is not None
        await services.mcp_config.save(
            McpServerConfig("calc", "stdio", command=sys.executable, args=(FAKE_SERVER,))
        )
        await services.mcp.reload()
        assert len(await services.mcp.tools("calc")) == len(TOOL_NAMES)
        children = [
            child
            for child in psutil.Process().children(recursive=True)
            if FAKE_SERVER in " ".join(child.cmdline())
        ]
        assert len(children) == 1
    finally:
        if services.preloading is not None:
            await services.preloading
        await services.aclose()
    assert not children[0].is_running() or children[0].status() == psutil.STATUS_ZOMBIE
    assert (paths.logs / "mcp" / "calc.log").exists()
