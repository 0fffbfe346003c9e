"""The chips above the message box: one per attached file, with a thumbnail, name, size and a remove button.

A chip whose file the chosen model cannot take is flagged (red: it will not be sent; amber: it
may not be understood) with the reason in words and a "Switch model" link.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPalette, QPixmap, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from desktop_llm.core.attachment_rules import file_kind
from desktop_llm.core.message_chrome import human_size
from desktop_llm.providers import Attachment
from desktop_llm.services.attachment_prep import Check
from desktop_llm.ui.common.plain_text import plain_label, plain_tooltip

THUMB_EDGE = 40
NAME_WIDTH = 180  # pixels; a longer name is shortened in the middle ("Pasted im…16.31.png")
NAME_MIN_WIDTH = 56  # squeezed by many chips in a narrow window, a name still shows its ends
# Each readable on the chip's background in its theme (light: dark amber/red; dark: pale ones).
_FLAG_COLOURS = {"warning": "#9a6700", "refused": "#c53030"}
_DARK_FLAG_COLOURS = {"warning": "#e3b341", "refused": "#f47067"}
_keys = itertools.count(1)


@dataclass
class DraftAttachment:
    """A file attached to the message being written.

    Attributes:
        attachment: the file (its bytes were read off the Qt thread).
        key: identifies it for thumbnails ("draft-<n>").
    """

    attachment: Attachment
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            self.key = f"draft-{next(_keys)}"

    @property
    def is_image(self) -> bool:
        return file_kind(self.attachment.name, self.attachment.media_type) == "image"


def _file_tag(name: str) -> str:
    """Return the word a chip shows until its thumbnail is ready (the file's extension)."""
    suffix = name.rpartition(".")[2] if "." in name else "FILE"
    return suffix.upper()[:4]


class ElidedName(QLabel):
    """A file's name as plain text, shortened in the middle with "…" to the width it is given.

    The middle goes first: the start and the extension are the parts that tell files apart.
    """

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)  # a file's name is anyone's text
        self.full_name = name
        self.setToolTip(plain_tooltip(name))
        self.setMaximumWidth(NAME_WIDTH)
        self._elide(NAME_WIDTH)

    def sizeHint(self) -> QSize:
        """Ask for the whole name's width, up to ``NAME_WIDTH``."""
        hint = super().sizeHint()
        full = self.fontMetrics().horizontalAdvance(self.full_name) + 2
        return QSize(min(full, NAME_WIDTH), hint.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(min(self.sizeHint().width(), NAME_MIN_WIDTH), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Shorten the name to the new width."""
        super().resizeEvent(event)
        self._elide(event.size().width())

    def _elide(self, width: int) -> None:
        metrics = self.fontMetrics()
        self.setText(metrics.elidedText(self.full_name, Qt.TextElideMode.ElideMiddle, min(width, NAME_WIDTH)))


class AttachmentChip(QFrame):
    """One attached file.

    Signals:
        remove_requested(): the × was pressed.
        switch_model_requested(): the flag's "Switch model" link was followed.
    """

    remove_requested = Signal()
    switch_model_requested = Signal()

    def __init__(self, draft: DraftAttachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.draft = draft
        self.setObjectName("attachmentChip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # A file's name is anyone's text: shown plain everywhere (a name can look like HTML).
        self.thumb = plain_label(_file_tag(draft.attachment.name))
        self.thumb.setObjectName("attachmentThumb")
        self.thumb.setFixedSize(THUMB_EDGE, THUMB_EDGE)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        attachment = draft.attachment
        self.name_label = ElidedName(attachment.name)
        self.name_label.setObjectName("attachmentName")
        self.size_label = QLabel(human_size(len(attachment.data)))
        self.size_label.setObjectName("attachmentSize")
        self.flag = QLabel()
        self.flag.setObjectName("attachmentFlag")
        self.flag.setWordWrap(False)  # two short lines: what happens, then the way out
        self.flag.setVisible(False)
        self.flag.linkActivated.connect(lambda _link: self.switch_model_requested.emit())
        self.remove_button = QToolButton()
        self.remove_button.setText("×")
        self.remove_button.setToolTip(plain_tooltip(f"Remove {attachment.name}"))
        self.remove_button.setAccessibleName(f"Remove {attachment.name}")
        self.remove_button.setAutoRaise(True)
        self.remove_button.clicked.connect(self.remove_requested)
        text = QVBoxLayout()
        text.setSpacing(0)
        text.addWidget(self.name_label)
        text.addWidget(self.size_label)
        text.addWidget(self.flag)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 2, 2)
        row.setSpacing(6)
        row.addWidget(self.thumb)
        row.addLayout(text)
        row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        self.verdict = "ok"
        self._check: Check | None = None

    def changeEvent(self, event: QEvent) -> None:
        """Recolour the flag for the new theme."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._check is not None:
            self.set_check(self._check)

    def set_thumbnail(self, image: QImage) -> None:
        """Show the image's thumbnail (made off the Qt thread)."""
        if not image.isNull():
            self.thumb.setPixmap(QPixmap.fromImage(image))

    def set_check(self, result: Check) -> None:
        """Flag the chip with what the chosen model will do with the file."""
        self.verdict = result.verdict
        self._check = result
        dark = self.palette().color(QPalette.ColorRole.Base).lightness() < 128
        colour = (_DARK_FLAG_COLOURS if dark else _FLAG_COLOURS).get(result.verdict)
        self.flag.setVisible(colour is not None)
        if colour is None:
            self.flag.clear()
            return
        short = "Not sent to this model" if result.verdict == "refused" else "May not be understood"
        self.flag.setText(
            f'<span style="color: {colour}">⚠ {short}</span><br><a href="switch">Switch model</a>'
        )
        self.flag.setToolTip(plain_tooltip(result.message))
        self.setToolTip(plain_tooltip(result.message))


class AttachmentTray(QWidget):
    """The row of chips; hidden while empty.

    Signals:
        changed(): a chip was added or removed.
        chip_added(object): the new ``AttachmentChip`` (for its thumbnail and flag).
        switch_model_requested(): a chip's "Switch model" link was followed.
    """

    changed = Signal()
    chip_added = Signal(object)
    switch_model_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentTray")
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(6)
        self._row.addStretch(1)
        self.chips: list[AttachmentChip] = []
        self.setVisible(False)

    def drafts(self) -> list[DraftAttachment]:
        """Return the attached files in the order they were added."""
        return [chip.draft for chip in self.chips]

    def add(self, draft: DraftAttachment) -> AttachmentChip:
        """Add a chip for ``draft`` and return it."""
        chip = AttachmentChip(draft, self)
        chip.remove_requested.connect(lambda: self.remove(chip))
        chip.switch_model_requested.connect(self.switch_model_requested)
        self._row.insertWidget(len(self.chips), chip)
        self.chips.append(chip)
        self.setVisible(True)
        self.chip_added.emit(chip)
        self.changed.emit()
        return chip

    def remove(self, chip: AttachmentChip) -> None:
        """Take a chip (and its file) away."""
        if chip not in self.chips:
            return
        self.chips.remove(chip)
        self._row.removeWidget(chip)
        chip.deleteLater()
        self.setVisible(bool(self.chips))
        self.changed.emit()

    def clear(self) -> None:
        """Remove every chip (after the message was accepted)."""
        for chip in list(self.chips):
            self.remove(chip)

    def chip_for(self, key: str) -> AttachmentChip | None:
        """Return the chip of the draft with this key, if it is still there."""
        return next((chip for chip in self.chips if chip.draft.key == key), None)
