"""The main window: a frame that shows at once, then menus and shortcuts wired to the workspace.

The window is shown before the services are built (that takes imports, the keyring and the
database), so it appears as fast as a bare Qt window; :meth:`MainWindow.install` then puts the
workspace in and enables the commands. Closing (the window's close button, Ctrl+Q, SIGTERM) is
asked for, not done: the app stops the streams and closes the database first, then
:meth:`allow_close` lets the window go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMessageBox, QSplitter, QStatusBar, QWidget

from desktop_llm import __version__

APP_TITLE = "Desktop LLM"
ERROR_MESSAGE_MS = 12000  # how long a known failure's message stays in the status bar
SIDEBAR_WIDTH = 280

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Ctrl+N", "New chat"),
    ("Ctrl+K", "Search all chats"),
    ("Ctrl+F", "Find in this chat"),
    ("Enter / Ctrl+Enter", "Send (as chosen in Settings); Shift+Enter for a new line"),
    ("Esc", "Stop the reply"),
    ("Up", "Edit your last message (in an empty message box)"),
    ("F2", "Rename the selected conversation"),
    ("Ctrl+Shift+E", "Export this conversation"),
    ("Ctrl+,", "Settings"),
    ("Ctrl+Q", "Quit"),
)


@dataclass(frozen=True)
class WindowCommands:
    """What the menus do; the app binds these to the workspace and the dialogs."""

    new_chat: Callable[[], None]
    focus_search: Callable[[], None]
    find_in_chat: Callable[[], None]
    stop: Callable[[], None]
    edit_last: Callable[[], None]
    rename: Callable[[], None]
    delete: Callable[[], None]
    export_conversation: Callable[[], None]
    export_all: Callable[[], None]
    import_file: Callable[[], None]
    open_settings: Callable[[], None]
    toggle_sidebar: Callable[[bool], None]
    open_log_folder: Callable[[], object]
    open_usage: Callable[[], object] | None = None
    open_batches: Callable[[], object] | None = None


class MainWindow(QMainWindow):
    """The app's one window.

    Args:
        state_file: where the window's size and place are kept between runs (None: not kept).

    Signals:
        close_requested(): the person wants to quit; the app shuts down, then calls ``allow_close``.
        first_painted(): the window was drawn on screen for the first time.
    """

    close_requested = Signal()
    first_painted = Signal()

    def __init__(self, state_file: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_TITLE)
        self.setObjectName("mainWindow")
        self.setMinimumSize(720, 480)
        self._close_allowed = False
        # Window geometry lives beside the database (the data folder roots all the app's files).
        self._settings = QSettings(str(state_file), QSettings.Format.IniFormat) if state_file else None
        geometry = self._settings.value("window/geometry", b"") if self._settings else b""
        if not isinstance(geometry, QByteArray | bytes) or not geometry or not self.restoreGeometry(geometry):
            self.resize(1200, 780)
        self._placeholder = QLabel("Opening your conversations…")
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setObjectName("mutedLabel")
        self._placeholder.installEventFilter(self)
        self.painted = False
        self.setCentralWidget(self._placeholder)
        self.actions_by_name: dict[str, QAction] = {}
        self._build_menus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Notice the first paint (the app waits for it before building the heavier parts)."""
        if event.type() == QEvent.Type.Paint and not self.painted:
            self.painted = True
            watched.removeEventFilter(self)
            self.first_painted.emit()
        return super().eventFilter(watched, event)

    # -- menus -------------------------------------------------------------------------------

    def _action(
        self, menu: QMenu, name: str, text: str, shortcut: str | QKeySequence.StandardKey | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setEnabled(name == "quit")
        menu.addAction(action)
        self.actions_by_name[name] = action
        return action

    def _label_action(self, menu: QMenu, name: str, text: str, keys: str) -> QAction:
        # Keys the composer handles itself (Enter, Esc, Up) are listed, not bound: a window-wide
        # binding would take Enter and Esc away from every dialog and text field.
        return self._action(menu, name, f"{text}\t{keys}")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "new_chat", "&New chat", "Ctrl+N")
        file_menu.addSeparator()
        self._action(file_menu, "export_conversation", "&Export this conversation…", "Ctrl+Shift+E")
        self._action(file_menu, "export_all", "Export &all conversations…")
        self._action(file_menu, "import_file", "&Import…")
        file_menu.addSeparator()
        self._action(file_menu, "open_settings", "&Settings…", "Ctrl+,")
        file_menu.addSeparator()
        quit_action = self._action(file_menu, "quit", "&Quit", "Ctrl+Q")
        quit_action.triggered.connect(self.close)

        edit_menu = bar.addMenu("&Edit")
        # Ctrl+F is the chat view's own shortcut (and the workspace's outside it): listed here.
        self._label_action(edit_menu, "find_in_chat", "&Find in this chat…", "Ctrl+F")
        self._action(edit_menu, "focus_search", "&Search all chats…", "Ctrl+K")
        edit_menu.addSeparator()
        self._action(edit_menu, "rename", "&Rename conversation\tF2")
        self._action(edit_menu, "delete", "&Delete conversation")

        view_menu = bar.addMenu("&View")
        sidebar = self._action(view_menu, "toggle_sidebar", "Show &sidebar", "Ctrl+Shift+B")
        sidebar.setCheckable(True)
        sidebar.setChecked(True)
        view_menu.addSeparator()
        self._action(view_menu, "open_usage", "&Usage…")
        self._action(view_menu, "open_batches", "&Batches…")

        chat_menu = bar.addMenu("&Chat")
        self._label_action(chat_menu, "send", "Send message", "Enter")
        self._label_action(chat_menu, "stop", "&Stop reply", "Esc")
        self._label_action(chat_menu, "edit_last", "&Edit last message", "Up")

        help_menu = bar.addMenu("&Help")
        shortcuts = self._action(help_menu, "shortcuts", "&Keyboard shortcuts")
        shortcuts.triggered.connect(self.show_shortcuts)
        self._action(help_menu, "open_log_folder", "Open &log folder")
        about = self._action(help_menu, "about", "&About Desktop LLM")
        about.triggered.connect(self.show_about)

    def set_send_key_label(self, send_key: str) -> None:
        """Show the chosen send key in the Chat menu."""
        keys = "Ctrl+Enter" if send_key == "ctrl+enter" else "Enter"
        self.actions_by_name["send"].setText(f"Send message\t{keys}")

    # -- content -----------------------------------------------------------------------------

    def show_sidebar(self, sidebar: QWidget) -> None:
        """Show ``sidebar`` beside the placeholder, laid out as the workspace will be (first paint)."""
        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        splitter.addWidget(sidebar)
        splitter.addWidget(self._placeholder)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([SIDEBAR_WIDTH, max(self.width() - SIDEBAR_WIDTH, 1)])
        self.setCentralWidget(splitter)

    def show_error(self, message: str) -> None:
        """Show a known failure's message in the status bar for a while."""
        self.statusBar().showMessage(message, ERROR_MESSAGE_MS)

    def install(self, content: QWidget, status_bar: QStatusBar, commands: WindowCommands) -> None:
        """Put the workspace in and bind the menus to ``commands``."""
        self.setCentralWidget(content)
        self.setStatusBar(status_bar)
        for name, action in self.actions_by_name.items():
            command = getattr(commands, name, None)
            if command is not None:
                action.triggered.connect(command)
            action.setEnabled(True)
        self.actions_by_name["send"].setEnabled(False)  # a label: the composer sends

    def bring_to_front(self) -> None:
        """Show, un-minimise and activate the window (a second launch asked for it)."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def show_shortcuts(self) -> None:
        rows = "".join(
            f"<tr><td><b>{keys}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for keys, what in SHORTCUTS
        )
        box = QMessageBox(
            QMessageBox.Icon.NoIcon, "Keyboard shortcuts", f"<table>{rows}</table>", parent=self
        )
        box.open()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Desktop LLM",
            f"<b>Desktop LLM {__version__}</b><br>A fast desktop chat client for language models.",
        )

    # -- closing -----------------------------------------------------------------------------

    def allow_close(self) -> None:
        """Let the next close go through (the app has shut everything down)."""
        self._close_allowed = True

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask the app to shut down first; close only once it allowed it."""
        if self._close_allowed:
            if self._settings is not None:
                self._settings.setValue("window/geometry", self.saveGeometry())
                self._settings.sync()
            event.accept()
            return
        event.ignore()
        self.close_requested.emit()
