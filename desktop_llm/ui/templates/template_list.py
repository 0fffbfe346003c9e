"""The list of templates with a search box: names, descriptions, and a mark on the built-in ones.

:class:`TemplateListModel` holds the templates and filters them as the search text changes
(every word must occur in the name or description); :class:`TemplateDelegate` draws a template as
its name over its description. The ``/`` picker shows the same model and delegate.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QLineEdit, QListView, QMenu, QPushButton, QStyleOptionViewItem, QWidget

from desktop_llm.services.templates import TemplateSummary, matches
from desktop_llm.ui.common.list_pane import (
    TwoLineDelegate,
    is_selected,
    lay_out_pane,
    read_only_list,
    set_up_search_box,
    text_colour,
)

SummaryRole = Qt.ItemDataRole.UserRole + 20
BUILTIN_MARK = "built-in"
# The same look as the chat list beside it, from the palette the theme sets.
PANE_STYLE = """
#templateListPane { background: palette(window); }
QListView#templateList { background: transparent; border: none; outline: 0; }
QListView#templateList::item:hover { background: palette(alternate-base); }
QLineEdit#templateSearch {
    border: 1px solid palette(mid); border-radius: 7px; padding: 5px 8px; background: palette(base);
}
QLineEdit#templateSearch:focus { border-color: palette(link); }
QPushButton#newTemplateButton {
    text-align: left; padding: 7px 12px; border: 1px solid palette(mid); border-radius: 7px;
    background: palette(base); font-weight: 600;
}
QPushButton#newTemplateButton:hover { background: palette(alternate-base); }
"""
_Index = QModelIndex | QPersistentModelIndex


class TemplateListModel(QAbstractListModel):
    """Templates as rows, filtered by a search text; the ``TemplateSummary`` is under ``SummaryRole``."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._all: list[TemplateSummary] = []
        self._shown: list[TemplateSummary] = []
        self._query = ""

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._shown)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._shown):
            return None
        summary = self._shown[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return summary.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return summary.description or None
        if role == SummaryRole:
            return summary
        return None

    def set_templates(self, summaries: list[TemplateSummary]) -> None:
        """Replace the templates (the filter stays)."""
        self.beginResetModel()
        self._all = list(summaries)
        self._shown = [s for s in self._all if matches(self._query, s.name, s.description)]
        self.endResetModel()

    def set_filter(self, query: str) -> None:
        """Show only the templates matching ``query``."""
        self._query = query
        self.set_templates(self._all)

    def summary(self, row: int) -> TemplateSummary | None:
        """Return the template shown in ``row``, or None."""
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def row_of(self, template_id: str) -> int:
        """Return the row showing ``template_id``, or -1."""
        return next((row for row, s in enumerate(self._shown) if s.id == template_id), -1)

    def names(self) -> list[str]:
        """Return the names shown, in order."""
        return [s.name for s in self._shown]


class TemplateDelegate(TwoLineDelegate):
    """Draw a template as its name (with a "built-in" tag) over its description."""

    PADDING = 7
    LINE_GAP = 2

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        self.initStyleOption(option, index)
        summary: TemplateSummary = index.data(SummaryRole)
        rect = self.draw_background(painter, option)
        colour = text_colour(option)
        muted = option.palette.color(QPalette.ColorRole.PlaceholderText)
        line = QFontMetrics(option.font).height()
        painter.save()
        small = QFont(option.font)
        small.setPointSizeF(max(option.font.pointSizeF() * 0.85, 7.0))
        tag_width = 0
        if summary.builtin:
            painter.setFont(small)
            painter.setPen(muted)
            tag_width = QFontMetrics(small).horizontalAdvance(BUILTIN_MARK) + 8
            painter.drawText(
                QRect(rect.right() - tag_width, rect.top(), tag_width, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                BUILTIN_MARK,
            )
        title = QFont(option.font)
        title.setBold(True)
        painter.setFont(title)
        painter.setPen(colour)
        name = QFontMetrics(title).elidedText(
            summary.name, Qt.TextElideMode.ElideRight, rect.width() - tag_width
        )
        painter.drawText(
            QRect(rect.left(), rect.top(), rect.width() - tag_width, line), Qt.AlignmentFlag.AlignLeft, name
        )
        painter.setFont(option.font)
        painter.setPen(colour if is_selected(option) else muted)
        description = QFontMetrics(option.font).elidedText(
            summary.description or "No description", Qt.TextElideMode.ElideRight, rect.width()
        )
        painter.drawText(
            QRect(rect.left(), rect.top() + line + 2, rect.width(), line),
            Qt.AlignmentFlag.AlignLeft,
            description,
        )
        painter.restore()


def template_view(model: TemplateListModel, parent: QWidget | None = None) -> QListView:
    """Return a list view that shows ``model`` with the template delegate."""
    return read_only_list(model, TemplateDelegate, parent)


class TemplateListPane(QWidget):
    """A "New template" button, a search box and the templates.

    Signals:
        template_selected(str): the person picked a template (its id).
        new_requested(): "New template" was clicked.
        delete_requested(str): "Delete" was chosen from a template's menu.
    """

    template_selected = Signal(str)
    new_requested = Signal()
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("templateListPane")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(PANE_STYLE)
        self.model = TemplateListModel(self)
        self.new_button = QPushButton("＋  New template")
        self.new_button.setObjectName("newTemplateButton")
        self.new_button.clicked.connect(self.new_requested)
        self.search_box = QLineEdit()
        set_up_search_box(self.search_box, "templateSearch", "Search templates")
        self.search_box.textChanged.connect(self.model.set_filter)
        self.view = template_view(self.model)
        self.view.setObjectName("templateList")
        self.view.clicked.connect(self._activate)
        self.view.activated.connect(self._activate)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        lay_out_pane(self, self.new_button, self.search_box, self.view)

    def set_templates(self, summaries: list[TemplateSummary], *, select: str | None = None) -> None:
        """Show these templates; keep (or move) the selection to ``select``."""
        keep = select or self.current_id()
        self.model.set_templates(summaries)
        if keep is not None:
            self.select(keep)

    def select(self, template_id: str) -> None:
        """Highlight ``template_id`` in the list (without opening it)."""
        row = self.model.row_of(template_id)
        if row >= 0:
            self.view.setCurrentIndex(self.model.index(row))

    def current_id(self) -> str | None:
        """Return the highlighted template's id, or None."""
        summary = self.model.summary(self.view.currentIndex().row())
        return summary.id if summary is not None else None

    def _activate(self, index: QModelIndex) -> None:
        summary = self.model.summary(index.row())
        if summary is not None:
            self.template_selected.emit(summary.id)

    def _menu(self, point: QPoint) -> None:
        summary = self.model.summary(self.view.indexAt(point).row())
        if summary is None:
            return
        menu = QMenu(self)
        menu.addAction("Delete template", lambda: self.delete_requested.emit(summary.id))
        menu.popup(self.view.viewport().mapToGlobal(point))
