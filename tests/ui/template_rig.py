"""Real parts for the template widgets' tests: a SQLite file, the templates service, a task keeper,
and (when a fake server is given) a provider directory whose one entry is that server.

``save_screenshot`` grabs a widget; with ``DESKTOP_LLM_SCREENSHOTS=<folder>`` in the environment
the picture is also written there (``docs/screenshots`` for the README).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import keyring.backends.null
from fakes.provider_server import ProviderServer
from PySide6.QtWidgets import QApplication, QWidget

from desktop_llm.providers import RetryPolicy
from desktop_llm.secrets import KeyStore
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.templates import TemplateService
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.common.theme import apply_theme

ENTRY = "env:openai"


@dataclass
class TemplateRig:
    """What a template widget needs, all real."""

    db: DatabaseThread
    templates: TemplateService
    tasks: TaskKeeper
    directory: ProviderDirectory
    errors: list[str] = field(default_factory=list)

    async def settle(self) -> None:
        """Wait until every task the widgets started has finished; fail on a shown error."""
        await self.tasks.join()
        assert not self.errors, self.errors


@asynccontextmanager
async def template_rig(tmp_path: Path, server: ProviderServer | None = None) -> AsyncIterator[TemplateRig]:
    """Open the database and services in ``tmp_path``; the fake server is the OpenAI entry."""
    db = DatabaseThread(tmp_path / "templates.sqlite3")
    errors: list[str] = []
    environ = (
        {} if server is None else {"OPENAI_API_KEY": "sk-rig", "OPENAI_BASE_URL": server.url_for("openai")}
    )
    directory = ProviderDirectory(
        db, KeyStore(keyring.backends.null.Keyring()), environ=environ, retry=RetryPolicy(max_retries=0)
    )
    rig = TemplateRig(db, TemplateService(db), TaskKeeper(errors.append), directory, errors)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, dark=False)
    try:
        yield rig
    finally:
        rig.tasks.cancel_all()
        await rig.tasks.join()
        await directory.aclose()
        await db.aclose()


async def wait_for(condition: Callable[[], object], *, seconds: float = 10.0, what: str = "") -> None:
    """Let the loop run until ``condition()`` is true; fail after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


def save_screenshot(widget: QWidget, name: str, tmp_path: Path) -> Path:
    """Grab ``widget`` as it is drawn now into ``tmp_path/name`` (and the screenshot folder, if set)."""
    picture = widget.grab()
    assert not picture.isNull() and picture.width() > 100
    target = tmp_path / name
    assert picture.save(str(target))
    folder = os.environ.get("DESKTOP_LLM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert picture.save(str(Path(folder) / name))
    return target
