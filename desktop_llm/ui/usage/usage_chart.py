"""A stacked bar chart of usage per day, one colour per model and provider, drawn with QPainter.

PySide6-Essentials has no QtCharts, and the chart needs little: bars stacked per day, a legend,
axis labels with round steps, and a tooltip with the day's figures under the pointer. The data
(:class:`ChartData`) is plain and built from a ``UsageReport`` by :func:`chart_data`.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from PySide6.QtCore import QEvent, QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from desktop_llm.services.usage import UsageLine, UsageReport, dollars_text

Metric = Literal["cost", "tokens"]
MAX_SERIES = 8  # more models than this share one "Other" colour
OTHER = "Other"
# Tableau 10: distinguishable, and readable on light and dark backgrounds alike.
SERIES_COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
OTHER_COLOUR = "#8b949e"
BAR_SHARE = 0.7  # of each day's slot
MAX_BAR_WIDTH = 44
PADDING = 12
SWATCH = 10


@dataclass(frozen=True)
class ChartData:
    """What the chart draws: ``values[d][s]`` is series ``s`` on ``days[d]``, in colour ``colours[s]``.

    Colours are indexes into ``SERIES_COLOURS`` (-1: the grey "Other"); a series keeps its colour
    whichever metric is shown.
    """

    days: tuple[date, ...] = ()
    series: tuple[str, ...] = ()
    values: tuple[tuple[float, ...], ...] = ()
    metric: Metric = "cost"
    colours: tuple[int, ...] = ()

    def day_total(self, index: int) -> float:
        """Return the height of day ``index``'s whole bar."""
        return sum(self.values[index])

    @property
    def maximum(self) -> float:
        """Return the tallest bar."""
        return max((self.day_total(i) for i in range(len(self.days))), default=0.0)


def series_label(line: UsageLine) -> str:
    """Return the legend's name for a line's model and provider."""
    return f"{line.model} · {line.provider}"


def _measure(line: UsageLine, metric: Metric) -> float:
    if metric == "tokens":
        return float(line.total.input_tokens + line.total.output_tokens)
    return float(line.total.dollars)


def chart_data(report: UsageReport, metric: Metric, max_series: int = MAX_SERIES) -> ChartData:
    """Return the report as bars over every day of its range, measured in ``metric``.

    Series are ranked by cost, then tokens, whatever the metric, so the biggest spender sits at
    the bottom of each bar in the same colour in both charts; past ``max_series`` the smallest
    share one "Other" series. Series with nothing to show in ``metric`` (free models in the
    cost chart) are left out.
    """
    by_series: dict[str, dict[Metric, dict[date, float]]] = defaultdict(
        lambda: {"cost": defaultdict(float), "tokens": defaultdict(float)}
    )
    for line in report.lines:
        for measure in ("cost", "tokens"):
            by_series[series_label(line)][measure][line.day] += _measure(line, measure)

    def rank(name: str) -> tuple[float, float, str]:
        measures = by_series[name]
        return (-sum(measures["cost"].values()), -sum(measures["tokens"].values()), name)

    ranked = sorted(by_series, key=rank)
    per_day = {name: by_series[name][metric] for name in ranked}
    colours = {name: index for index, name in enumerate(ranked)}
    if len(ranked) > max_series:
        other: dict[date, float] = defaultdict(float)
        for name in ranked[max_series - 1 :]:
            for day, value in per_day.pop(name).items():
                other[day] += value
        per_day[OTHER] = other
        colours[OTHER] = -1
    shown = [name for name, values in per_day.items() if sum(values.values()) > 0]
    values = tuple(tuple(per_day[name].get(day, 0.0) for name in shown) for day in report.days)
    return ChartData(report.days, tuple(shown), values, metric, tuple(colours[name] for name in shown))


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Return round axis steps from 0 that reach at least ``maximum`` (1, 2, 2.5 or 5 times a power of 10)."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    steps = math.ceil(maximum / step - 1e-9)
    return [round(step * i, 12) for i in range(steps + 1)]


def axis_label(value: float, step: float, metric: Metric) -> str:
    """Return a y-axis label with as many decimals as the step needs: "$0.25", "$10", "400k"."""
    if metric != "cost":
        return format_value(value, metric)
    if step >= 1:
        return f"${value:,.0f}"
    power = math.floor(math.log10(step))
    extra = 0 if round(step / 10**power, 6) in (1, 2, 5) else 1  # 2.5 steps need one more digit
    return f"${value:,.{max(2, -power + extra)}f}"


