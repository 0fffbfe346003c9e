"""The chat header's "Tools" button: which MCP servers this conversation offers to the model.

A menu with one checkable entry per enabled server. All checked is the default (stored as no
choice: servers added later are offered too); unchecking some stores the checked ones in the
conversation's ``params["mcp_servers"]``. Hidden while no server is set up.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton, QWidget


class ToolServersButton(QToolButton):
    """Choose the MCP servers offered in the open conversation.

    Signals:
        choice_changed(object): the person changed the choice: a list of server names, or None
            for "every enabled server".
    """

    choice_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolServers")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setMenu(QMenu(self))
        self._servers: list[str] = []
        self._chosen: list[str] | None = None
        self._rebuild()

    def set_servers(self, names: Sequence[str]) -> None:
        """Offer these (enabled) servers in the menu."""
        self._servers = list(names)
        self._rebuild()

    def show_choice(self, chosen: Sequence[str] | None) -> None:
        """Show a conversation's choice (None: every server) without reporting it as an edit."""
        self._chosen = None if chosen is None else list(chosen)
        self._rebuild()

    def offered(self) -> list[str]:
        """Return the servers the conversation offers now."""
        if self._chosen is None:
            return list(self._servers)
        return [name for name in self._servers if name in self._chosen]

    def actions_by_name(self) -> dict[str, QAction]:
        """Return the menu's entries by server name (for tests and keyboard users alike)."""
        return {action.text(): action for action in self.menu().actions() if action.isCheckable()}

    def _rebuild(self) -> None:
        menu = self.menu()
        menu.clear()
        offered = set(self.offered())
        for name in self._servers:
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in offered)
            action.toggled.connect(self._on_action_toggled)
        count = len(offered)
        self.setText("Tools" if count == len(self._servers) else f"Tools ({count}/{len(self._servers)})")
        self.setToolTip("MCP servers whose tools the model may ask to use in this conversation")
        self.setVisible(bool(self._servers))

    def _on_action_toggled(self) -> None:
        checked = [name for name, action in self.actions_by_name().items() if action.isChecked()]
        self._chosen = None if len(checked) == len(self._servers) else checked
        self.setText("Tools" if self._chosen is None else f"Tools ({len(checked)}/{len(self._servers)})")
        self.choice_changed.emit(self._chosen)
