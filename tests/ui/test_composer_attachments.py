"""The message box takes files and images: dropped, pasted (Ctrl+V), by the paperclip; chips go away."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop_llm.core.message_chrome import human_size
from desktop_llm.providers import Attachment
from desktop_llm.services.attachment_prep import Check
from desktop_llm.ui.chat.attachment_tray import DraftAttachment
from desktop_llm.ui.chat.composer import Composer

pytestmark = pytest.mark.ui


def _drop(widget, mime: QMimeData) -> QDropEvent:
    """Drag ``mime`` onto ``widget`` and let go, as a person dragging from a file manager does."""
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(widget, event)
    return event


@pytest.fixture
def composer(qtbot) -> Composer:
    widget = Composer()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_files_dropped_on_the_box_are_reported_not_typed(composer, qtbot, tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)), QUrl("https://example.com/remote.png")])
    with qtbot.wait_signal(composer.drops.files_dropped) as dropped:
        _drop(composer.editor.viewport(), mime)
    assert dropped.args == [[Path(path)]]
    assert composer.text() == ""


def test_an_image_pasted_with_ctrl_v_becomes_an_attachment_and_text_still_pastes(composer, qtbot) -> None:
    image = QImage(32, 16, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    clipboard = QGuiApplication.clipboard()
    clipboard.setImage(image)
    composer.editor.setFocus()
    with qtbot.wait_signal(composer.drops.image_dropped) as pasted:
        QTest.keyClick(composer.editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert pasted.args[0].size() == image.size()
    clipboard.setText("plain words")
    QTest.keyClick(composer.editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert composer.text() == "plain words"


def test_the_paperclip_asks_for_files(composer, qtbot) -> None:
    with qtbot.wait_signal(composer.attach_requested):
        QTest.mouseClick(composer.attach_button, Qt.MouseButton.LeftButton)


def test_the_paperclip_is_a_drawn_icon_with_words_for_screen_readers_and_a_tooltip(composer) -> None:
    button = composer.attach_button
    assert not button.icon().isNull() and button.text() == ""
    assert button.accessibleName() == "Attach files"
    assert "Attach files" in button.toolTip() and "paste" in button.toolTip()
    assert button.focusPolicy() != Qt.FocusPolicy.NoFocus  # reachable with Tab


def test_a_long_file_name_is_shortened_in_the_middle_with_the_whole_name_in_the_tooltip(composer) -> None:
    name = "Pasted image 2026-12-04 16.31.07 from the design review meeting.png"
    chip = composer.tray.add(DraftAttachment(Attachment(name, "image/png", b"x")))
    shown = chip.name_label.text()
    assert "…" in shown and shown != name
    assert shown.startswith("Pasted") and shown.endswith(".png")  # the start and the extension stay
    assert chip.name_label.fontMetrics().horizontalAdvance(shown) <= chip.name_label.maximumWidth()
    assert name in chip.name_label.toolTip()
    short = composer.tray.add(DraftAttachment(Attachment("a.png", "image/png", b"x")))
    assert short.name_label.text() == "a.png"


def test_chips_show_name_and_size_can_be_removed_and_allow_sending_without_text(composer, qtbot) -> None:
    tray = composer.tray
    assert tray.isHidden()
    first = tray.add(DraftAttachment(Attachment("photo.png", "image/png", b"x" * 2048)))
    tray.add(DraftAttachment(Attachment("data.csv", "text/csv", b"a,b\n")))
    assert tray.isVisible()
    assert (first.name_label.text(), first.size_label.text()) == ("photo.png", human_size(2048))
    with qtbot.wait_signal(composer.send_requested) as sent:
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)  # no text, but files
    assert sent.args == [""]
    QTest.mouseClick(first.remove_button, Qt.MouseButton.LeftButton)
    assert [d.attachment.name for d in tray.drafts()] == ["data.csv"]
    tray.remove(tray.chips[0])
    assert tray.isHidden()
    with qtbot.assert_not_emitted(composer.send_requested):
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)


def test_a_chip_the_model_cannot_take_is_flagged_with_a_way_to_switch_model(composer, qtbot) -> None:
    chip = composer.tray.add(DraftAttachment(Attachment("photo.png", "image/png", b"x")))
    assert chip.flag.isHidden()
    chip.set_check(Check("refused", "llama3.1 cannot see images, so photo.png was not sent."))
    assert chip.flag.isVisible() and "cannot see images" in chip.flag.toolTip()
    assert "Not sent to this model" in chip.flag.text()
    with qtbot.wait_signal(composer.tray.switch_model_requested):
        chip.flag.linkActivated.emit("switch")
    chip.set_check(Check("ok"))
    assert chip.flag.isHidden()


def test_files_dropped_on_the_composer_frame_are_reported(composer, qtbot, tmp_path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.wait_signal(composer.drops.files_dropped) as dropped:
        _drop(composer, mime)
    assert dropped.args == [[path]]


def test_the_flag_colours_are_readable_on_the_chip_in_both_themes() -> None:
    from desktop_llm.core.theme import DARK_CHROME, LIGHT_CHROME, contrast_ratio
    from desktop_llm.ui.chat.attachment_tray import _DARK_FLAG_COLOURS, _FLAG_COLOURS

    for colour in _FLAG_COLOURS.values():
        assert contrast_ratio(colour, LIGHT_CHROME.base) >= 4.5
    for colour in _DARK_FLAG_COLOURS.values():
        assert contrast_ratio(colour, DARK_CHROME.base) >= 4.5


def _next_tab_stop(widget):
    widget = widget.nextInFocusChain()
    while not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or not widget.isVisible():
        widget = widget.nextInFocusChain()
    return widget


def test_tab_moves_through_the_row_as_it_reads(qtbot) -> None:
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    before, composer, after = QLineEdit(), Composer(), QLineEdit()
    for widget in (before, composer, after):
        layout.addWidget(widget)
    window.show()
    stops = [before]
    for _ in range(4):
        stops.append(_next_tab_stop(stops[-1]))
    assert stops == [before, composer.attach_button, composer.editor, composer.button, after]