def format_value(value: float, metric: Metric) -> str:
    """Return an axis or tooltip figure: "$1.25", "12k", "1.5M"."""
    if metric == "cost":
        if value == 0:
            return "$0"
        return dollars_text(Decimal(str(value)).quantize(Decimal("0.0001")))
    if value >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if value >= 1_000:
        return f"{value / 1_000:.3g}k"
    return f"{value:.0f}"


class UsageChart(QWidget):
    """Stacked bars per day with a legend, axes and a hover tooltip.

    The tooltip names the day and each series' figure (cost and tokens read the same way).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usageChart")
        self.setMouseTracking(True)
        self.setMinimumHeight(240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._data = ChartData()
        self.hovered: int | None = None
        self.empty_text = "No replies with reported usage in this period."

    @property
    def data(self) -> ChartData:
        return self._data

    def set_data(self, data: ChartData) -> None:
        """Show ``data`` (replacing what was shown)."""
        self._data = data
        self.hovered = None
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(720, 280)

    # -- geometry ----------------------------------------------------------------------------

    def _legend_rows(self, width: int) -> list[list[tuple[str, QColor, int]]]:
        """Lay the legend's entries out in rows that fit ``width``: (label, colour, x offset)."""
        metrics = QFontMetrics(self.font())
        rows: list[list[tuple[str, QColor, int]]] = [[]]
        x = 0
        for index, name in enumerate(self._data.series):
            item = SWATCH + 6 + metrics.horizontalAdvance(name) + 18
            if x and x + item > width:
                rows.append([])
                x = 0
            rows[-1].append((name, self.colour(index), x))
            x += item
        return [row for row in rows if row]

    def _ticks(self) -> list[float]:
        return nice_ticks(self._data.maximum)

    def plot_rect(self) -> QRectF:
        """Return the area the bars are drawn in (inside the axes, under the legend)."""
        metrics = QFontMetrics(self.font())
        legend_height = len(self._legend_rows(self.width() - 2 * PADDING)) * (metrics.height() + 4)
        ticks = self._ticks()
        labels = [axis_label(tick, ticks[1], self._data.metric) for tick in ticks]
        left = PADDING + max(metrics.horizontalAdvance(label) for label in labels) + 8
        top = PADDING + legend_height + (8 if legend_height else 0)
        bottom = self.height() - PADDING - metrics.height() - 6
        return QRectF(left, top, max(1.0, self.width() - PADDING - left), max(1.0, bottom - top))

    def day_at(self, point: QPoint) -> int | None:
        """Return the index of the day whose column holds ``point``, or None."""
        days = len(self._data.days)
        plot = self.plot_rect()
        if not days or not plot.contains(point.toPointF()):
            return None
        index = int((point.x() - plot.left()) / (plot.width() / days))
        return min(max(index, 0), days - 1)

    def colour(self, series_index: int) -> QColor:
        """Return the colour of series ``series_index`` (the "Other" series is grey)."""
        colour = self._data.colours[series_index]
        return QColor(OTHER_COLOUR if colour < 0 else SERIES_COLOURS[colour % len(SERIES_COLOURS)])

    # -- drawing -----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        """Draw the legend, the axes with their labels and the stacked bars."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        grid = palette.color(QPalette.ColorRole.Mid)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        if not self._data.days or self._data.maximum <= 0:
            painter.setPen(muted)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            painter.end()
            return
        self._draw_legend(painter, text)
        plot = self.plot_rect()
        self._draw_y_axis(painter, plot, muted, grid)
        self._draw_bars(painter, plot, palette.color(QPalette.ColorRole.AlternateBase))
        self._draw_x_axis(painter, plot, muted, grid)
        painter.end()

    def _draw_legend(self, painter: QPainter, text: QColor) -> None:
        metrics = QFontMetrics(self.font())
        y = PADDING
        for row in self._legend_rows(self.width() - 2 * PADDING):
            for name, colour, x in row:
                left = PADDING + x
                swatch_top = y + (metrics.height() - SWATCH) / 2
                painter.fillRect(QRectF(left, swatch_top, SWATCH, SWATCH), colour)
                painter.setPen(text)
                painter.drawText(QPoint(left + SWATCH + 6, y + metrics.ascent()), name)
            y += metrics.height() + 4

    def _draw_y_axis(self, painter: QPainter, plot: QRectF, muted: QColor, grid: QColor) -> None:
        metrics = QFontMetrics(self.font())
        ticks = self._ticks()
        top = ticks[-1]
        for tick in ticks:
            y = plot.bottom() - plot.height() * tick / top
            painter.setPen(QPen(grid, 1, Qt.PenStyle.DotLine if tick else Qt.PenStyle.SolidLine))
            painter.drawLine(QPoint(round(plot.left()), round(y)), QPoint(round(plot.right()), round(y)))
            label = axis_label(tick, ticks[1], self._data.metric)
            painter.setPen(muted)
            width = metrics.horizontalAdvance(label)
            painter.drawText(
                QPoint(round(plot.left() - 8 - width), round(y + metrics.ascent() / 2 - 1)), label
            )

    def _draw_bars(self, painter: QPainter, plot: QRectF, hover: QColor) -> None:
        data = self._data
        top = self._ticks()[-1]
        slot = plot.width() / len(data.days)
        width = max(1.0, min(MAX_BAR_WIDTH, slot * BAR_SHARE))
        for day_index, values in enumerate(data.values):
            x = plot.left() + slot * day_index + (slot - width) / 2
            if day_index == self.hovered:
                painter.fillRect(
                    QRectF(plot.left() + slot * day_index, plot.top(), slot, plot.height()), hover
                )
            base = plot.bottom()
            for series_index, value in enumerate(values):
                if value <= 0:
                    continue
                height = plot.height() * value / top
                painter.fillRect(QRectF(x, base - height, width, height), self.colour(series_index))
                base -= height

    def _draw_x_axis(self, painter: QPainter, plot: QRectF, muted: QColor, grid: QColor) -> None:
        metrics = QFontMetrics(self.font())
        days = self._data.days
        slot = plot.width() / len(days)
        label_width = metrics.horizontalAdvance("Sep 30") + 12
        every = max(1, math.ceil(label_width / slot))
        painter.setPen(muted)
        y = round(plot.bottom() + 4 + metrics.ascent())
        # Label from the newest day backwards so today always has its label.
        for index in range(len(days) - 1, -1, -every):
            label = f"{days[index]:%b} {days[index].day}"
            width = metrics.horizontalAdvance(label)
            x = min(max(plot.left() + slot * (index + 0.5) - width / 2, 0), self.width() - width)
            painter.drawText(QPoint(round(x), y), label)

    # -- hover -------------------------------------------------------------------------------

    def tooltip_html(self, index: int) -> str:
        """Return the tooltip for day ``index``: the date, each series' figure, the total."""
        data = self._data
        rows = [
            f'<tr><td><span style="color: {self.colour(s).name()}">■</span>'
            f" {html.escape(name)}&nbsp;&nbsp;</td>"
            f'<td align="right">{format_value(data.values[index][s], data.metric)}</td></tr>'
            for s, name in enumerate(data.series)
            if data.values[index][s] > 0
        ]
        total = format_value(data.day_total(index), data.metric)
        rows.append(f'<tr><td><b>Total</b></td><td align="right"><b>{total}</b></td></tr>')
        when = data.days[index]
        day = f"{when:%A, %B} {when.day}, {when.year}"
        return f"<b>{day}</b><table>{''.join(rows)}</table>"

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Highlight the day under the pointer and show its figures."""
        index = self.day_at(event.position().toPoint())
        if index != self.hovered:
            self.hovered = index
            self.update()
        if index is None:
            QToolTip.hideText()
        else:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_html(index), self)
        super().mouseMoveEvent(event)

    def event(self, event: QEvent) -> bool:
        """Answer tooltip requests (keyboard or a still pointer) with the day's figures."""
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            index = self.day_at(event.pos())
            if index is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_html(index), self)
            return True
        return super().event(event)

    def leaveEvent(self, event: QEvent) -> None:
        """Drop the highlight when the pointer leaves."""
        self.hovered = None
        self.update()
        super().leaveEvent(event)
