"""A template's version history: every saved version, a diff between any two, restore and default.

Selecting a version compares it with the one before; the two boxes above the diff compare any
pair. Restoring saves the old body again as the newest version (versions never change), and one
version is the default, the one "Use in chat", the picker and batch runs start from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.core.prompt_templates import TemplateFormatError
from desktop_llm.services.templates import LoadedTemplate
from desktop_llm.storage.records import TemplateVersion
from desktop_llm.ui.templates.version_diff import VersionDiff

NumberRole = Qt.ItemDataRole.UserRole + 1
DEFAULT_MARK = "★ default"


def local_time(timestamp: str) -> str:
    """Return a stored UTC timestamp as local "YYYY-MM-DD HH:MM" (the text itself if unreadable)."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def fill_version_box(box: QComboBox, numbers: Iterable[int], default: int, chosen: int) -> None:
    """List version ``numbers`` in ``box`` ("v2 (default)") and select ``chosen``, emitting no signals."""
    box.blockSignals(True)
    box.clear()
    for number in numbers:
        box.addItem(f"v{number}" + (" (default)" if number == default else ""), number)
    box.setCurrentIndex(box.findData(chosen))
    box.blockSignals(False)


def version_label(version: TemplateVersion, default: int) -> str:
    """Return how a version reads in the list: "v3 ★ default · 2026-11-27 20:40 · the note"."""
    parts = [f"v{version.number}" + (f"  {DEFAULT_MARK}" if version.number == default else "")]
    parts.append(local_time(version.created_at))
    if version.note:
        parts.append(version.note)
    return "  ·  ".join(parts)


class VersionHistory(QWidget):
    """List a template's versions and compare, restore or make one the default.

    Signals:
        restore_requested(int): save this version's body again as the newest version.
        default_requested(int): make this version the default.
    """

    restore_requested = Signal(int)
    default_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loaded: LoadedTemplate | None = None
        self.list = QListWidget()
        self.list.setObjectName("versionList")
        self.list.currentItemChanged.connect(self.on_list_current_changed)
        self.restore_button = QPushButton("Restore this version")
        self.restore_button.setToolTip("Save its body again as the newest version")
        self.restore_button.clicked.connect(self._restore)
        self.default_button = QPushButton("Make default")
        self.default_button.setToolTip("Use this version in chats, the picker and batch runs")
        self.default_button.clicked.connect(self._make_default)
        self.old_box = QComboBox()
        self.new_box = QComboBox()
        self.old_box.currentIndexChanged.connect(self._show_diff)
        self.new_box.currentIndexChanged.connect(self._show_diff)
        self.diff = VersionDiff()

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.restore_button)
        buttons.addWidget(self.default_button)
        column.addLayout(buttons)
        right = QWidget()
        pane = QVBoxLayout(right)
        pane.setContentsMargins(0, 0, 0, 0)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Compare"))
        pick.addWidget(self.old_box)
        pick.addWidget(QLabel("with"))
        pick.addWidget(self.new_box)
        pick.addStretch(1)
        pane.addLayout(pick)
        pane.addWidget(self.diff, 1)
        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([260, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def show_versions(self, loaded: LoadedTemplate, *, select: int | None = None) -> None:
        """List ``loaded``'s versions, newest first; select ``select`` (default: the newest)."""
        self._loaded = loaded
        default = loaded.record.default_version
        for box in (self.old_box, self.new_box):
            box.blockSignals(True)
            box.clear()
            for version in loaded.versions:
                box.addItem(f"v{version.number}", version.number)
            box.blockSignals(False)
        self.list.blockSignals(True)
        self.list.clear()
        for version in reversed(loaded.versions):
            item = QListWidgetItem(version_label(version, default))
            item.setData(NumberRole, version.number)
            if version.number == default:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.list.addItem(item)
        self.list.blockSignals(False)
        self.select(select if select is not None else loaded.latest.number)

    def select(self, number: int) -> None:
        """Select version ``number`` and compare it with the one before."""
        for row in range(self.list.count()):
            if self.list.item(row).data(NumberRole) == number:
                self.list.setCurrentRow(row)
                self.on_list_current_changed(self.list.item(row), None)
                return

    def selected(self) -> int | None:
        """Return the selected version's number."""
        item = self.list.currentItem()
        return int(item.data(NumberRole)) if item is not None else None

    def compare(self, old: int, new: int) -> None:
        """Show the diff from version ``old`` to version ``new``."""
        self.old_box.blockSignals(True)
        self.old_box.setCurrentIndex(self.old_box.findData(old))
        self.old_box.blockSignals(False)
        self.new_box.setCurrentIndex(self.new_box.findData(new))
        self._show_diff()

    def on_list_current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        """Compare the selected version with the one before; offer restore and default where they apply."""
        if current is None or self._loaded is None:
            return
        number = current.data(NumberRole)
        self.default_button.setEnabled(number != self._loaded.record.default_version)
        self.restore_button.setEnabled(number != self._loaded.latest.number)
        self.compare(max(1, number - 1), number)

    def _show_diff(self, *_args: object) -> None:
        if self._loaded is None:
            return
        old, new = self.old_box.currentData(), self.new_box.currentData()
        if old is None or new is None:
            return
        try:
            self.diff.show_diff(
                self._loaded.version(old).body,
                self._loaded.version(new).body,
                f"Version {old}",
                f"Version {new}",
            )
        except TemplateFormatError as error:
            self.diff.setPlainText(f"This version cannot be shown: {error}")

    def _restore(self) -> None:
        number = self.selected()
        if number is not None:
            self.restore_requested.emit(number)

    def _make_default(self) -> None:
        number = self.selected()
        if number is not None:
            self.default_requested.emit(number)
