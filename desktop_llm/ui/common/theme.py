"""The app's look in Qt: the Fusion style with a light or dark palette and a small style sheet.

Fusion looks the same on every platform and follows a ``QPalette`` fully, so one light and one
dark palette (the colours of ``core.theme``) give a coherent look everywhere. "system" follows
the platform's colour scheme where Qt can tell. Widgets ask ``is_dark(palette)`` and
``theme_of(palette)`` for the colours matching the palette they are drawn with, so they follow
a theme change without being told.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop_llm.core.theme import Chrome, Palette, chrome_for, palette_for


def wants_dark(theme: str) -> bool:
    """Return whether the theme setting ``theme`` ("system", "light", "dark") means dark here and now."""
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
QToolButton#toolServers {{
    padding: 4px 22px 4px 10px; border: 1px solid {chrome.border}; border-radius: 7px;
    background: {chrome.base};
}}
QToolButton#toolServers:hover {{ background: {chrome.hover}; }}
QToolButton#toolServers::menu-indicator {{
    subcontrol-origin: padding; subcontrol-position: center right; right: 7px;
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


def is_dark(palette: QPalette) -> bool:
    """Return whether ``palette`` draws light text on a dark base."""
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def theme_of(palette: QPalette) -> Palette:
    """Return the app's colours matching ``palette``."""
    return palette_for(is_dark(palette))


def apply_theme(app: QApplication, dark: bool) -> None:
    """Give the whole app the light or the dark look."""
    colours, chrome = palette_for(dark), chrome_for(dark)
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(build_palette(colours, chrome))
    app.setStyleSheet(style_sheet(colours, chrome))
