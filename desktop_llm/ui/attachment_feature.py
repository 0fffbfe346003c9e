"""Attachments in the window: the paperclip, drops, pasted images, chips, their flags and thumbnails.

Installed into a workspace from outside (like the context feature). Files are read, images
encoded and thumbnails decoded in worker threads; the Qt thread only adds the chips. Each chip
is flagged for the model chosen above the chat (refused: it will not be sent, with the models
that can; a warning: the model is not known to see images), and the flag's "Switch model" link
opens the model list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop_llm.providers import Attachment
from desktop_llm.services.attachment_prep import (
    AttachmentError,
    ModelSupport,
    check,
    read_attachments,
)
from desktop_llm.services.chat_attachments import ChatAttachments
from desktop_llm.ui.attachment_drop import DropCatcher
from desktop_llm.ui.attachment_tray import THUMB_EDGE, AttachmentChip, DraftAttachment
from desktop_llm.ui.chat_bridge import TaskKeeper
from desktop_llm.ui.chat_sessions import ChatSession
from desktop_llm.ui.thumbnails import ThumbnailCache, encode_png
from desktop_llm.ui.workspace import Workspace

log = logging.getLogger(__name__)

FILE_FILTER = (
    "Images, PDFs and text files (*.png *.jpg *.jpeg *.gif *.webp *.bmp *.pdf *.txt *.md *.csv *.json *.py)"
    ";;All files (*)"
)


def choose_files(parent: QWidget) -> list[str]:
    """Ask for files to attach with the system's file dialog."""
    paths, _filter = QFileDialog.getOpenFileNames(parent, "Attach files", "", FILE_FILTER)
    return paths


class AttachmentFeature(QObject):
    """Attaching files to the message being written.

    Args:
        workspace: the window's content (composer, picker, chat page).
        attachments: tells what the chosen model takes.
        thumbnails: makes and keeps thumbnails.
        tasks: runs the reading and decoding.
        pick_files: asks for files (injectable for tests).
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        attachments: ChatAttachments,
        thumbnails: ThumbnailCache,
        tasks: TaskKeeper,
        pick_files: Callable[[QWidget], Sequence[str]] = choose_files,
    ) -> None:
        super().__init__(workspace)
        self.workspace = workspace
        self._attachments = attachments
        self._thumbnails = thumbnails
        self._tasks = tasks
        self._pick_files = pick_files
        self._support: ModelSupport | None = None
        composer = workspace.composer
        self.chat_drops = DropCatcher(self)
        self.chat_drops.watch(workspace.chat_page)
        for catcher in (composer.drops, self.chat_drops):
            catcher.files_dropped.connect(self.add_files)
            catcher.image_dropped.connect(self.add_image)
        composer.attach_requested.connect(self.on_composer_attach_requested)
        composer.tray.chip_added.connect(self.on_tray_chip_added)
        composer.tray.switch_model_requested.connect(self.on_tray_switch_model_requested)
        workspace.picker.selection_changed.connect(self.on_picker_selection_changed)
        workspace.current_changed.connect(self.on_workspace_current_changed)

    # -- adding ------------------------------------------------------------------------------

    def on_composer_attach_requested(self) -> None:
        paths = self._pick_files(self.workspace.window())
        if paths:
            self.add_files([Path(p) for p in paths])

    def add_files(self, paths: list[Path]) -> None:
        """Read the files off the Qt thread and add a chip for each."""
        self._tasks.run(self._add_files(paths))

    async def _add_files(self, paths: list[Path]) -> None:
        try:
            attachments = await read_attachments(paths)
        except AttachmentError as error:
            self.workspace.show_error(str(error))
            return
        self._add(attachments)

    def add_image(self, image: QImage) -> None:
        """Encode a pasted or dropped image as PNG off the Qt thread and add its chip."""
        self._tasks.run(self._add_image(image.copy()))

    async def _add_image(self, image: QImage) -> None:
        data = await asyncio.to_thread(encode_png, image)
        name = time.strftime("Pasted image %Y-%m-%d %H.%M.%S.png")
        self._add([Attachment(name, "image/png", data)])

    def _add(self, attachments: Sequence[Attachment]) -> None:
        for attachment in attachments:
            self.workspace.composer.tray.add(DraftAttachment(attachment))
        self.workspace.composer.focus_editor()

    def on_tray_chip_added(self, chip: AttachmentChip) -> None:
        self._flag(chip)
        if chip.draft.is_image:
            self._tasks.run(self._show_thumbnail(chip.draft))

    async def _show_thumbnail(self, draft: DraftAttachment) -> None:
        image = await self._thumbnails.thumbnail(draft.key, THUMB_EDGE, draft.attachment.data)
        chip = self.workspace.composer.tray.chip_for(draft.key)
        if chip is not None:  # not removed meanwhile
            chip.set_thumbnail(image)

    # -- the model's verdict ---------------------------------------------------------------

    def on_picker_selection_changed(self, provider_id: str, model: str) -> None:
        self._tasks.run(self._follow(provider_id, model))

    def on_workspace_current_changed(self, session: ChatSession | None) -> None:
        picker = self.workspace.picker
        self._tasks.run(self._follow(picker.provider_id(), picker.model()))

    async def _follow(self, provider_id: str, model: str) -> None:
        self._support = await self._attachments.support(provider_id, model)
        for chip in self.workspace.composer.tray.chips:
            self._flag(chip)

    def _flag(self, chip: AttachmentChip) -> None:
        if self._support is not None:
            attachment = chip.draft.attachment
            chip.set_check(check(attachment.name, attachment.media_type, self._support))

    def on_tray_switch_model_requested(self) -> None:
        box = self.workspace.picker.model_box
        box.setFocus()
        box.showPopup()
