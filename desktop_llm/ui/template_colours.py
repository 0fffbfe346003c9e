"""Colours the template pages add to the theme, and how they tell light from dark.

The theme (``ui.theme``) has no colour for success; the green here passes WCAG AA on each base.
"""

from __future__ import annotations

from PySide6.QtGui import QPalette

from desktop_llm.ui.theme import Palette, palette_for

SUCCESS = {False: "#1a7f37", True: "#3fb950"}  # on the light and on the dark base


def is_dark(palette: QPalette) -> bool:
    """Return whether ``palette`` draws light text on a dark base."""
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def theme_of(palette: QPalette) -> Palette:
    """Return the chat theme's colours matching ``palette``."""
    return palette_for(is_dark(palette))


def success_colour(palette: QPalette) -> str:
    """Return the green for "done" and "ready" on ``palette``'s base."""
    return SUCCESS[is_dark(palette)]
