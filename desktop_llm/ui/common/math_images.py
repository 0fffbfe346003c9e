"""Images of formulas for rich-text documents: drawn off the Qt thread, cached, the source meanwhile.

A document asks for ``math:`` images by name (see ``core.math_svg.formula_name``); until a
formula is drawn, and for good if ziamath cannot read it, its LaTeX source stands in, drawn as
text. ziamath runs on a worker thread (pure Python: it takes the GIL in short slices, the Qt
thread keeps turning); QtSvg turns its SVG into an image on the Qt thread (C++, fast).

One ``MathImages`` draws and caches for the whole app (built in the composition root); each
document that shows formulas (the chat, the Compare panes) has a ``DocumentFormulas`` that
answers its requests and swaps drawn formulas in.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from PySide6.QtCore import QByteArray, QObject, QRectF, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QTextCharFormat, QTextDocument
from PySide6.QtSvg import QSvgRenderer

from desktop_llm.core.math_markdown import math_source
from desktop_llm.core.math_svg import formula_name, formula_svg, load_math_library, parse_formula_name

log = logging.getLogger(__name__)
_CACHE_SIZE = 1024
_RELAYOUT_MS = 30  # drawn formulas are laid out in batches, not one layout each
_IMAGE = QTextDocument.ResourceType.ImageResource.value


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
        self._warm = False
        self._closed = False
        # Queued even from the Qt thread: a formula drawn before its callback was attached calls
        # it at once, and the documents must first hear that it is on the way.
        self._svg_ready.connect(self.on_svg_ready, Qt.ConnectionType.QueuedConnection)
        self.destroyed.connect(self.close)

    def warm(self) -> None:
        """Import the math library on the worker now, once (a reply is about to show a formula).

        Not at start-up: it costs about 0.2 s and 25 MB, which a person who never sees a
        formula should not pay.
        """
        if not self._warm and not self._closed:
            self._warm = True
            self._worker().submit(load_math_library).add_done_callback(_log_failure)

    @property
    def warmed(self) -> bool:
        """Return True once the library is loading or loaded (by ``warm`` or a first formula)."""
        return self._warm

    def _worker(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="math")
        return self._executor

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
        if name not in self._pending and not self._closed:  # once closed, sources only
            self._pending.add(name)
            self._warm = True  # the first formula imports the library itself
            future = self._worker().submit(formula_svg, *formula)
            future.add_done_callback(partial(self._deliver, name))
        return source_image(*formula, scale=self.scale)

    def is_pending(self, name: str | None = None) -> bool:
        """Return True while the formula ``name`` (or, without a name, any formula) is being drawn."""
        if name is None:
            return bool(self._pending)
        formula = parse_formula_name(name)
        return formula is not None and formula_name(*formula) in self._pending

    def _deliver(self, name: str, done: Future[str | None]) -> None:
        # On the worker thread (or the Qt thread, if already done): hand the SVG to the Qt thread.
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

    def close(self) -> None:
        """Stop drawing for good: queued formulas are dropped, the one being drawn is let finish."""
        self._closed = True
        self._pending.clear()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class DocumentFormulas(QObject):
    """Give one document its formulas: the source at first, the drawing once it is ready.

    Args:
        images: draws and caches formulas (shared by every document).
        document: the document that shows them (its browser's ``loadResource`` calls ``image``).
        parent: owner (the view).
    """

    def __init__(self, images: MathImages, document: QTextDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._images = images
        self._document = document
        self._waiting: set[str] = set()  # shown as source here, until drawn
        self._relayout_due = False
        images.drawn.connect(self.on_images_drawn)

    def image(self, name: str) -> QImage | None:
        """Return the image for a ``math:`` name (the source until drawn), for the document."""
        image = self._images.image(name)
        formula = parse_formula_name(name)
        if formula is not None and self._images.is_pending(name):
            self._waiting.add(formula_name(*formula))  # as ``drawn`` spells it
        return image

    def on_images_drawn(self, name: str) -> None:
        """Put a drawn formula in place of its source; lay the document out again once per batch."""
        if name not in self._waiting:
            return  # not shown here (another view's), or already swapped in
        self._waiting.discard(name)
        image = self._images.image(name)
        if image is None:
            return
        self._document.addResource(_IMAGE, QUrl(name), image)
        if not self._relayout_due:
            self._relayout_due = True
            QTimer.singleShot(_RELAYOUT_MS, self._relayout)

    def _relayout(self) -> None:
        self._relayout_due = False
        self._document.markContentsDirty(0, self._document.characterCount())


def formula_source(char_format: QTextCharFormat) -> str | None:
    """Return the markdown of the formula an image character shows, or None (Copy gives LaTeX)."""
    name = char_format.toImageFormat().name() if char_format.isImageFormat() else ""
    formula = parse_formula_name(name)
    return math_source(formula[0], formula[1]) if formula is not None else None


def _log_failure(done: Future[None]) -> None:
    error = done.exception()
    if error is not None:
        log.error("loading the math library failed", exc_info=error)


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
