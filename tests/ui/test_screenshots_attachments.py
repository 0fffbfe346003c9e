"""The attachment screens as a person sees them, grabbed for the README (``scripts/screenshots.py``).

A demo conversation against the fake provider server: a chart image and a PDF attached (chips
before sending, one with a long pasted-image name), the sent message with its thumbnail and PDF
chip, and the image viewer. Each screen is also checked: nothing here is only a picture.
With ``DESKTOP_LLM_SCREENSHOTS=<folder>`` the PNGs are written there; the dark and narrow
variants always go to the test's temporary folder only, for looking over by hand.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from app_harness import App, fake_openai_environment, open_app, wait_until
from fakes.provider_server import ProviderServer, Reply
from fakes.sample_files import pdf_bytes
from PySide6.QtCore import QRectF, Qt, QUrl
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea, QWidget
from template_rig import save_screenshot as _save

pytestmark = pytest.mark.ui

WIDE, NARROW, HEIGHT = 1280, 900, 800
LONG_NAME = "Pasted image 2026-12-04 16.31.07.png"


@pytest.fixture
def server():
    with ProviderServer() as running:
        yield running


def chart_png(path: Path) -> Path:
    """Write a small bar chart (what a person might ask about) as a PNG."""
    image = QImage(640, 400, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setFont(QFont("DejaVu Sans", 16, QFont.Weight.Bold))
    painter.setPen(QColor("#1f2328"))
    painter.drawText(QRectF(0, 16, 640, 30), Qt.AlignmentFlag.AlignCenter, "Revenue by quarter")
    painter.setPen(QColor("#d0d7de"))
    painter.drawLine(60, 350, 600, 350)
    for index, (label, value, colour) in enumerate(
        (("Q1", 120, "#0969da"), ("Q2", 180, "#0969da"), ("Q3", 150, "#0969da"), ("Q4", 260, "#1a7f37"))
    ):
        left = 90 + index * 130
        painter.fillRect(QRectF(left, 350 - value, 80, value), QColor(colour))
        painter.setPen(QColor("#59636e"))
        painter.setFont(QFont("DejaVu Sans", 12))
        painter.drawText(QRectF(left, 356, 80, 24), Qt.AlignmentFlag.AlignCenter, label)
    painter.end()
    assert image.save(str(path))
    return path


async def _attach(app: App, *paths: Path) -> None:
    feature = app.composition.attachments
    tray = app.workspace.composer.tray
    before = len(tray.chips)
    feature.add_files(list(paths))
    await wait_until(lambda: len(tray.chips) == before + len(paths), what="the chips")


async def save_screenshot(widget: QWidget, name: str, folder: Path) -> Path:
    """Grab ``widget`` once the layouts a resize or a theme change asked for have run."""
    for _ in range(3):
        await asyncio.sleep(0.02)
    if name.startswith("qa-"):  # for looking over by hand only, never copied into the docs
        target = folder / name
        assert widget.grab().save(str(target))
        return target
    return _save(widget, name, folder)


def _theme(app: App, dark: bool) -> None:
    """Switch the theme as Settings does (the window's chrome and the chat view both)."""
    settings = app.composition.services.app_settings
    app.composition.apply_app_settings(dataclasses.replace(settings, theme="dark" if dark else "light"))


async def test_attachment_screens(qtbot, tmp_path, server) -> None:
    files = tmp_path / "files"
    files.mkdir()
    chart = chart_png(files / "revenue-chart.png")
    report = files / "Q4 report.pdf"
    report.write_bytes(pdf_bytes("Quarterly revenue", "Outlook"))
    pasted = chart_png(files / LONG_NAME)
    server.push(
        Reply(
            text=(
                "Revenue rose in every quarter but Q3, and Q4 was the strongest at **260**, "
                "about 73% above Q1. The report puts it down to the new pricing."
            )
        )
    )
    async with open_app(qtbot, tmp_path / "data", environ=fake_openai_environment(server)) as app:
        window = app.window
        window.resize(WIDE, HEIGHT)
        _theme(app, dark=False)
        workspace = app.workspace
        await wait_until(lambda: workspace.picker.model() == "model-a", what="the model")
        workspace.picker.model_box.setEditText("gpt-4o")  # a catalog model that reads images and PDFs
        workspace.picker.on_model_edit_finished()
        await wait_until(lambda: workspace.picker.model() == "gpt-4o", what="gpt-4o")
        composer = workspace.composer
        qa = tmp_path / "qa"
        qa.mkdir()
        await _attach(app, chart, report, pasted)
        chips = composer.tray.chips
        await wait_until(
            lambda: all(
                c.thumb.pixmap() is not None and not c.thumb.pixmap().isNull()
                for c in chips
                if c.draft.is_image
            ),
            what="thumbnails",
        )
        long_chip = next(c for c in chips if c.draft.attachment.name == LONG_NAME)
        assert "…" in long_chip.name_label.text()
        composer.set_text("What does the chart say, and does the report agree?")
        await app.idle()
        await save_screenshot(window, "attachments-chips.png", tmp_path)
        _theme(app, dark=True)
        await save_screenshot(window, "qa-attachments-chips-dark.png", qa)
        window.resize(NARROW, HEIGHT)
        await save_screenshot(window, "qa-attachments-chips-narrow-dark.png", qa)
        _theme(app, dark=False)
        await save_screenshot(window, "qa-attachments-chips-narrow.png", qa)
        window.resize(WIDE, HEIGHT)

        composer.tray.remove(long_chip)
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
        await wait_until(
            lambda: [m["status"] for m in app.messages()] == ["complete", "complete"], what="reply"
        )
        await app.idle()
        user = app.messages()[0]
        view = app.view()
        assert [a.name for a in view.message(user["id"]).attachments] == [
            "revenue-chart.png",
            "Q4 report.pdf",
        ]
        await wait_until(lambda: 'src="thumb:' in view.browser.document().toHtml(), what="the thumbnail")
        await wait_until(lambda: not composer.streaming, what="Send again")
        await save_screenshot(window, "attachments-sent.png", tmp_path)
        _theme(app, dark=True)
        await save_screenshot(window, "qa-attachments-sent-dark.png", qa)
        window.resize(NARROW, HEIGHT)
        await save_screenshot(window, "qa-attachments-sent-narrow-dark.png", qa)
        _theme(app, dark=False)
        window.resize(WIDE, HEIGHT)

        view.on_browser_anchor_clicked(QUrl(f"attachment:{user['id']}:0"))
        viewer = app.composition.attachments.viewer
        assert viewer is not None
        await wait_until(lambda: viewer.label.pixmap() is not None and not viewer.label.pixmap().isNull())
        assert viewer.windowTitle() == "revenue-chart.png"
        await asyncio.sleep(0.05)
        area = viewer.findChild(QScrollArea)
        assert (
            area is not None and not area.horizontalScrollBar().isVisible()
        )  # a fitting image, no scroll bars
        assert not area.verticalScrollBar().isVisible()
        await save_screenshot(viewer, "image-viewer.png", tmp_path)
        viewer.close()
