"""Turn dropped and pasted data into attachments: local files by path, images from the clipboard.

Only what is on this computer is taken: remote URLs are left alone (nothing is fetched).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage


def local_paths(mime: QMimeData) -> list[Path]:
    """Return the local files named in ``mime`` (folders and remote URLs left out)."""
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [path for path in paths if not path.is_dir()]


def mime_image(mime: QMimeData) -> QImage | None:
    """Return the image in ``mime`` (a screenshot copied to the clipboard), if any."""
    if not mime.hasImage():
        return None
    image = mime.imageData()
    return image if isinstance(image, QImage) and not image.isNull() else None


def carries_attachment(mime: QMimeData) -> bool:
    """Return whether ``mime`` holds local files or an image."""
    return bool(local_paths(mime)) or mime_image(mime) is not None


class DropCatcher(QObject):
    """Accept files and images dropped on the widgets it watches (the chat view, the composer).

    Signals:
        files_dropped(list): the local paths dropped (``list[Path]``).
        image_dropped(QImage): an image dropped without a file.
    """

    files_dropped = Signal(list)
    image_dropped = Signal(QImage)

    def watch(self, widget: QObject) -> None:
        """Take drops on ``widget`` (for scroll areas, pass the viewport)."""
        if hasattr(widget, "setAcceptDrops"):
            widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Accept drags carrying files or images; emit what was dropped."""
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            assert isinstance(event, QDragEnterEvent | QDragMoveEvent)
            if carries_attachment(event.mimeData()):
                event.acceptProposedAction()
                return True
            return False
        if kind == QEvent.Type.Drop:
            assert isinstance(event, QDropEvent)
            if self.take(event.mimeData()):
                event.acceptProposedAction()
                return True
        return False

    def take(self, mime: QMimeData) -> bool:
        """Emit the files or image in ``mime``; return whether there was any."""
        paths = local_paths(mime)
        if paths:
            self.files_dropped.emit(paths)
            return True
        image = mime_image(mime)
        if image is not None:
            self.image_dropped.emit(image)
            return True
        return False
