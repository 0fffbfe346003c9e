"""What the app's list panes share: a two-line item delegate, a read-only list view, the pane's layout.

The chat sidebar (with its conversation list and search results) and the Templates tab's list
look alike on purpose: a "New …" button over a search box over a list of two-line rows.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

_Index = QModelIndex | QPersistentModelIndex


class TwoLineDelegate(QStyledItemDelegate):
    """Size a row for two lines of text inside ``PADDING``, and draw its background the style's way.

    A subclass paints: ``initStyleOption``, then :meth:`draw_background`, then its two lines in
    the rect that returns.
    """

    PADDING = 8
    LINE_GAP = 2  # between the two lines

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        return QSize(200, QFontMetrics(option.font).height() * 2 + self.PADDING * 2 + self.LINE_GAP)

    def draw_background(self, painter: QPainter, option: QStyleOptionViewItem) -> QRect:
        """Draw an initialised row without its text (hover, selection); return the rect for the text.

        Clears ``option.text``: the subclass draws the text itself.
        """
        option.text = ""
        if option.widget is not None:
            option.widget.style().drawControl(
                QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget
            )
        return option.rect.adjusted(self.PADDING + 4, self.PADDING, -self.PADDING, -self.PADDING)


def is_selected(option: QStyleOptionViewItem) -> bool:
    """Return whether the row ``option`` describes is selected."""
    return bool(option.state & QStyle.StateFlag.State_Selected)


def text_colour(option: QStyleOptionViewItem) -> QColor:
    """Return the colour of a row's main text (the highlighted text's on a selected row)."""
    return option.palette.color(
        QPalette.ColorRole.HighlightedText if is_selected(option) else QPalette.ColorRole.Text
    )


def read_only_list(
    model: QAbstractItemModel, delegate: type[QStyledItemDelegate], parent: QWidget | None = None
) -> QListView:
    """Return a list view of ``model`` drawn by a ``delegate`` of its own; rows are not edited in place."""
    view = QListView(parent)
    view.setModel(model)
    view.setItemDelegate(delegate(view))
    view.setUniformItemSizes(True)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return view


def set_up_search_box(box: QLineEdit, object_name: str, placeholder: str) -> None:
    """Name ``box`` for the style sheet, say what it searches, and give it a clear button."""
    box.setObjectName(object_name)
    box.setPlaceholderText(placeholder)
    box.setClearButtonEnabled(True)


def lay_out_pane(pane: QWidget, button: QPushButton, search_box: QLineEdit, body: QWidget) -> None:
    """Stack ``button`` over ``search_box`` over ``body`` in ``pane``; ``body`` takes the spare height."""
    layout = QVBoxLayout(pane)
    layout.setContentsMargins(10, 10, 10, 0)
    layout.setSpacing(8)
    layout.addWidget(button)
    layout.addWidget(search_box)
    layout.addWidget(body, 1)
