"""The Settings dialog: Providers, General, Data and (when MCP is set up) Tools pages.

The main window opens it with the collaborators it needs (no singletons) and listens to its
signals. The pages fill themselves when the dialog is first shown; every blocking step
(keyring, database, files) runs off the Qt thread.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette, QShowEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTabWidget, QVBoxLayout, QWidget

from desktop_llm.core.theme import palette_for
from desktop_llm.secrets import KeyringStatus
from desktop_llm.services.conversations import ConversationService
from desktop_llm.services.exchange import ExchangeService
from desktop_llm.services.mcp_config import McpConfigService
from desktop_llm.services.mcp_manager import McpManager
from desktop_llm.services.provider_directory import ProviderDirectory
from desktop_llm.services.settings import SettingsService
from desktop_llm.ui.common.await_dialog import choose_path_with_dialog
from desktop_llm.ui.settings import exchange_dialogs
from desktop_llm.ui.settings.settings_data import DataPage
from desktop_llm.ui.settings.settings_general import GeneralPage
from desktop_llm.ui.settings.settings_providers import ProvidersPage
from desktop_llm.ui.settings.settings_tools import ToolsPage

PAGES = ("providers", "general", "data", "tools")

# Colours that read well on both themes' dialog backgrounds are not the same colours, so the
# sheet is built for the palette the dialog opens with.
_STYLE = """
QLabel#settingsHint {{ color: {muted}; }}
QLabel#settingsError {{ color: {error}; }}
QLabel#settingsHeading {{ font-size: 13pt; font-weight: 600; }}
QLabel#settingsStatus[state="ok"] {{ color: {ok}; }}
QLabel#settingsStatus[state="error"] {{ color: {error}; }}
QFrame#keyringWarning {{ background: #fff4d6; border: 1px solid #d9a21b; border-radius: 6px; }}
QLabel#keyringWarningText {{ color: #4d3300; }}
"""


class SettingsDialog(QDialog):
    """Providers (with keys in the keyring), appearance and behaviour, and the data folder.

    Args:
        settings: provider entries, keys, app settings, connection tests.
        providers: the app's provider directory (environment entries, proxy, cached providers).
        keystore_status: whether keys survive a restart; a warning shows when they do not.
        data_folder: the folder holding the database, logs and cache.
        exchange: export and import.
        conversations: the trash.
        choose_path: the file chooser for export and import (tests answer it themselves).
        mcp_config, mcp_manager: MCP servers; with both, a Tools page is shown.

    Signals:
        providers_changed(): a provider entry was added, changed or removed.
        app_settings_changed(dict): the app settings after a change (``AppSettings.as_dict()``:
            theme, font_size, send_key, auto_titles, proxy).
        conversations_changed(): an import or the trash changed which conversations exist.
        tool_servers_changed(): an MCP server was added, changed or removed (Tools page).
    """

    providers_changed = Signal()
    app_settings_changed = Signal(dict)
    conversations_changed = Signal()
    tool_servers_changed = Signal()

    def __init__(
        self,
        settings: SettingsService,
        providers: ProviderDirectory,
        keystore_status: KeyringStatus,
        data_folder: Path,
        exchange: ExchangeService,
        conversations: ConversationService,
        parent: QWidget | None = None,
        *,
        choose_path: exchange_dialogs.ChoosePath = choose_path_with_dialog,
        mcp_config: McpConfigService | None = None,
        mcp_manager: McpManager | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.resize(820, 560)
        self._load_task: asyncio.Task[None] | None = None

        self.general_page = GeneralPage(settings, providers)
        self.providers_page = ProvidersPage(
            settings, providers, keystore_status, proxy=self.general_page.current_proxy
        )
        self.data_page = DataPage(data_folder, exchange, conversations, choose_path=choose_path)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.providers_page, "Providers")
        self.tabs.addTab(self.general_page, "General")
        self.tabs.addTab(self.data_page, "Data")
        self.tools_page: ToolsPage | None = None
        if mcp_config is not None and mcp_manager is not None:
            self.tools_page = ToolsPage(mcp_config, mcp_manager, choose_path=choose_path)
            self.tabs.addTab(self.tools_page, "Tools")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self._apply_style()

        self.providers_page.providers_changed.connect(self.providers_changed)
        self.general_page.app_settings_changed.connect(self.app_settings_changed)
        self.data_page.conversations_changed.connect(self.conversations_changed)
        if self.tools_page is not None:
            self.tools_page.servers_changed.connect(self.tool_servers_changed)

    def show_page(self, name: str) -> None:
        """Bring a page to the front: "providers", "general", "data" or "tools"."""
        self.tabs.setCurrentIndex(PAGES.index(name))

    def load(self) -> asyncio.Task[None]:
        """Start filling every page (once; showing the dialog starts it too) and return the task."""
        if self._load_task is None:
            self._load_task = asyncio.ensure_future(self._load())
        return self._load_task

    async def _load(self) -> None:
        # General first: the providers page tests connections through its proxy.
        await self.general_page.load()
        pages = [self.providers_page.load(), self.data_page.load()]
        if self.tools_page is not None:
            pages.append(self.tools_page.load())
        await asyncio.gather(*pages)

    def showEvent(self, event: QShowEvent) -> None:
        """Fill the pages the first time the dialog appears."""
        super().showEvent(event)
        self.load()

    def _apply_style(self) -> None:
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        colours = palette_for(dark)
        self.setStyleSheet(
            _STYLE.format(
                muted=colours.muted,
                error=colours.error,
                ok="#57d38c" if dark else "#1a7f37",
            )
        )
