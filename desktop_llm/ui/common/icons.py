"""The app's own line icons, drawn as SVG in ``resources/icons`` and tinted to the theme's text colour.

Each SVG strokes in black (``#000000``); ``tinted_icon`` swaps that for the colour asked for, so
one drawing serves the light and the dark theme. The files are a few hundred bytes and read once
(at window build, like the window icon), then kept.
"""

from __future__ import annotations

import logging
from functools import cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from desktop_llm.core.resources import ResourceMissing, resource_path

log = logging.getLogger(__name__)

_INK = "#000000"
_SCALES = (1, 2)  # device pixel ratios drawn, so the icon stays sharp on high-density screens


@cache
def _svg_source(name: str) -> str:
    return resource_path("icons", f"{name}.svg").read_text(encoding="utf-8")


def tinted_icon(name: str, colour: QColor, edge: int = 18) -> QIcon:
    """Return the icon ``resources/icons/<name>.svg`` in ``colour``, ``edge`` pixels square.

    An icon missing from the installation is logged and comes back null (``QIcon.isNull()``);
    callers keep a text label for that case.
    """
    try:
        source = _svg_source(name)
    except (ResourceMissing, OSError) as error:
        log.warning("icon %s not shown: %s", name, error)
        return QIcon()
    renderer = QSvgRenderer(QByteArray(source.replace(_INK, colour.name()).encode("utf-8")))
    icon = QIcon()
    for scale in _SCALES:
        pixmap = QPixmap(edge * scale, edge * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter, QRectF(0, 0, edge * scale, edge * scale))
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        icon.addPixmap(pixmap)
    return icon
