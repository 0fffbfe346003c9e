"""Show text that comes from outside (servers, files, models, templates) exactly as it is.

Qt guesses whether a label's, message box's or tooltip's string is rich text. A server's error
body such as ``<img src="file:///...">`` would then be rendered, loading a local file into the
window. Every string from outside goes through one of these instead, so it is only ever text.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """Return a label that shows ``text`` (and whatever it is set to later) as plain text."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


def make_plain(*widgets: QLabel | QMessageBox) -> None:
    """Make labels and message boxes show their text as plain text from now on.

    For a message box, call it after ``setInformativeText``: Qt makes that label on demand and
    gives it automatic detection whatever the box's own format.
    """
    for widget in widgets:
        widget.setTextFormat(Qt.TextFormat.PlainText)
        if isinstance(widget, QMessageBox):
            for label in widget.findChildren(QLabel):
                if label.objectName() in ("qt_msgbox_label", "qt_msgbox_informativelabel"):
                    label.setTextFormat(Qt.TextFormat.PlainText)


def plain_tooltip(text: str) -> str:
    """Return ``text`` for ``setToolTip``: escaped inside rich text, so it shows as typed.

    Tooltips have no text-format switch; escaping alone would not do, as Qt would show a
    string without tags as plain text, entities and all.
    """
    if not text:
        return ""
    return f'<p style="white-space:pre-wrap">{html.escape(text, quote=False)}</p>'


def rich_with(template: str, **values: str) -> str:
    """Return rich text ``template`` with every value from outside escaped (``{name}`` fields).

    Values go between tags, never inside an attribute, so quotes stay as they are.
    """
    return template.format(**{name: html.escape(value, quote=False) for name, value in values.items()})
