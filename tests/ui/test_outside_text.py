"""Strings from outside (server errors, file contents, names) are shown as text, never as rich text.

Qt guesses rich text from a leading tag; an error body like ``<img src="file:///...">`` would load
a local image into a label. Each place that shows such a string is checked with one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QMessageBox

from desktop_llm.ui.common.plain_text import plain_tooltip
from desktop_llm.ui.settings.exchange_dialogs import tell
from desktop_llm.ui.settings.settings_provider_form import ProviderForm
from desktop_llm.ui.settings.settings_providers import keyring_banner
from desktop_llm.ui.settings.settings_widgets import hint_label
from desktop_llm.ui.shell.error_dialog import ErrorDialog
from desktop_llm.ui.templates.template_editor import TemplateEditor

pytestmark = pytest.mark.ui

HOSTILE = '<img src="file:///etc/hostname"><b>Server error</b> & more'


def assert_shown_as_text(label: QLabel, text: str = HOSTILE) -> None:
    assert label.textFormat() == Qt.TextFormat.PlainText, label.objectName()
    assert text in label.text()


def test_a_providers_error_in_the_settings_form_is_text(qtbot) -> None:
    form = ProviderForm()
    qtbot.addWidget(form)
    form.set_status(HOSTILE, ok=False)
    assert_shown_as_text(form.status)
    assert form.heading.textFormat() == Qt.TextFormat.PlainText
    assert hint_label(HOSTILE).textFormat() == Qt.TextFormat.PlainText


def test_the_keyring_banner_escapes_the_backends_message(qtbot) -> None:
    from desktop_llm.secrets import KeyringStatus

    banner = keyring_banner(KeyringStatus(False, "fake", HOSTILE))
    qtbot.addWidget(banner)
    label = banner.findChild(QLabel)
    document = QTextDocument()
    document.setHtml(label.text())
    assert HOSTILE in document.toPlainText()  # shown literally, the tag never interpreted


def test_an_import_failure_box_shows_the_files_text_as_text(qtbot) -> None:
    box = tell(None, False, "Import failed", f"Cannot import: {HOSTILE}", f"at line 1: {HOSTILE}")
    qtbot.addWidget(box)
    labels = {label.objectName(): label for label in box.findChildren(QLabel)}
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert_shown_as_text(labels["qt_msgbox_label"])
    assert_shown_as_text(labels["qt_msgbox_informativelabel"])
    box.done(QMessageBox.StandardButton.Ok)


def test_the_crash_dialog_shows_the_summary_as_text(qtbot, tmp_path: Path) -> None:
    dialog = ErrorDialog(f"ValueError: {HOSTILE}", "trace", tmp_path / "log")
    qtbot.addWidget(dialog)
    assert_shown_as_text(dialog.summary_label)


def test_status_lines_of_the_template_editor_are_text(qtbot) -> None:
    editor = TemplateEditor()
    qtbot.addWidget(editor)
    assert editor.status.textFormat() == Qt.TextFormat.PlainText


def test_a_tooltip_from_outside_shows_its_tags_literally() -> None:
    tip = plain_tooltip(HOSTILE)
    document = QTextDocument()
    document.setHtml(tip)
    assert document.toPlainText() == HOSTILE
    assert "<img" not in tip
    assert plain_tooltip("") == ""


def test_the_status_bar_shows_toasts_and_activity_as_text(qtbot) -> None:
    from desktop_llm.ui.common.chat_bridge import ChatBridge
    from desktop_llm.ui.shell.status_bar import StatusBar

    bar = StatusBar(ChatBridge())
    qtbot.addWidget(bar)
    bar.show_toast(f"“{HOSTILE}” moved to the trash")
    assert_shown_as_text(bar.toast_label)
    for label in (bar.activity_label, bar.usage_label, bar.cost_label):
        assert label.textFormat() == Qt.TextFormat.PlainText


def test_an_attachment_chip_shows_the_files_name_as_text(qtbot) -> None:
    from desktop_llm.providers import Attachment
    from desktop_llm.services.attachment_prep import Check
    from desktop_llm.ui.chat.attachment_tray import AttachmentChip, DraftAttachment

    name = f"{HOSTILE}.txt"  # any byte but "/" may be in a file name
    chip = AttachmentChip(DraftAttachment(Attachment(name=name, media_type="text/plain", data=b"x")))
    qtbot.addWidget(chip)
    chip.set_check(Check("refused", f"{name} cannot go to this model."))

    # A long name is shortened in the middle ("start…end"); the whole name is in the tooltip.
    assert chip.name_label.textFormat() == Qt.TextFormat.PlainText
    head, _, tail = chip.name_label.text().partition("…")
    assert name.startswith(head) and name.endswith(tail) and "<img" in head
    assert chip.thumb.textFormat() == Qt.TextFormat.PlainText
    for tip in (chip.name_label.toolTip(), chip.toolTip(), chip.remove_button.toolTip()):
        document = QTextDocument()
        document.setHtml(tip)
        assert HOSTILE in document.toPlainText()
