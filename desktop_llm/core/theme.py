"""The app's colours in light and dark, chosen for WCAG AA contrast: one place for all of them.

Plain data (no Qt): the chat view's colours (``Palette``), the window chrome's (``Chrome``) and
the template version diff's (``DiffColours``). The markdown renderer writes them into HTML;
``ui.common.theme`` turns them into the Qt palette and style sheet. ``contrast_ratio`` is the
WCAG 2.x formula, used by the tests to keep every text colour readable on its background.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Palette:
    """Every colour the chat view draws with, as ``#rrggbb`` strings."""

    name: str
    background: str
    text: str
    muted: str  # headers, action links, quotes, excluded messages
    link: str
    error: str
    success: str  # "done" and "ready" marks in the template and batch pages
    user_background: str  # the user's messages sit in a tinted box
    code_background: str
    code_header_background: str  # the band with the language name and "Copy"
    rule: str  # horizontal rules and table borders
    inline_code_background: str
    table_header_background: str
    find_highlight: str
    pygments_style: str  # a Pygments style whose token colours pass AA on code_background

    @property
    def dark(self) -> bool:
        """Return True for the dark palette."""
        return self.name == "dark"


LIGHT = Palette(
    name="light",
    background="#ffffff",
    text="#1f2328",
    muted="#59636e",
    link="#0757ba",
    error="#b91c1c",
    success="#1a7f37",
    user_background="#f0f4f9",
    code_background="#f6f8fa",
    code_header_background="#e8ecf0",
    rule="#d1d9e0",
    inline_code_background="#eef1f4",
    table_header_background="#f6f8fa",
    find_highlight="#fff2a8",
    pygments_style="xcode",
)

DARK = Palette(
    name="dark",
    background="#1b1d21",
    text="#e6edf3",
    muted="#9da5ae",
    link="#6cb6ff",
    error="#ff8080",
    success="#3fb950",
    user_background="#262a31",
    code_background="#12161c",
    code_header_background="#222831",
    rule="#3d444d",
    inline_code_background="#2d333b",
    table_header_background="#23272e",
    find_highlight="#6b5a00",
    pygments_style="github-dark",
)


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


@dataclass(frozen=True)
class DiffColours:
    """Backgrounds of removed and added lines, and of the changed characters within them."""

    removed_line: str
    removed_text: str
    added_line: str
    added_text: str
    gutter: str


LIGHT_DIFF = DiffColours("#ffebe9", "#ffb3ad", "#dafbe1", "#9ce8ad", "#59636e")
DARK_DIFF = DiffColours("#3c1e22", "#7d2a2f", "#1b3a26", "#2b6a3c", "#9da5ae")


def palette_for(dark: bool) -> Palette:
    """Return the dark or the light palette."""
    return DARK if dark else LIGHT


def chrome_for(dark: bool) -> Chrome:
    """Return the window chrome's dark or light colours."""
    return DARK_CHROME if dark else LIGHT_CHROME


def diff_colours_for(dark: bool) -> DiffColours:
    """Return the version diff's dark or light colours."""
    return DARK_DIFF if dark else LIGHT_DIFF


def _relative_luminance(colour: str) -> float:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """Return the WCAG contrast ratio of two ``#rgb``/``#rrggbb`` colours (1.0 to 21.0)."""
    a, b = _relative_luminance(foreground), _relative_luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)
