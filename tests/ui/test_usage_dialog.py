"""The usage dashboard on a real database: table rows, totals, drawn bars, hover figures, ranges, CSV."""

from __future__ import annotations

import asyncio
from datetime import UTC, date

import pytest
from fakes.signal_wait import SignalWaiter
from fakes.usage_data import NOW, populate_usage, write_catalog
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip

from desktop_llm.core.catalog import load_catalog
from desktop_llm.services.usage import UsageService
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.ui.usage.usage_chart import OTHER, ChartData, UsageChart, axis_label, chart_data, nice_ticks
from desktop_llm.ui.usage.usage_dialog import UsageDialog


@pytest.fixture
def usage(tmp_path):
    db = DatabaseThread(tmp_path / "usage.sqlite3")
    db.call_blocking(populate_usage)
    catalog = load_catalog(write_catalog(tmp_path / "models.json"))
    yield UsageService(db, catalog, tz=UTC, clock=lambda: NOW)
    db.close()


@pytest.fixture
def dialog(qtbot, usage):
    shown = UsageDialog(usage)
    qtbot.addWidget(shown)
    shown.show()
    return shown


def table(dialog: UsageDialog) -> list[list[str]]:
    model = dialog.table_model
    return [
        [model.data(model.index(row, column)) for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]


def bar_pixel(chart: UsageChart, image: QImage, day: date, above_bottom: int = 2) -> QColor:
    """The colour drawn in the middle of ``day``'s column, just above the axis."""
    plot = chart.plot_rect()
    index = chart.data.days.index(day)
    slot = plot.width() / len(chart.data.days)
    ratio = image.devicePixelRatio()
    x = (plot.left() + slot * (index + 0.5)) * ratio
    y = (plot.bottom() - above_bottom) * ratio
    return image.pixelColor(round(x), round(y))


async def test_the_dashboard_shows_thirty_days_of_real_usage(dialog) -> None:
    await dialog.reload()

    assert table(dialog) == [
        ["2026-11-27", "Anthropic", "beta", "1", "40,000", "0", "8,000", "$0.0800"],
        ["2026-11-27", "OpenAI", "alpha", "2", "300,000", "50,000", "30,000", "$0.8500"],
        ["2026-11-25", "Groq", "gamma", "1", "1,000,000", "0", "1,000,000", "$1.00"],
        ["2026-11-10", "Removed provider", "alpha", "1", "1,000", "0", "1,000", "unknown price"],
    ]
    assert dialog.totals_label.text() == (
        "Total: 5 requests · 1,341,000 in (50,000 cached) · 1,039,000 out tokens · $1.93"
    )
    assert "Prices as of 2026-11" in dialog.note_label.text()
    assert "1 reply on models without a known price" in dialog.note_label.text()
    assert len(dialog.chart.data.days) == 30


async def test_the_chart_draws_stacked_bars_in_each_series_colour(dialog) -> None:
    await dialog.reload()
    chart = dialog.chart
    data = chart.data
    assert data.series == ("gamma · Groq", "alpha · OpenAI", "beta · Anthropic")  # biggest cost first

    image = chart.grab().toImage()

    assert bar_pixel(chart, image, date(2026, 11, 25)) == chart.colour(0)
    assert bar_pixel(chart, image, date(2026, 11, 27)) == chart.colour(1)
    # Anthropic's $0.08 sits on top of OpenAI's $0.85 in the same column.
    plot = chart.plot_rect()
    top = nice_ticks(data.maximum)[-1]
    openai_height = plot.height() * 0.85 / top
    assert bar_pixel(chart, image, date(2026, 11, 27), round(openai_height) + 4) == chart.colour(2)
    assert bar_pixel(chart, image, date(2026, 11, 20)) == chart.palette().color(QPalette.ColorRole.Base)
    legend = {image.pixelColor(x, y).name() for x in range(0, image.width(), 2) for y in range(40)}
    assert {chart.colour(i).name() for i in range(3)} <= legend


async def test_hovering_a_day_shows_its_figures(dialog, qtbot) -> None:
    await dialog.reload()
    chart = dialog.chart
    plot = chart.plot_rect()
    index = chart.data.days.index(date(2026, 11, 27))
    slot = plot.width() / len(chart.data.days)
    point = QPoint(round(plot.left() + slot * (index + 0.5)), round(plot.bottom() - 3))

    QTest.mouseMove(chart, point)
    await asyncio.sleep(0.05)

    assert chart.hovered == index
    text = chart.tooltip_html(index)
    assert "Friday, November 27, 2026" in text
    assert "alpha · OpenAI" in text and "$0.8500" in text and "beta · Anthropic" in text
    assert "$0.9300" in text  # the day's total
    assert "gamma" not in text  # nothing from Groq that day
    assert QToolTip.isVisible() and "November 27" in QToolTip.text()


async def test_ranges_and_the_token_chart(dialog) -> None:
    await dialog.reload()
    loaded = SignalWaiter(dialog.loaded)

    dialog.range_box.setCurrentIndex(dialog.range_box.findText("All time"))
    await loaded.wait()
    assert (
        dialog.totals_label.text().startswith("Total: 6 requests") and "$3.93" in dialog.totals_label.text()
    )
    assert dialog.chart.data.days[0] == date(2026, 9, 1)

    dialog.metric_box.setCurrentIndex(dialog.metric_box.findText("Tokens"))
    data = dialog.chart.data
    assert data.metric == "tokens"
    # All time, OpenAI cost most ($2.85); the removed provider's reply has tokens but no price.
    assert data.series == ("alpha · OpenAI", "gamma · Groq", "beta · Anthropic", "alpha · Removed provider")
    assert data.values[data.days.index(date(2026, 11, 27))] == (330_000.0, 0.0, 48_000.0, 0.0)
    assert data.colours == (0, 1, 2, 3)

    dialog.range_box.setCurrentIndex(dialog.range_box.findText("Last 7 days"))
    await loaded.wait()
    assert [row[0] for row in table(dialog)] == ["2026-11-27", "2026-11-27", "2026-11-25"]


async def test_export_writes_the_table_as_csv(dialog, tmp_path) -> None:
    await dialog.reload()
    target = tmp_path / "usage.csv"
    asked = []

    async def choose(parent, request):
        asked.append(request)
        return target

    dialog._choose_path = choose
    written = await dialog.export()

    assert written == target and asked[0].save and asked[0].suggested.suffix == ".csv"
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == (
        "day,provider,model,requests,input_tokens,cached_input_tokens,output_tokens,"
        "reasoning_tokens,cost_usd,unpriced_requests"
    )
    assert lines[1:] == [
        "2026-11-27,Anthropic,beta,1,40000,0,8000,0,0.08,0",
        "2026-11-27,OpenAI,alpha,2,300000,50000,30000,2000,0.85,0",
        "2026-11-25,Groq,gamma,1,1000000,0,1000000,0,1,0",
        "2026-11-10,Removed provider,alpha,1,1000,0,1000,0,,1",
    ]
    assert "Saved 4 rows" in dialog.message_label.text()


async def test_an_empty_period_says_so(qtbot, tmp_path) -> None:
    db = DatabaseThread(tmp_path / "empty.sqlite3")
    try:
        dialog = UsageDialog(UsageService(db, load_catalog(), tz=UTC, clock=lambda: NOW))
        qtbot.addWidget(dialog)
        dialog.show()
        await dialog.reload()
        assert table(dialog) == [] and not dialog.export_button.isEnabled()
        assert dialog.chart.data.series == ()
        image = dialog.chart.grab().toImage()
        assert image.width() > 0  # draws its empty-state text without errors
    finally:
        await db.aclose()


def test_round_axis_steps_and_their_labels() -> None:
    assert nice_ticks(0.93) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(1_039_000) == [0, 500_000, 1_000_000, 1_500_000]
    assert nice_ticks(0) == [0.0, 1.0]
    assert ChartData().maximum == 0.0
    assert [axis_label(t, 0.25, "cost") for t in (0, 0.25, 1)] == ["$0.00", "$0.25", "$1.00"]
    assert axis_label(0.025, 0.025, "cost") == "$0.025"
    assert axis_label(20, 5, "cost") == "$20"
    assert axis_label(1_500_000, 500_000, "tokens") == "1.5M"


async def test_small_series_share_one_grey_other(usage) -> None:
    report = await usage.report(7)

    data = chart_data(report, "cost", max_series=2)

    assert data.series == ("gamma · Groq", OTHER) and data.colours == (0, -1)
    assert data.values[data.days.index(date(2026, 11, 27))] == (0.0, pytest.approx(0.93))
