"""Colours of the chat view in light and dark, chosen for WCAG AA contrast.

Plain data (no Qt): the markdown renderer writes these colours into HTML and the view puts
them on its palette. ``contrast_ratio`` is the WCAG 2.x formula, used by the tests to keep
every text colour readable on the background it is drawn on.
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
    user_background="#262a31",
    code_background="#12161c",
    code_header_background="#222831",
    rule="#3d444d",
    inline_code_background="#2d333b",
    table_header_background="#23272e",
    find_highlight="#6b5a00",
    pygments_style="github-dark",
)


def palette_for(dark: bool) -> Palette:
    """Return the dark or the light palette."""
    return DARK if dark else LIGHT


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
