"""Small building blocks the Settings pages share: hints right under their field, two-line list items."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop_llm.ui.common.plain_text import plain_label


def hint_label(text: str = "") -> QLabel:
    """Return a wrapped, muted explanation (styled by the dialog's ``settingsHint`` rule)."""
    label = plain_label(text)  # may name an environment variable or a server's address
    label.setWordWrap(True)
    label.setObjectName("settingsHint")
    return label


def with_hint(field: QWidget | QHBoxLayout, hint: QLabel) -> QWidget:
    """Return ``field`` with ``hint`` just below it, to fill one form row."""
    box = QWidget()
    # Wide as the form allows: a wrapped hint squeezed to its own size hint gets clipped.
    box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(3)
    if isinstance(field, QHBoxLayout):
        column.addLayout(field)
    else:
        column.addWidget(field)
    column.addWidget(hint)
    return box


class TwoLineDelegate(QStyledItemDelegate):
    """Draw an item's text "name\\ndetail" as the name over a smaller, muted detail line."""

    PADDING = 6

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(160, metrics.height() * 2 + self.PADDING * 2 + 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        self.initStyleOption(option, index)
        # The raw text: the style option's has its newline turned into U+2028 already.
        name, _, detail = str(index.data(Qt.ItemDataRole.DisplayRole) or "").partition("\n")
        option.text = ""  # the style draws the background and selection; the lines are ours
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        text = option.palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = QColor(text)
        muted.setAlphaF(0.7)  # a muted tone of whatever the text colour is, on any background
        rect = option.rect.adjusted(self.PADDING + 2, self.PADDING, -self.PADDING, -self.PADDING)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.9))
        painter.save()
        for line, font, colour, top in (
            (name, option.font, text, rect.top()),
            (detail, small, muted, rect.top() + QFontMetrics(option.font).height() + 2),
        ):
            metrics = QFontMetrics(font)
            painter.setFont(font)
            painter.setPen(colour)
            line_rect = QRect(rect.left(), top, rect.width(), metrics.height())
            elided = metrics.elidedText(line, Qt.TextElideMode.ElideRight, line_rect.width())
            painter.drawText(line_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.restore()
