"""End to end: a key typed in Settings never reaches the database, its WAL, an export or a log file.

The app's own composition (``build_services``: the redacting key store, the database thread,
the chat service) and its logging run against the fake server, which insists on the key, so
the key provably travelled. Then every byte the app wrote is scanned.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import keyring
import pytest
from fakes.keyrings import DictKeyring
from fakes.provider_server import ProviderServer, Reply
from fakes.signal_wait import SignalWaiter
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from desktop_llm.core.paths import AppPaths
from desktop_llm.providers import RetryPolicy
from desktop_llm.services.logs import KeyRedactor, configure_logging
from desktop_llm.ui.settings import exchange_dialogs
from desktop_llm.ui.settings.settings_dialog import SettingsDialog
from desktop_llm.ui.shell.composition import build_services

# Not shaped like any vendor's key, so only the redactor's knowledge of it (not a pattern) or
# the app never writing it can keep it out of a file.
KEY = "canary-5b0e7d29c41f8a63"


def files_containing(needle: str, *roots: Path) -> list[Path]:
    """Return every file under ``roots`` whose bytes hold ``needle`` (UTF-8, or UTF-16 as SQLite may)."""
    patterns = (needle.encode(), needle.encode("utf-16-le"), needle.encode("utf-16-be"))
    found = []
    for root in roots:
        for file in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
            data = file.read_bytes()
            if any(pattern in data for pattern in patterns):
                found.append(file)
    return found


class Chooser:
    """Answer each file chooser with the next path."""

    def __init__(self, *paths: Path) -> None:
        self._paths = list(paths)

    async def __call__(self, parent: QWidget | None, request: exchange_dialogs.PathRequest) -> Path:
        return self._paths.pop(0)


@pytest.fixture
def restore_logging():
    """Undo ``configure_logging``: the root logger is process-wide."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    httpx_level = logging.getLogger("httpx").level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)


def test_the_scan_finds_a_planted_key(tmp_path):
    (tmp_path / "nested").mkdir()
    (tmp_path / "clean.txt").write_text("nothing here")
    (tmp_path / "nested" / "leak.bin").write_bytes(b"\x00prefix" + KEY.encode("utf-16-le") + b"\x00")
    assert files_containing(KEY, tmp_path) == [tmp_path / "nested" / "leak.bin"]


async def test_no_key_in_database_wal_exports_or_logs(tmp_path, qtbot, restore_logging):
    paths = AppPaths(
        data=tmp_path / "data", logs=tmp_path / "data" / "logs", cache=tmp_path / "data" / "cache"
    )
    paths.ensure()
    redactor = KeyRedactor()
    log_file = configure_logging(paths.logs, redactor, level=logging.DEBUG)
    # The real keyring when the D-Bus session has one (scripts/test.sh), else a dict-backed one.
    real_keyring = bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))
    backend = keyring.get_keyring() if real_keyring else DictKeyring()
    exports = tmp_path / "exports"
    exports.mkdir()

    with ProviderServer() as server:
        server.api_key = KEY
        server.models = ["model-a"]
        services = await build_services(
            paths,
            redactor=redactor,
            environ={},
            keyring_backend=backend,
            retry=RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02),
            holds_lock=False,
        )
        try:
            dialog = SettingsDialog(
                services.settings,
                services.directory,
                services.keystore.status,
                paths.data,
                services.exchange,
                services.conversations,
            )
            qtbot.addWidget(dialog)
            dialog.show()
            await dialog.load()
            page, form = dialog.providers_page, dialog.providers_page.form

            # The key, typed into the dialog, tested, saved.
            qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
            form.kind.setCurrentIndex(form.kind.findData("openai"))
            qtbot.keyClicks(form.base_url, server.url_for("openai"))
            qtbot.keyClicks(form.api_key, KEY)
            checked = SignalWaiter(page.connection_checked)
            qtbot.mouseClick(form.test_button, Qt.MouseButton.LeftButton)
            assert await checked.wait() == ("Connected: 1 model",)
            form.model.setCurrentIndex(0)
            saved = SignalWaiter(dialog.providers_changed)
            qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
            await saved.wait()
            entry_id = page.current_entry().id
            if real_keyring:
                assert backend.get_password("desktop-llm", entry_id) == KEY

            # A streamed conversation (with its automatic title), then a refused request.
            conversation = await services.conversations.create(provider_id=entry_id, model="model-a")
            titles = SignalWaiter(services.bridge.title_changed)
            server.push(Reply(text="Streaming an answer, token by token, with the key in the header."))
            reply = await services.chat.send(conversation.id, "Tell me something.")
            assert reply.status == "complete"
            await titles.wait()
            await titles.wait()  # the model's title, after the placeholder
            server.push(Reply(status=401, error_message="Incorrect API key provided"))
            failed = await services.chat.send(conversation.id, "And again?")
            assert failed.status == "error" and "401" in (failed.error or "")
            assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in server.requests)
            assert len(server.chat_requests) == 3  # reply, title, refused

            # Exports in every format.
            service = services.exchange
            for name in ("one.json", "one.md"):
                outcome = await exchange_dialogs.export_conversation(
                    dialog, service, conversation.id, choose_path=Chooser(exports / name)
                )
                assert outcome is not None and outcome.succeeded
            outcome = await exchange_dialogs.export_all(
                dialog, service, choose_path=Chooser(exports / "all.json")
            )
            assert outcome is not None and outcome.succeeded

            # Logs: what the app logs on its own, plus an error carrying the provider's message.
            logging.getLogger("desktop_llm.test").error("a reply failed: %s", failed.error)
        finally:
            await services.aclose()

    for handler in logging.getLogger().handlers:
        handler.flush()
    database = paths.database
    written = [
        database,
        Path(f"{database}-wal"),
        exports / "one.json",
        exports / "one.md",
        exports / "all.json",
    ]
    assert all(path.exists() for path in written[:1] + written[2:])
    assert log_file.exists() and log_file.stat().st_size > 0
    assert files_containing(KEY, paths.data, exports) == []
    # The folder scan covered the database, its WAL (if still there) and the log folder.
    assert log_file.is_relative_to(paths.data) and database.is_relative_to(paths.data)
