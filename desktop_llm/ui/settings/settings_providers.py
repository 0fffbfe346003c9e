"""The Providers page of Settings: the list of providers, the form to edit one, local-server detection.

Environment providers are listed first, marked "from environment" and read-only. Saving puts
the key in the keyring through ``SettingsService`` (off the Qt thread); "Test connection" lists
the server's models with a temporary provider and says "Connected: 37 models" or the provider's
own message. Ollama and LM Studio are probed when the page loads; their "Add" buttons work only
when they answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import urllib.parse
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.providers import ProviderError
from desktop_llm.secrets import KeyringStatus, SecretsError
from desktop_llm.services.provider_directory import ProviderDirectory, ProviderEntry
from desktop_llm.services.settings import InvalidSetting, LocalServer, SettingsService
from desktop_llm.storage.errors import StorageError
from desktop_llm.storage.records import ProviderSetting
from desktop_llm.ui.common.async_slot import async_slot
from desktop_llm.ui.common.await_dialog import confirm
from desktop_llm.ui.common.plain_text import rich_with
from desktop_llm.ui.settings.settings_provider_form import ProviderForm, kind_label
from desktop_llm.ui.settings.settings_widgets import TwoLineDelegate, hint_label

NO_KEYRING_HEADLINE = "No system keyring found: keys will be kept only until you quit."
# Known failures of a test, a save or a removal: each carries a message a person can act on.
_KNOWN_ERRORS = (ProviderError, InvalidSetting, SecretsError, StorageError)


def _models_text(count: int) -> str:
    return f"Connected: {count} model" if count == 1 else f"Connected: {count:,} models"


def keyring_banner(status: KeyringStatus) -> QFrame:
    """Return the warning shown when keys cannot be kept in a system keyring."""
    banner = QFrame()
    banner.setObjectName("keyringWarning")
    label = QLabel(
        rich_with("<b>{headline}</b><br>{message}", headline=NO_KEYRING_HEADLINE, message=status.message)
    )
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setObjectName("keyringWarningText")
    layout = QVBoxLayout(banner)
    layout.setContentsMargins(10, 8, 10, 8)
    layout.addWidget(label)
    banner.setVisible(not status.available)
    return banner


class ProvidersPage(QWidget):
    """List, add, edit, test and remove providers; add a local server in one click.

    Args:
        settings: stored entries, keys, connection tests, local-server probes.
        providers: the entries as the app uses them (environment ones too); told to forget
            cached providers after a change.
        keystore_status: whether keys survive a restart (a warning is shown when not).
        proxy: returns the proxy connection tests should use.

    Signals:
        providers_changed(): an entry was added, changed or removed.
        connection_checked(str): a connection test ended; the line it showed.
        status_shown(str): any result line was shown (saved, removed, failed...).
    """

    providers_changed = Signal()
    connection_checked = Signal(str)
    status_shown = Signal(str)

    def __init__(
        self,
        settings: SettingsService,
        providers: ProviderDirectory,
        keystore_status: KeyringStatus,
        *,
        proxy: Callable[[], str | None] = lambda: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._providers = providers
        self._proxy = proxy
        self._keyring_available = keystore_status.available
        self._entries: dict[str, ProviderEntry] = {}
        self._stored: dict[str, ProviderSetting] = {}
        self._detected: list[LocalServer] = []

        self.banner = keyring_banner(keystore_status)
        self.list = QListWidget()
        self.list.setObjectName("providerList")
        self.list.setItemDelegate(TwoLineDelegate(self.list))
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove…")
        self.form = ProviderForm(keyring_available=keystore_status.available)
        self.local_label = hint_label("Looking for Ollama and LM Studio on this computer…")
        self.local_buttons: dict[str, QPushButton] = {}
        self.recheck_button = QPushButton("Check again")

        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self.add_button)
        list_buttons.addWidget(self.remove_button)
        list_buttons.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addLayout(list_buttons)
        self.list.setFixedWidth(250)
        columns = QHBoxLayout()
        columns.setSpacing(16)
        columns.addLayout(left)
        columns.addWidget(self.form, 1)

        local_row = QHBoxLayout()
        local_row.addWidget(self.local_label, 1)
        for server in settings.local_servers:
            button = QPushButton(f"Add {server.name}")
            button.setEnabled(False)
            button.clicked.connect(lambda _checked=False, s=server: self.on_local_button_clicked(s))
            self.local_buttons[server.name] = button
            local_row.addWidget(button)
        local_row.addWidget(self.recheck_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(columns, 1)
        layout.addLayout(local_row)

        self.list.currentItemChanged.connect(self.on_list_current_item_changed)
        self.add_button.clicked.connect(self.on_add_button_clicked)
        self.remove_button.clicked.connect(self.on_remove_button_clicked)
        self.form.test_button.clicked.connect(self.on_test_button_clicked)
        self.form.save_button.clicked.connect(self.on_save_button_clicked)
        self.recheck_button.clicked.connect(self.on_recheck_button_clicked)
        self.remove_button.setEnabled(False)

    # -- loading ------------------------------------------------------------------------------

    async def load(self) -> None:
        """List the providers and probe for local servers, both at once."""
        await asyncio.gather(self.reload(), self.detect_local_servers())

    async def reload(self, select: str | None = None) -> None:
        """Refill the list from the directory and show ``select`` (an entry id), else the first entry."""
        entries = await self._providers.entries()
        self._stored = {setting.id: setting for setting in await self._settings.providers()}
        self._entries = {entry.id: entry for entry in entries}
        self.list.blockSignals(True)  # refilling is not the person choosing an entry
        try:
            self.list.clear()
            for entry in entries:
                self.list.addItem(self._item(entry))
        finally:
            self.list.blockSignals(False)
        self._update_local_buttons()
        ids = self.entry_ids()
        if select not in ids:
            select = ids[0] if ids else None
        if select is None:
            self.form.show_new()
            self.remove_button.setEnabled(False)
            return
        self.list.blockSignals(True)  # shown below, awaited, so a result line set after it stays
        try:
            self.select(select)
        finally:
            self.list.blockSignals(False)
        await self._show_current()

    @staticmethod
    def _item(entry: ProviderEntry) -> QListWidgetItem:
        default = "this computer" if entry.kind == "ollama" else "official API"
        where = urllib.parse.urlsplit(entry.base_url).netloc if entry.base_url else default
        detail = f"{kind_label(entry.kind)} · {where or entry.base_url}"
        if entry.from_environment:
            detail = f"from environment · {detail}"
        item = QListWidgetItem(f"{entry.name}\n{detail}")
        item.setData(Qt.ItemDataRole.UserRole, entry.id)
        if entry.from_environment:
            item.setToolTip("Configured by environment variables; read-only here")
            font = item.font()
            font.setItalic(True)
            item.setFont(font)
        return item

    def select(self, entry_id: str) -> None:
        """Select the entry (its form opens)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == entry_id:
                self.list.setCurrentRow(row)
                return

    def entry_ids(self) -> list[str]:
        """Return the listed entries' ids, in order."""
        return [self.list.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.list.count())]

    def current_entry(self) -> ProviderEntry | None:
        """Return the selected entry, or None while a new one is being added."""
        item = self.list.currentItem()
        return self._entries.get(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    # -- local servers --------------------------------------------------------------------------

    async def detect_local_servers(self) -> None:
        """Probe for local servers and enable the "Add" button of each that answers."""
        self.recheck_button.setEnabled(False)
        try:
            self._detected = await self._settings.detect_local_servers()
        finally:
            self.recheck_button.setEnabled(True)
        self._update_local_buttons()

    def _update_local_buttons(self) -> None:
        added = {(setting.kind, (setting.base_url or "").rstrip("/")) for setting in self._stored.values()}
        found = []
        for server in self._settings.local_servers:
            button = self.local_buttons[server.name]
            running = server in self._detected
            already = (server.kind, server.base_url.rstrip("/")) in added
            button.setEnabled(running and not already)
            if already:
                button.setToolTip(f"{server.name} is already in the list")
            elif running:
                found.append(server.name)
                button.setToolTip(f"{server.name} answers at {server.base_url}: add it as a provider")
            else:
                button.setToolTip(
                    f"{server.name} is not running at {server.base_url}; start it, then check again"
                )
        if found:
            self.local_label.setText(f"Running on this computer: {' and '.join(found)}.")
        else:
            self.local_label.setText("No new local server found (Ollama, LM Studio).")

    @async_slot()
    async def on_recheck_button_clicked(self) -> None:
        """Probe again (after the person started a server)."""
        await self.detect_local_servers()

    @async_slot(object)
    async def on_local_button_clicked(self, server: LocalServer) -> None:
        """Add a detected local server as a provider entry."""
        button = self.local_buttons[server.name]
        button.setEnabled(False)
        setting = ProviderSetting(
            id="", kind=server.kind, name=server.name, base_url=server.base_url, preset=server.preset
        )
        try:
            saved = await self._settings.save_provider(setting)
        except _KNOWN_ERRORS as error:
            self._show_status(str(error), ok=False)
            self._update_local_buttons()
            return
        await self._saved(saved, f"{server.name} added.")

    # -- editing ------------------------------------------------------------------------------

    @async_slot()
    async def on_list_current_item_changed(self) -> None:
        """Show the chosen entry in the form."""
        await self._show_current()

    async def _show_current(self) -> None:
        entry = self.current_entry()
        self.remove_button.setEnabled(entry is not None and not entry.from_environment)
        if entry is None:
            return
        has_key = False
        if not entry.from_environment:
            try:
                has_key = await self._settings.has_key(entry.id)  # the keyring may block: off-thread
            except SecretsError as error:
                self._show_status(str(error), ok=False)
        if self.current_entry() == entry:  # the person may have moved on while the keyring answered
            self.form.show_entry(entry, has_key=has_key)

    def on_add_button_clicked(self) -> None:
        """Start a new entry in the form."""
        self.list.setCurrentRow(-1)
        self.remove_button.setEnabled(False)
        self.form.show_new()
        self.form.name.setFocus()

    @async_slot()
    async def on_save_button_clicked(self) -> None:
        """Store the form's entry, its key in the keyring."""
        values = self.form.values()
        entry = self.current_entry()
        base = self._stored.get(entry.id) if entry is not None else None
        setting = dataclasses.replace(
            base or ProviderSetting(id="", kind=values.kind, name=""),
            kind=values.kind,
            name=values.name,
            base_url=values.base_url,
            preset=values.preset,
            default_model=values.default_model,
        )
        self.form.set_busy(True)
        try:
            saved = await self._settings.save_provider(setting, values.api_key)
        except _KNOWN_ERRORS as error:
            self._show_status(str(error), ok=False)
            return
        finally:
            self.form.set_busy(False)
        kept = "in the system keyring" if self._keyring_available else "in memory until you quit"
        await self._saved(saved, f"Saved. The key is kept {kept}." if values.api_key else "Saved.")
        if values.api_key:
            self.form.mark_key_stored()

    async def _saved(self, saved: ProviderSetting, message: str) -> None:
        self._providers.forget(saved.id)
        await self.reload(select=saved.id)
        self._show_status(message, ok=True)
        self.providers_changed.emit()

    @async_slot()
    async def on_remove_button_clicked(self) -> None:
        """Remove the selected entry and its key, after asking."""
        entry = self.current_entry()
        if entry is None or entry.from_environment:
            return
        question = (
            f"Remove “{entry.name}”? Its API key is deleted from the keyring too. Conversations "
            "that use it are kept; pick another provider to continue them."
        )
        if not await confirm(self, "Remove provider", question, "Remove"):
            return
        self.remove_button.setEnabled(False)
        try:
            await self._settings.delete_provider(entry.id)
        except _KNOWN_ERRORS as error:
            self._show_status(str(error), ok=False)
            self.remove_button.setEnabled(True)
            return
        self._providers.forget(entry.id)
        await self.reload()
        self._show_status(f"“{entry.name}” removed.", ok=True)
        self.providers_changed.emit()

    @async_slot()
    async def on_test_button_clicked(self) -> None:
        """Connect with what the form holds and say how many models the server has, or why not."""
        entry = self.current_entry()
        values = self.form.values()
        self.form.set_busy(True)
        self.form.set_status("Connecting…")
        try:
            if entry is not None and entry.from_environment:
                models = [model.id for model in await self._providers.list_models(entry.id, refresh=True)]
            else:
                models = await self._settings.list_models(
                    values.kind,
                    values.preset,
                    values.base_url,
                    values.api_key,
                    setting_id=entry.id if entry is not None else None,
                    proxy=self._proxy(),
                )
        except _KNOWN_ERRORS as error:
            text, ok = str(error), False
        else:
            text, ok = _models_text(len(models)), True
            self.form.set_models(models)
        finally:
            self.form.set_busy(False)
        self._show_status(text, ok=ok)
        self.connection_checked.emit(text)

    def _show_status(self, text: str, *, ok: bool) -> None:
        self.form.set_status(text, ok=ok)
        self.status_shown.emit(text)
