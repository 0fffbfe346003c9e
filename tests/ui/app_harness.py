"""The real app in-process for UI tests: the composition root's parts on a temp data folder.

``open_app`` builds exactly what ``desktop_llm.app`` builds after the window shows (the real
services, a real SQLite file, the real window and workspace), with three seams a test needs: the
environment (pointing a provider at the fake server), a keyring that keeps keys in memory, and a
fast retry policy. It shuts down the way the app does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import keyring.backends.null
from fakes.provider_server import ProviderServer
from PySide6.QtCore import Qt, QUrl
from PySide6.QtTest import QTest

from desktop_llm.core.paths import AppPaths, resolve_paths
from desktop_llm.providers import RetryPolicy
from desktop_llm.services.logs import KeyRedactor
from desktop_llm.storage.lock import DataFolderLock
from desktop_llm.ui.chat.chat_view import ChatView
from desktop_llm.ui.shell.composition import Composition, build_services
from desktop_llm.ui.shell.main_window import MainWindow
from desktop_llm.ui.shell.workspace import Workspace

FAST_RETRY = RetryPolicy(max_retries=2, base_delay=0.05, max_delay=0.2)


def fake_openai_environment(server: ProviderServer, key: str = "sk-test-fake-key-0001") -> dict[str, str]:
    """Environment variables that make the fake server an "OpenAI (environment)" entry."""
    return {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": server.url_for("openai")}


@dataclasses.dataclass
class App:
    """A running app and handy ways to drive and inspect it."""

    window: MainWindow
    composition: Composition
    paths: AppPaths
    opened_urls: list[QUrl]
    settings_opened: list[Composition]

    @property
    def workspace(self) -> Workspace:
        return self.composition.workspace

    def view(self) -> ChatView:
        view = self.workspace.chat_page.current_view()
        assert view is not None, "no conversation is on screen"
        return view

    async def type_and_send(self, text: str) -> None:
        """Type ``text`` and press Enter, once the Send button is back (as a person would wait)."""
        composer = self.workspace.composer
        await wait_until(lambda: not composer.streaming, what="the Send button")
        composer.set_text(text)
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)

    async def idle(self) -> None:
        """Wait until no reply streams: a row says "complete" a moment before the service is done."""
        await wait_until(lambda: not self.composition.services.chat.streaming_conversations(), what="idle")

    def current_id(self) -> str | None:
        session = self.workspace.current_session()
        return session.conversation.id if session and session.conversation else None

    def rows(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Read the database file directly (a second connection, as another program would)."""
        with sqlite3.connect(self.paths.database) as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()

    def messages(self, conversation_id: str | None = None) -> list[sqlite3.Row]:
        if conversation_id is None:
            return self.rows("SELECT * FROM messages ORDER BY seq")
        return self.rows("SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", conversation_id)


async def wait_until(condition: Callable[[], object], *, seconds: float = 10.0, what: str = "") -> None:
    """Let the loop run until ``condition()`` is true; fail after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def open_app(
    qtbot: Any,
    data_folder: Path,
    *,
    environ: Mapping[str, str] | None = None,
    auto_titles: bool = False,
    prepare: Callable[[Path], None] | None = None,
    real_settings_dialog: bool = False,
) -> AsyncIterator[App]:
    """Start the app's window and services on ``data_folder``; shut it all down afterwards.

    Args:
        environ: the process environment the app sees (provider keys and base URLs).
        auto_titles: let the model title new conversations (off: titles would use scripted replies).
        prepare: called with the database path before the app opens it (to fill it in).
        real_settings_dialog: open the real Settings dialog (else record that it was asked for).
    """
    paths = resolve_paths(data_folder).ensure()
    if prepare is not None:
        prepare(paths.database)
    lock = DataFolderLock(paths.data)
    assert lock.acquire(), "the data folder is locked"
    window = MainWindow(paths.data / "window.ini")
    qtbot.addWidget(window)
    window.show()
    services = await build_services(
        paths,
        redactor=KeyRedactor(),
        environ=dict(environ or {}),
        keyring_backend=keyring.backends.null.Keyring(),
        retry=FAST_RETRY,
    )
    services.app_settings = dataclasses.replace(services.app_settings, auto_titles=auto_titles)
    opened: list[QUrl] = []
    settings_opened: list[Composition] = []
    composition = Composition(
        window,
        services,
        log_folder=paths.logs,
        open_url=opened.append,
        open_settings_dialog=None if real_settings_dialog else settings_opened.append,
    )
    try:
        await composition.start()
        yield App(window, composition, paths, opened, settings_opened)
    finally:
        await composition.shutdown()
        if services.preloading is not None:
            await services.preloading
        window.allow_close()
        window.close()
        lock.release()
