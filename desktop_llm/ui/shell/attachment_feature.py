"""Attachments in the window: the paperclip, drops, pasted images, chips, flags, and sent files.

Installed into a workspace from outside (like the context feature). Files are read, images
encoded and thumbnails decoded in worker threads; the Qt thread only adds the chips. Each chip
is flagged for the model chosen above the chat (refused: it will not be sent, with the models
that can; a warning: the model is not known to see images), and the flag's "Switch model" link
opens the model list.

Sent messages show their images as thumbnails made lazily, when the chat first lays them out,
from the stored bytes (read on the database thread, decoded in a worker thread, cached); a
click opens the image full size, or a file in the system's app from a temporary copy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QFileDialog, QWidget
from shiboken6 import isValid

from desktop_llm.core.message_chrome import THUMB_HEIGHT
from desktop_llm.providers import Attachment
from desktop_llm.services.attachment_prep import (
    AttachmentError,
    ModelSupport,
    check,
    read_attachments,
)
from desktop_llm.services.chat_attachments import ChatAttachments
from desktop_llm.ui.chat.attachment_drop import DropCatcher
from desktop_llm.ui.chat.attachment_tray import THUMB_EDGE, AttachmentChip, DraftAttachment
from desktop_llm.ui.chat.chat_sessions import ChatSession
from desktop_llm.ui.chat.chat_view import ChatView
from desktop_llm.ui.chat.image_viewer import ImageViewer, decode_for_viewer, viewer_edge
from desktop_llm.ui.chat.thumbnails import ThumbnailCache, encode_png
from desktop_llm.ui.common.tasks import TaskKeeper
from desktop_llm.ui.shell.workspace import Workspace

log = logging.getLogger(__name__)

SENT_THUMB_EDGE = 2 * THUMB_HEIGHT  # sharp on high-density screens too

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
        open_url: opens a sent file's temporary copy with the system's app.
        pick_files: asks for files (injectable for tests).
        about_to_attach: called when the person starts attaching (the file dialog opens), so
            the image libraries load while they choose.
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        attachments: ChatAttachments,
        thumbnails: ThumbnailCache,
        tasks: TaskKeeper,
        open_url: Callable[[QUrl], object],
        pick_files: Callable[[QWidget], Sequence[str]] = choose_files,
        about_to_attach: Callable[[], object] = lambda: None,
    ) -> None:
        super().__init__(workspace)
        self._about_to_attach = about_to_attach
        self.workspace = workspace
        self._attachments = attachments
        self._thumbnails = thumbnails
        self._tasks = tasks
        self._pick_files = pick_files
        self._open_url = open_url
        self._support: ModelSupport | None = None
        self.viewer: ImageViewer | None = None
        self._placeholder = QImage(SENT_THUMB_EDGE, SENT_THUMB_EDGE, QImage.Format.Format_ARGB32)
        self._placeholder.fill(QColor(128, 128, 128, 48))
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
        workspace.view_made.connect(self.on_workspace_view_made)

    # -- adding ------------------------------------------------------------------------------

    def on_composer_attach_requested(self) -> None:
        self._about_to_attach()
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

    # -- sent files --------------------------------------------------------------------------

    def on_workspace_view_made(self, view: ChatView) -> None:
        view.set_image_source(functools.partial(self._thumbnail_for, view))
        view.attachment_activated.connect(lambda mid, index, v=view: self.open_sent(v, mid, index))

    def _thumbnail_for(self, view: ChatView, key: str) -> QImage:
        """Return the cached thumbnail, or a placeholder while it is made (then the view is told)."""
        found = self._thumbnails.cached(key, SENT_THUMB_EDGE)
        if found is not None:
            return found
        self._tasks.run(self._make_thumbnail(view, key))
        return self._placeholder

    async def _make_thumbnail(self, view: ChatView, key: str) -> None:
        image = await self._thumbnails.thumbnail(key, SENT_THUMB_EDGE)
        if isValid(view) and not image.isNull():
            view.image_ready(key, image)

    def open_sent(self, view: ChatView, message_id: str, index: int) -> None:
        """Open a sent file: an image in the viewer, anything else with the system's app."""
        session = next((s for s in self.workspace.sessions.sessions() if s.view is view), None)
        message = session.message(message_id) if session is not None else None
        if message is None or index >= len(message.attachments):
            return
        ref = message.attachments[index]
        if ref.media_type.startswith("image/") and ref.media_type != "image/svg+xml":
            self.viewer = ImageViewer(ref.name, self.workspace.window())
            self.viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.viewer.show()
            self._tasks.run(self._fill_viewer(self.viewer, ref.sha256))
        else:
            self._tasks.run(self._open_copy(ref.sha256, ref.name))

    async def _fill_viewer(self, viewer: ImageViewer, key: str) -> None:
        data = await self._attachments.blob(key)
        image = await asyncio.to_thread(decode_for_viewer, data, viewer_edge())
        if isValid(viewer):
            viewer.show_image(image)

    async def _open_copy(self, key: str, name: str) -> None:
        data = await self._attachments.blob(key)
        path = await asyncio.to_thread(_temporary_copy, data, name)
        self._open_url(QUrl.fromLocalFile(str(path)))


def _temporary_copy(data: bytes, name: str) -> Path:
    """Write a sent file to a fresh temporary folder under its own name, for another app to open."""
    folder = Path(tempfile.mkdtemp(prefix="desktop-llm-"))
    path = folder / (Path(name).name or "attachment")
    path.write_bytes(data)
    return path
