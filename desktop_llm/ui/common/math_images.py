"""Images of formulas for the chat document: drawn off the Qt thread, cached, the source meanwhile.

The document asks for ``math:`` images by name (see ``core.math_svg.formula_name``); until a
formula is drawn, and for good if ziamath cannot read it, its LaTeX source stands in, drawn as
text. ziamath runs on a worker thread (pure Python: it takes the GIL in short slices, the Qt
thread keeps turning); QtSvg turns its SVG into an image on the Qt thread (C++, fast).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from PySide6.QtCore import QByteArray, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from desktop_llm.core.math_markdown import math_source
from desktop_llm.core.math_svg import formula_name, formula_svg, parse_formula_name

log = logging.getLogger(__name__)
_CACHE_SIZE = 1024


class MathImages(QObject):
    """Answer the document's requests for formula images and draw new ones in the background.

    Signals:
        drawn(str): a formula's final image is ready under this name (the view swaps it in).
        _svg_ready(str, object): internal: SVG text (or None) from the worker thread.

    Args:
        parent: owner (the chat view).
        scale: device pixel ratio to draw at.
    """

    drawn = Signal(str)
    _svg_ready = Signal(str, object)

    def __init__(self, parent: QObject | None = None, *, scale: float = 1.0) -> None:
        super().__init__(parent)
        self.scale = scale
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._pending: set[str] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._svg_ready.connect(self.on_svg_ready)
        self.destroyed.connect(self._shutdown_executor)

    def image(self, name: str) -> QImage | None:
        """Return the image for a ``math:`` name: the formula, or its source until it is drawn."""
        formula = parse_formula_name(name)
        if formula is None:
            return None
        name = formula_name(*formula)  # one spelling, however the document encoded it
        cached = self._images.get(name)
        if cached is not None:
            self._images.move_to_end(name)
            return cached
        if name not in self._pending:
            self._pending.add(name)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="math")
            future = self._executor.submit(formula_svg, *formula)
            future.add_done_callback(partial(self._deliver, name))
        return source_image(*formula, scale=self.scale)

    def is_pending(self) -> bool:
        """Return True while formulas are being drawn."""
        return bool(self._pending)

    def _deliver(self, name: str, done: Future[str | None]) -> None:
        # On the worker thread: hand the SVG to the Qt thread (a queued signal).
        error = done.exception()
        if error is not None:
            log.error("drawing a formula failed", exc_info=error)
        self._svg_ready.emit(name, None if error is not None else done.result())

    def on_svg_ready(self, name: str, svg: object) -> None:
        """Turn a drawn formula into an image and announce it (the source stays if it failed)."""
        self._pending.discard(name)
        formula = parse_formula_name(name)
        if formula is None:
            return
        image = svg_image(svg, self.scale) if isinstance(svg, str) else None
        self._images[name] = image if image is not None else source_image(*formula, scale=self.scale)
        if len(self._images) > _CACHE_SIZE:
            self._images.popitem(last=False)
        self.drawn.emit(name)

    def _shutdown_executor(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def svg_image(svg: str, scale: float) -> QImage | None:
    """Return ``svg`` drawn on a transparent image at ``scale`` device pixels per pixel."""
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        return None
    size = renderer.defaultSize()
    image = QImage(
        max(1, round(size.width() * scale)),
        max(1, round(size.height() * scale)),
        QImage.Format.Format_ARGB32_Premultiplied,
    )
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, image.width(), image.height()))
    painter.end()
    image.setDevicePixelRatio(scale)
    return image


def source_image(latex: str, display: bool, colour: str, pixel_size: int, *, scale: float = 1.0) -> QImage:
    """Return the formula's LaTeX source drawn as text (shown until, or instead of, the formula)."""
    font = QFont()
    font.setPixelSize(pixel_size)
    text = math_source(latex, display)
    metrics = QFontMetrics(font)
    width, height = metrics.horizontalAdvance(text) + 2, metrics.height()
    image = QImage(round(width * scale), round(height * scale), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    image.setDevicePixelRatio(scale)
    painter = QPainter(image)
    painter.setFont(font)
    painter.setPen(QColor(colour))
    painter.drawText(QRectF(1, 0, width, height), Qt.AlignmentFlag.AlignVCenter, text)
    painter.end()
    return image
