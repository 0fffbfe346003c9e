"""The app's look: the Fusion style with a light or dark palette and a small style sheet.

Fusion looks the same on every platform and follows a ``QPalette`` fully, so one light and one
dark palette (the chat view's colours from ``theme``, plus the window chrome's) give a coherent
look everywhere. "system" follows the platform's colour scheme where Qt can tell.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop_llm.ui.theme import DARK, LIGHT, Palette


@dataclass(frozen=True)
class Chrome:
    """Colours of everything around the chat."""

    window: str  # sidebar, status bar
    base: str  # the chat, text fields
    hover: str
    selection: str  # the selected conversation
    accent: str  # the Send button, primary buttons (white text on it)
    accent_hover: str
    stop: str  # the Stop button (white text on it)
    border: str


LIGHT_CHROME = Chrome(
    window="#f4f5f7",
    base=LIGHT.background,
    hover="#e9ecf0",
    selection="#dce6f4",
    accent="#0969da",
    accent_hover="#0757ba",
    stop="#b91c1c",
    border=LIGHT.rule,
)
DARK_CHROME = Chrome(
    window="#141619",
    base=DARK.background,
    hover="#23272e",
    selection="#2a3648",
    accent="#1f6feb",
    accent_hover="#388bfd",
    stop="#b62324",
    border=DARK.rule,
)


def is_dark(theme: str) -> bool:
    """Return whether ``theme`` ("system", "light", "dark") means dark here and now."""
    if theme in ("light", "dark"):
        return theme == "dark"
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def build_palette(colours: Palette, chrome: Chrome) -> QPalette:
    """Return the Qt palette for one theme."""
    palette = QPalette()
    role = QPalette.ColorRole
    for which, value in (
        (role.Window, chrome.window),
        (role.WindowText, colours.text),
        (role.Base, chrome.base),
        (role.AlternateBase, chrome.hover),
        (role.Text, colours.text),
        (role.Button, chrome.window),
        (role.ButtonText, colours.text),
        (role.BrightText, "#ffffff"),
        (role.Highlight, chrome.selection),
        (role.HighlightedText, colours.text),
        (role.Link, colours.link),
        (role.LinkVisited, colours.link),
        (role.PlaceholderText, colours.muted),
        (role.ToolTipBase, chrome.base),
        (role.ToolTipText, colours.text),
        (role.Mid, chrome.border),
        (role.Midlight, chrome.hover),
        (role.Dark, chrome.border),
        (role.Light, chrome.base),
        (role.Shadow, "#000000"),
    ):
        palette.setColor(which, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for which in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(disabled, which, QColor(colours.muted))
    return palette


def style_sheet(colours: Palette, chrome: Chrome) -> str:
    """Return the style sheet for the app's own widgets (found by object name)."""
    return f"""
#sidebar {{ background: {chrome.window}; }}
QListView#conversationList, QListView#searchResults {{ background: transparent; border: none; outline: 0; }}
QListView#conversationList::item:hover, QListView#searchResults::item:hover {{ background: {chrome.hover}; }}
QLineEdit#searchBox {{
    border: 1px solid {chrome.border}; border-radius: 7px; padding: 5px 8px; background: {chrome.base};
}}
QLineEdit#searchBox:focus {{ border-color: {chrome.accent}; }}
QPushButton#newChatButton {{
    text-align: left; padding: 7px 12px; border: 1px solid {chrome.border}; border-radius: 7px;
    background: {chrome.base}; font-weight: 600;
}}
QPushButton#newChatButton:hover {{ background: {chrome.hover}; }}
#chatPage, #welcomePanel, #emptyState, #chatHeader {{ background: {chrome.base}; }}
QLabel#newChatHint {{ background: {chrome.base}; color: {colours.muted}; }}
QFrame#headerRule {{ border: none; background: {chrome.border}; max-height: 1px; }}
QFrame#composerFrame {{ border: 1px solid {chrome.border}; border-radius: 10px; background: {chrome.base}; }}
QPlainTextEdit#composerEditor {{ border: none; background: transparent; }}
QPushButton#composerButton, QPushButton#primaryButton {{
    background: {chrome.accent}; color: #ffffff; border: none; border-radius: 7px;
    padding: 7px 16px; font-weight: 600;
}}
QPushButton#composerButton:hover, QPushButton#primaryButton:hover {{ background: {chrome.accent_hover}; }}
QPushButton#composerButton[stop="true"] {{ background: {chrome.stop}; }}
QLabel#composerHint, QLabel#mutedLabel, QLabel#emptyHint, QLabel#welcomeIntro {{ color: {colours.muted}; }}
QLabel#composerEditBanner {{ color: {colours.link}; font-weight: 600; }}
QFrame#attachmentChip {{ border: 1px solid {chrome.border}; border-radius: 8px; background: {chrome.base}; }}
QLabel#attachmentThumb {{
    background: {chrome.hover}; border-radius: 5px; color: {colours.muted}; font-weight: 600;
}}
QLabel#attachmentSize {{ color: {colours.muted}; }}
QToolButton#composerAttach {{ border: none; border-radius: 6px; padding: 4px; }}
QToolButton#composerAttach:hover, QToolButton#composerAttach:focus {{ background: {chrome.hover}; }}
QLabel#welcomeTitle {{ font-size: 20pt; font-weight: 600; }}
QLabel#emptyTitle {{ font-size: 15pt; font-weight: 600; }}
QPlainTextEdit#systemPrompt {{
    border: 1px solid {chrome.border}; border-radius: 7px; background: {chrome.base};
}}
QToolButton#promptToggle {{ border: none; padding: 3px 6px; }}
QToolButton#promptToggle:hover {{ background: {chrome.hover}; border-radius: 5px; }}
QSplitter::handle {{ background: {chrome.border}; }}
QPushButton {{
    padding: 5px 14px; border: 1px solid {chrome.border}; border-radius: 7px; background: {chrome.base};
}}
QPushButton:hover {{ background: {chrome.hover}; }}
QPushButton:default {{ border-color: {chrome.accent}; }}
QStatusBar {{ background: {chrome.window}; border-top: 1px solid {chrome.border}; }}
QStatusBar QLabel {{ color: {colours.muted}; padding: 0 6px; }}
"""


def apply_theme(app: QApplication, dark: bool) -> None:
    """Give the whole app the light or the dark look."""
    colours, chrome = (DARK, DARK_CHROME) if dark else (LIGHT, LIGHT_CHROME)
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(build_palette(colours, chrome))
    app.setStyleSheet(style_sheet(colours, chrome))
