"""Attachments in the real window: drop and paste, chips and their flags, thumbnails in the sent message."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from app_harness import App, fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer, Reply
from fakes.sample_files import image_bytes, pdf_bytes
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop_llm.storage.attachments import sha256_hex
from desktop_llm.ui.shell.attachment_feature import SENT_THUMB_EDGE

pytestmark = pytest.mark.ui


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def _drop_files(widget, *paths: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(
        widget, QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    )


async def _ready(app: App) -> None:
    await wait_until(lambda: app.workspace.picker.model() == "model-a", what="the model")


def _choose_model(app: App, model: str) -> None:
    picker = app.workspace.picker
    picker.model_box.setEditText(model)
    picker.on_model_edit_finished()


async def test_an_image_dropped_on_the_chat_is_sent_and_shown_as_a_thumbnail_that_opens_full_size(
    qtbot, tmp_path, server
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(image_bytes(640, 480))
    server.push(Reply(text="A red picture."))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await _ready(app)
        tray = app.workspace.composer.tray
        _drop_files(app.workspace.chat_page, photo)
        await wait_until(lambda: tray.chips, what="the chip")
        chip = tray.chips[0]
        await wait_until(lambda: chip.thumb.pixmap() is not None and not chip.thumb.pixmap().isNull())
        assert chip.thumb.pixmap().width() <= 40 and chip.name_label.text() == "photo.png"
        # model-a is not in the catalog: it may not see images
        await wait_until(lambda: chip.verdict == "warning", what="the chip's flag")

        await app.type_and_send("What is this?")
        await wait_until(lambda: len(server.chat_requests) == 1, what="the request")
        parts = server.chat_requests[0].json["messages"][-1]["content"]
        assert parts[0] == {"type": "text", "text": "What is this?"}
        assert base64.b64decode(parts[1]["image_url"]["url"].split(",", 1)[1]) == photo.read_bytes()
        assert not tray.chips
        await app.idle()

        user = app.messages()[0]
        view = app.view()
        assert [a.name for a in view.message(user["id"]).attachments] == ["photo.png"]
        key = sha256_hex(photo.read_bytes())
        url = QUrl(f"thumb:{key}")

        def thumbnail() -> QImage | None:
            found = view.browser.document().resource(QTextDocument.ResourceType.ImageResource, url)
            return found if isinstance(found, QImage) else None

        # A square placeholder stands in until the thumbnail is made off the Qt thread; the photo
        # is 640x480, so its thumbnail keeps that shape.
        await wait_until(
            lambda: (
                (image := thumbnail()) is not None
                and (image.width(), image.height()) == (SENT_THUMB_EDGE, SENT_THUMB_EDGE * 480 // 640)
            ),
            what="the thumbnail in the sent message (not the placeholder)",
        )
        assert f'src="thumb:{key}"' in view.browser.document().toHtml()

        view.on_browser_anchor_clicked(QUrl(f"attachment:{user['id']}:0"))
        viewer = app.composition.attachments.viewer
        assert viewer is not None
        await wait_until(lambda: viewer.label.pixmap() is not None and not viewer.label.pixmap().isNull())
        assert viewer.label.pixmap().width() == 640
        viewer.close()


async def test_a_pasted_image_and_a_dropped_pdf_become_chips_and_a_sent_pdf_opens_in_the_systems_app(
    qtbot, tmp_path, server
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(pdf_bytes("Quarterly revenue"))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await _ready(app)
        composer = app.workspace.composer
        pasted = QImage(120, 80, QImage.Format.Format_RGB32)
        pasted.fill(Qt.GlobalColor.blue)
        QGuiApplication.clipboard().setImage(pasted)
        composer.editor.setFocus()
        QTest.keyClick(composer.editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        _drop_files(composer.editor.viewport(), report)
        await wait_until(lambda: len(composer.tray.chips) == 2, what="two chips")
        names = sorted(chip.draft.attachment.name for chip in composer.tray.chips)
        assert names[0].startswith("Pasted image") and names[0].endswith(".png") and names[1] == "report.pdf"
        pasted_chip = next(c for c in composer.tray.chips if c.draft.is_image)
        QTest.mouseClick(pasted_chip.remove_button, Qt.MouseButton.LeftButton)
        assert [c.draft.attachment.name for c in composer.tray.chips] == ["report.pdf"]

        await app.type_and_send("Summarise")
        await wait_until(lambda: len(server.chat_requests) == 1, what="the request")
        parts = server.chat_requests[0].json["messages"][-1]["content"]
        assert [p["type"] for p in parts] == ["text", "file"]  # OpenAI reads PDFs itself
        await app.idle()
        user = app.messages()[0]
        app.view().on_browser_anchor_clicked(QUrl(f"attachment:{user['id']}:0"))
        await wait_until(lambda: app.opened_urls, what="the file opened")
        opened = Path(app.opened_urls[-1].toLocalFile())
        assert opened.name == "report.pdf"
        assert opened.read_bytes() == report.read_bytes()  # noqa: ASYNC240 - a small file, in a test


async def test_a_model_that_cannot_see_is_flagged_on_the_chip_and_a_refused_send_keeps_the_draft(
    qtbot, tmp_path, server
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(image_bytes(64, 64))
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await _ready(app)
        composer = app.workspace.composer
        _choose_model(app, "gpt-3.5-turbo")
        _drop_files(composer.editor.viewport(), photo)
        await wait_until(lambda: composer.tray.chips and composer.tray.chips[0].verdict == "refused")
        flag = composer.tray.chips[0].flag
        assert "gpt-3.5-turbo cannot see images" in flag.toolTip() and "Switch model" in flag.text()

        await app.type_and_send("What is it?")
        await wait_until(lambda: composer.tray.chips and composer.text() == "What is it?", what="draft back")
        assert server.chat_requests == []
        assert "cannot see images" in app.composition.status_bar.currentMessage()

        composer.tray.chips[0].flag.linkActivated.emit("switch")  # "Switch model" opens the model list
        model_box = app.workspace.picker.model_box
        await wait_until(lambda: model_box.view().isVisible(), what="the model list")
        model_box.hidePopup()
        _choose_model(app, "gpt-4o")
        await wait_until(lambda: composer.tray.chips[0].verdict == "ok", what="the flag cleared")


async def test_attachments_of_an_unsent_draft_wait_while_another_chat_is_open(
    qtbot, tmp_path, server
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("remember the milk\n", encoding="utf-8")
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        await _ready(app)
        await app.type_and_send("First chat")
        await wait_until(lambda: [m["status"] for m in app.messages()] == ["complete", "complete"])
        await app.idle()
        first = app.current_id()
        assert first is not None
        app.workspace.new_chat()
        composer = app.workspace.composer
        _drop_files(composer.editor.viewport(), notes)
        await wait_until(lambda: composer.tray.chips, what="the chip")
        app.workspace.open_conversation(first)
        assert not composer.tray.chips
        app.workspace.new_chat()
        assert [chip.draft.attachment.name for chip in composer.tray.chips] == ["notes.txt"]
