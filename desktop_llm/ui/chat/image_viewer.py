"""Show a sent image full size in a dialog: decoded off the Qt thread at (at most) the screen's size."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import QDialog, QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from desktop_llm.ui.chat.thumbnails import decode_thumbnail


def viewer_edge() -> int:
    """Return the longest side an image is shown at: the screen's, so decoding never makes more."""
    screen = QGuiApplication.primaryScreen()
    size = screen.availableSize() * screen.devicePixelRatio() if screen is not None else QSize(1920, 1080)
    return max(size.width(), size.height())


def decode_for_viewer(data: bytes, edge: int) -> QImage:
    """Return the image fitted into ``edge`` pixels (blocking: run it in a worker thread)."""
    return decode_thumbnail(data, edge)


class ImageViewer(QDialog):
    """One image, shown as large as the screen allows, scrollable when larger.

    Args:
        name: the file's name (the title).
    """

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.setWindowTitle(name)
        self.label = QLabel("Loading…")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        area = QScrollArea()
        # No frame: a dialog sized to the image would otherwise be a frame's width short and
        # show scroll bars for an image that fits.
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setWidget(self.label)
        area.setWidgetResizable(True)
        area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(area)
        self.resize(900, 700)

    def show_image(self, image: QImage) -> None:
        """Show the decoded image (or say it cannot be shown)."""
        if image.isNull():
            self.label.setText("This image cannot be shown.")
            return
        pixmap = QPixmap.fromImage(image)
        screen = self.screen()
        pixmap.setDevicePixelRatio(screen.devicePixelRatio() if screen is not None else 1.0)
        self.label.setPixmap(pixmap)
        available = screen.availableSize() * 0.9 if screen is not None else QSize(1200, 900)
        logical = pixmap.deviceIndependentSize().toSize()
        self.resize(logical.boundedTo(available).expandedTo(QSize(320, 240)))
