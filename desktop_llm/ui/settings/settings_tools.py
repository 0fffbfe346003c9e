"""The Tools page of Settings: MCP servers, their state and tools, "always allow" approvals, import.

Servers are listed with their state (stopped, starting, running, failed with the message).
Selecting one opens its form and lists its tools (known once it ran) with their descriptions;
selecting a tool shows its input schema and whether it runs without asking, which can be
revoked. "Import…" reads Claude Desktop's ``claude_desktop_config.json``. Database and keyring
work runs off the Qt thread (the services see to it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.mcp_config import McpConfigError
from desktop_llm.secrets import SecretsError
from desktop_llm.services.mcp_config import McpConfigService
from desktop_llm.services.mcp_manager import McpManager, ServerStatus
from desktop_llm.services.mcp_types import McpError, McpTool
from desktop_llm.storage.errors import StorageError
from desktop_llm.storage.mcp_servers import McpServerRecord
from desktop_llm.ui.common.async_slot import async_slot
from desktop_llm.ui.common.await_dialog import PathRequest, choose_path_with_dialog, confirm
from desktop_llm.ui.settings.exchange_dialogs import ChoosePath
from desktop_llm.ui.settings.settings_tool_form import TRANSPORT_LABELS, McpServerForm
from desktop_llm.ui.settings.settings_widgets import TwoLineDelegate, hint_label

_KNOWN_ERRORS = (McpConfigError, SecretsError, StorageError, McpError)
STATE_LABELS = {"stopped": "not running", "starting": "starting…", "running": "running", "failed": "failed"}
ALWAYS = "always allowed"


def claude_desktop_config_path() -> Path:
    """Return where Claude Desktop keeps its configuration on this system (it may not exist)."""
    home = Path.home()
    candidates = (
        home / "Library" / "Application Support" / "Claude",  # macOS
        home / "AppData" / "Roaming" / "Claude",  # Windows
        home / ".config" / "Claude",  # Linux
    )
    for folder in candidates:
        if folder.exists():
            return folder / "claude_desktop_config.json"
    return home


def _forget(life: dict[str, bool], manager: McpManager, listener: Callable[[], None]) -> Callable[[], None]:
    """Return the slot for ``destroyed``: a plain function, so it still runs while the page goes away."""

    def forget() -> None:
        life["alive"] = False  # a refresh already under way must not touch the deleted widgets
        manager.remove_listener(listener)

    return forget


class ToolsPage(QWidget):
    """Add, edit, enable or disable, connect to and remove MCP servers; see their tools; revoke approvals.

    Args:
        config: stored servers, their secrets and approvals.
        manager: the running servers (states, tools).
        choose_path: the file chooser for Import… (tests answer it themselves).

    Signals:
        servers_changed(): a server was added, changed or removed.
        status_shown(str): a result line was shown.
    """

    servers_changed = Signal()
    status_shown = Signal(str)

    def __init__(
        self,
        config: McpConfigService,
        manager: McpManager,
        *,
        choose_path: ChoosePath = choose_path_with_dialog,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._config = config
        self._manager = manager
        self._choose_path = choose_path
        self._records: dict[str, McpServerRecord] = {}
        self._statuses: dict[str, ServerStatus] = {}
        self._approvals: set[str] = set()
        self._refreshing: asyncio.Future[None] | None = None

        self.list = QListWidget()
        self.list.setObjectName("mcpServerList")
        self.list.setItemDelegate(TwoLineDelegate(self.list))
        self.list.setFixedWidth(230)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove…")
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add the servers of Claude Desktop's claude_desktop_config.json")
        self.form = McpServerForm()
        self.tools = QTreeWidget()
        self.tools.setHeaderLabels(["Tool", "Description", "Approval"])
        self.tools.setRootIsDecorated(False)
        self.schema = QPlainTextEdit()
        self.schema.setReadOnly(True)
        self.schema.setPlaceholderText("Select a tool to see the arguments it takes (its input schema).")
        self.revoke_button = QPushButton("Ask every time")
        self.revoke_button.setToolTip("Revoke “always allow”: ask before this tool runs again")
        self.tools_note = hint_label("Connect to see the server's tools.")

        list_buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.import_button):
            list_buttons.addWidget(button)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addLayout(list_buttons)
        tool_side = QWidget()
        tool_column = QVBoxLayout(tool_side)
        tool_column.setContentsMargins(0, 0, 0, 0)
        tool_column.addWidget(QLabel("Tools"))
        tool_column.addWidget(self.tools_note)
        tool_column.addWidget(self.tools, 2)
        tool_column.addWidget(self.schema, 1)
        revoke_row = QHBoxLayout()
        revoke_row.addStretch(1)
        revoke_row.addWidget(self.revoke_button)
        tool_column.addLayout(revoke_row)
        form_side = QWidget()
        form_column = QVBoxLayout(form_side)
        form_column.setContentsMargins(0, 0, 0, 0)
        form_column.addWidget(self.form)
        form_column.addStretch(1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(form_side)
        splitter.addWidget(tool_side)
        columns = QHBoxLayout(self)
        columns.addLayout(left)
        columns.addWidget(splitter, 1)

        self.list.currentItemChanged.connect(self.on_list_current_item_changed)
        self.add_button.clicked.connect(self.on_add_button_clicked)
        self.remove_button.clicked.connect(self.on_remove_button_clicked)
        self.import_button.clicked.connect(self.on_import_button_clicked)
        self.form.save_button.clicked.connect(self.on_save_button_clicked)
        self.form.connect_button.clicked.connect(self.on_connect_button_clicked)
        self.tools.currentItemChanged.connect(self.on_tools_current_item_changed)
        self.revoke_button.clicked.connect(self.on_revoke_button_clicked)
        self._life = {"alive": True}
        self._manager.add_listener(self._on_manager_changed)
        self.destroyed.connect(_forget(self._life, manager, self._on_manager_changed))
        self.remove_button.setEnabled(False)
        self.revoke_button.setEnabled(False)
        self.form.show_new()

    # -- loading -------------------------------------------------------------------------------

    async def load(self) -> None:
        """List the stored servers with their states."""
        await self.reload()

    async def reload(self, select: str | None = None) -> None:
        """Refill the list and show ``select`` (a server name), else the current one, else the first."""
        current = select or self.current_name()
        records = await self._config.records()
        statuses = await self._manager.statuses()
        self._records = {record.name: record for record in records}
        self._statuses = {status.name: status for status in statuses}
        self.list.blockSignals(True)  # refilling is not the person choosing a server
        try:
            self.list.clear()
            for record in records:
                self.list.addItem(self._item(record))
        finally:
            self.list.blockSignals(False)
        names = self.server_names()
        if current not in names:
            current = names[0] if names else None
        if current is None:
            self.form.show_new()
            self._show_tools(None)
            self.remove_button.setEnabled(False)
            return
        self.list.blockSignals(True)
        try:
            self.select(current)
        finally:
            self.list.blockSignals(False)
        await self._show_current()

    def _item(self, record: McpServerRecord) -> QListWidgetItem:
        item = QListWidgetItem(f"{record.name}\n{self._detail(record)}")
        item.setData(Qt.ItemDataRole.UserRole, record.name)
        status = self._statuses.get(record.name)
        if status is not None and status.error:
            item.setToolTip(status.error)
        return item

    def _detail(self, record: McpServerRecord) -> str:
        status = self._statuses.get(record.name)
        state = STATE_LABELS[status.state] if status is not None else STATE_LABELS["stopped"]
        if status is not None and status.state == "running":
            state = f"running · {len(status.tools)} tools"
        kind = "stdio" if record.transport == "stdio" else "HTTP"
        return f"{kind} · {state}" if record.enabled else f"{kind} · off"

    def server_names(self) -> list[str]:
        """Return the listed servers' names, in order."""
        return [self.list.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.list.count())]

    def current_name(self) -> str | None:
        """Return the selected server's name, or None while a new one is being added."""
        item = self.list.currentItem()
        if item is None:
            return None
        name: str = item.data(Qt.ItemDataRole.UserRole)
        return name

    def select(self, name: str) -> None:
        """Select the server called ``name`` (its form opens)."""
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.list.setCurrentRow(row)
                return

    def status_of(self, name: str) -> ServerStatus | None:
        """Return the last known state of a server (for tests and the list)."""
        return self._statuses.get(name)

    # -- state from the manager --------------------------------------------------------------

    def _on_manager_changed(self) -> None:
        # Coalesced: a start changes the state twice in a row; one refresh shows the latest.
        if self._life["alive"] and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.ensure_future(self._refresh_states())

    async def _refresh_states(self) -> None:
        await asyncio.sleep(0)
        statuses = await self._manager.statuses()
        if not self._life["alive"]:
            return
        self._statuses = {status.name: status for status in statuses}
        for row in range(self.list.count()):
            item = self.list.item(row)
            record = self._records.get(item.data(Qt.ItemDataRole.UserRole))
            if record is not None:
                item.setText(f"{record.name}\n{self._detail(record)}")
                status = self._statuses.get(record.name)
                item.setToolTip(status.error if status is not None else "")
        name = self.current_name()
        if name is not None:
            self._show_tools(self._statuses.get(name))

    # -- one server --------------------------------------------------------------------------

    @async_slot()
    async def on_list_current_item_changed(self) -> None:
        """Show the chosen server in the form, with its tools."""
        await self._show_current()

    async def _show_current(self) -> None:
        name = self.current_name()
        self.remove_button.setEnabled(name is not None)
        record = self._records.get(name) if name is not None else None
        if name is None or record is None:
            return
        self.form.show_record(record)
        status = self._statuses.get(name)
        if status is not None and status.state == "failed":
            self.form.set_status(status.error, ok=False)
        else:
            self.form.set_status("")
        self._approvals = set(await self._config.approvals(record.id))
        if self.current_name() == name:
            self._show_tools(status)

    def _show_tools(self, status: ServerStatus | None) -> None:
        self.tools.clear()
        self.schema.clear()
        self.revoke_button.setEnabled(False)
        tools = status.tools if status is not None else ()
        for tool in tools:
            item = QTreeWidgetItem(
                [tool.name, tool.description, ALWAYS if tool.name in self._approvals else ""]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, tool)
            item.setToolTip(1, tool.description)
            self.tools.addTopLevelItem(item)
        if tools:
            self.tools_note.setText(f"{len(tools)} tools. Select one to see its input schema.")
        elif status is not None and status.state == "failed":
            self.tools_note.setText("The server failed; its message is above. Connect to try again.")
        else:
            self.tools_note.setText("Connect to see the server's tools.")

    def current_tool(self) -> McpTool | None:
        """Return the selected tool, or None."""
        item = self.tools.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def on_tools_current_item_changed(self) -> None:
        """Show the selected tool's input schema and whether it runs without asking."""
        tool = self.current_tool()
        if tool is None:
            self.schema.clear()
            self.revoke_button.setEnabled(False)
            return
        self.schema.setPlainText(json.dumps(tool.input_schema, indent=2, ensure_ascii=False))
        self.revoke_button.setEnabled(tool.name in self._approvals)

    @async_slot()
    async def on_revoke_button_clicked(self) -> None:
        """Ask again before the selected tool runs."""
        tool, record = self.current_tool(), self._records.get(self.current_name() or "")
        if tool is None or record is None:
            return
        await self._config.revoke(record.id, tool.name)
        self._approvals.discard(tool.name)
        item = self.tools.currentItem()
        if item is not None:
            item.setText(2, "")
        self.revoke_button.setEnabled(False)
        self._show_status(f"{tool.name} will ask before it runs again.", ok=True)

    def on_add_button_clicked(self) -> None:
        """Start a new server in the form."""
        self.list.setCurrentRow(-1)
        self.remove_button.setEnabled(False)
        self.form.show_new()
        self._show_tools(None)
        self.form.name.setFocus()

    @async_slot()
    async def on_save_button_clicked(self) -> None:
        """Store the form's server (secrets in the keyring); a changed server restarts on next use."""
        self.form.set_busy(True)
        try:
            config = self.form.values()
            saved = await self._config.save(config, keep=self.form.kept_secrets(config))
            await self._manager.reload()
        except _KNOWN_ERRORS as error:
            self._show_status(str(error), ok=False)
            return
        finally:
            self.form.set_busy(False)
        await self.reload(select=saved.name)
        self._show_status(f"Saved {saved.name}.", ok=True)
        self.servers_changed.emit()

    @async_slot()
    async def on_connect_button_clicked(self) -> None:
        """Start the selected server and list its tools, or show why it cannot."""
        name = self.current_name()
        if name is None:
            return
        self.form.set_busy(True)
        self.form.set_status("Connecting…")
        try:
            tools = await self._manager.tools(name)
        except _KNOWN_ERRORS as error:
            text, ok = str(error), False
        else:
            text, ok = f"Connected: {len(tools)} tools.", True
        finally:
            self.form.set_busy(False)
        self._statuses = {status.name: status for status in await self._manager.statuses()}
        if self.current_name() == name:
            self._show_tools(self._statuses.get(name))
        self._show_status(text, ok=ok)

    @async_slot()
    async def on_remove_button_clicked(self) -> None:
        """Remove the selected server and its secrets, after asking."""
        name = self.current_name()
        if name is None:
            return
        question = f"Remove the MCP server “{name}”? Its secrets are deleted from the keyring too."
        if not await confirm(self, "Remove MCP server", question, "Remove"):
            return
        try:
            await self._config.remove(name)
            await self._manager.reload()
        except _KNOWN_ERRORS as error:
            self._show_status(str(error), ok=False)
            return
        await self.reload()
        self._show_status(f"“{name}” removed.", ok=True)
        self.servers_changed.emit()

    @async_slot()
    async def on_import_button_clicked(self) -> None:
        """Add the servers of a Claude Desktop configuration file the person picks."""
        request = PathRequest(
            "Import MCP servers from Claude Desktop",
            claude_desktop_config_path(),
            ("Claude Desktop configuration (*.json)", "All files (*)"),
            save=False,
        )
        path = await self._choose_path(self, request)
        if path is None:
            return
        try:
            summary = await self._config.import_claude_desktop(path)
            await self._manager.reload()
        except (*_KNOWN_ERRORS, OSError) as error:
            self._show_status(f"Could not import {path}: {error}", ok=False)
            return
        added = ", ".join(summary.added) or "no new servers"
        skipped = f" (already present: {', '.join(summary.skipped)})" if summary.skipped else ""
        await self.reload(select=summary.added[0] if summary.added else None)
        self._show_status(f"Imported {added}{skipped}.", ok=True)
        self.servers_changed.emit()

    def _show_status(self, text: str, *, ok: bool) -> None:
        self.form.set_status(text, ok=ok)
        self.status_shown.emit(text)


__all__ = ["TRANSPORT_LABELS", "ToolsPage"]
