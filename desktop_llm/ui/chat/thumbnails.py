"""Make image thumbnails off the Qt thread and remember them.

A thumbnail is decoded at its small size straight from the file's bytes (``QImageReader`` with a
scaled size: a 12-megapixel JPEG decodes at 1/8 scale), in a worker thread; ``QImage`` may be
made outside the GUI thread, ``QPixmap`` may not, so widgets turn the result into a pixmap.
Thumbnails are kept per (content key, size) in a small LRU, so a conversation with fifty images
decodes each once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageReader

log = logging.getLogger(__name__)

CACHE_ENTRIES = 400


def decode_thumbnail(data: bytes, edge: int) -> QImage:
    """Return the image in ``data`` fitted into ``edge`` × ``edge`` (null if unreadable; blocking)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)  # photos taken sideways show upright
    size = reader.size()
    if size.isValid() and (size.width() > edge or size.height() > edge):
        reader.setScaledSize(size.scaled(QSize(edge, edge), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        log.info("no thumbnail: %s", reader.errorString())
        return image
    if image.width() > edge or image.height() > edge:  # the reader could not scale (some formats)
        image = image.scaled(
            edge, edge, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return image


def encode_png(image: QImage) -> bytes:
    """Return the image as PNG bytes (blocking: a pasted screenshot takes tens of milliseconds)."""
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs say bytes; PySide6 wants str
    buffer.close()
    return bytes(array.data())


class ThumbnailCache:
    """Thumbnails by content key and size, made in a worker thread on first request.

    Args:
        load: returns an attachment's bytes for a key (from storage, off the Qt thread); None
            when only ``put``-provided data is used.
        entries: how many thumbnails to keep.
    """

    def __init__(
        self, load: Callable[[str], Awaitable[bytes | None]] | None = None, *, entries: int = CACHE_ENTRIES
    ) -> None:
        self._load = load
        self._images: OrderedDict[tuple[str, int], QImage] = OrderedDict()
        self._pending: dict[tuple[str, int], asyncio.Future[QImage]] = {}
        self._entries = entries

    def cached(self, key: str, edge: int) -> QImage | None:
        """Return the thumbnail if it was made already."""
        image = self._images.get((key, edge))
        if image is not None:
            self._images.move_to_end((key, edge))
        return image

    async def thumbnail(self, key: str, edge: int, data: bytes | None = None) -> QImage:
        """Return the thumbnail of the attachment ``key``, decoding ``data`` (or loading it) once."""
        found = self.cached(key, edge)
        if found is not None:
            return found
        pending = self._pending.get((key, edge))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[QImage] = asyncio.get_running_loop().create_future()
        self._pending[(key, edge)] = future
        try:
            if data is None and self._load is not None:
                data = await self._load(key)
            image = await asyncio.to_thread(decode_thumbnail, data, edge) if data else QImage()
            self._images[(key, edge)] = image
            while len(self._images) > self._entries:
                self._images.popitem(last=False)
            future.set_result(image)
            return image
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it through their own await
            raise
        finally:
            del self._pending[(key, edge)]
