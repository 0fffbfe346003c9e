"""The usage service prices stored replies: per day, provider and model; per conversation; as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date
from decimal import Decimal

import pytest
from fakes.usage_data import NOW, populate_usage, write_catalog

from desktop_llm.core.catalog import load_catalog
from desktop_llm.services.usage import (
    UsageService,
    dollars_text,
    open_catalog,
    reply_note,
    usage_csv,
)
from desktop_llm.storage.database import Database
from desktop_llm.storage.errors import StorageError
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.usage import usage_records


@pytest.fixture
def store(tmp_path):
    db = DatabaseThread(tmp_path / "usage.sqlite3")
    sample = db.call_blocking(populate_usage)
    catalog = load_catalog(write_catalog(tmp_path / "models.json"))
    yield UsageService(db, catalog, tz=UTC, clock=lambda: NOW), sample, db
    db.close()


def test_only_replies_with_reported_usage_are_read(tmp_path) -> None:
    db = Database.open(tmp_path / "rows.sqlite3")
    sample = populate_usage(db)

    rows = usage_records(db)
    recent = usage_records(db, "2026-11-25T00:00:00.000Z")
    one = usage_records(db, conversation_id=sample.main_conversation)
    db.close()

    assert len(rows) == 6
    assert [row.created_at for row in rows] == sorted(row.created_at for row in rows)
    assert len(recent) == 4
    assert {row.model for row in one} == {"alpha", "beta"} and len(one) == 3
    openai_row = next(row for row in rows if row.provider_id == sample.openai_id)
    assert (openai_row.provider_kind, openai_row.provider_preset) == ("openai", None)
    groq_row = next(row for row in rows if row.provider_id == sample.groq_id)
    assert (groq_row.provider_kind, groq_row.provider_preset) == ("openai-compatible", "groq")


async def test_the_last_seven_days_grouped_by_day_provider_and_model(store) -> None:
    service, _sample, _db = store

    report = await service.report(7)

    assert [(line.day, line.provider, line.model) for line in report.lines] == [
        (date(2026, 11, 27), "Anthropic", "beta"),
        (date(2026, 11, 27), "OpenAI", "alpha"),
        (date(2026, 11, 25), "Groq", "gamma"),
    ]
    openai = report.lines[1]
    assert openai.total.replies == 2
    assert (openai.total.input_tokens, openai.total.cached_input_tokens, openai.total.output_tokens) == (
        300_000,
        50_000,
        30_000,
    )
    assert openai.dollars == Decimal("0.85")  # cached input at its own price: 0.25 + 0.60
    assert report.lines[0].dollars == Decimal("0.08")
    assert report.lines[2].dollars == Decimal("1.00")
    assert report.total.dollars == Decimal("1.93") and report.total.replies == 4
    assert report.days == tuple(date(2026, 11, d) for d in range(21, 28))
    assert report.as_of == load_catalog().as_of


async def test_a_deleted_provider_is_unpriced_and_all_time_reaches_back(store) -> None:
    service, _sample, _db = store

    month = await service.report(30)
    everything = await service.report(None)

    removed = next(line for line in month.lines if line.provider == "Removed provider")
    assert removed.dollars is None and removed.total.unpriced_replies == 1
    assert month.total.replies == 5 and month.total.dollars == Decimal("1.93")
    assert everything.total.dollars == Decimal("3.93") and everything.total.replies == 6
    assert everything.days[0] == date(2026, 9, 1) and everything.days[-1] == date(2026, 11, 27)
    assert len(everything.days) == 88


async def test_an_empty_database_gives_an_empty_report_over_the_range(tmp_path) -> None:
    db = DatabaseThread(tmp_path / "empty.sqlite3")
    service = UsageService(db, load_catalog(), tz=UTC, clock=lambda: NOW)
    try:
        report = await service.report(7)
        assert report.lines == () and report.total.replies == 0 and len(report.days) == 7
        assert (await service.report(None)).days == (date(2026, 11, 27),)
        with pytest.raises(ValueError):
            await service.report(0)
    finally:
        await db.aclose()


async def test_a_conversation_costs_the_sum_of_its_replies(store) -> None:
    service, sample, _db = store

    costs = await service.conversation_costs(sample.main_conversation)

    assert costs.total.dollars == Decimal("0.93") and costs.total.replies == 3
    first = costs.replies[sample.first_reply]
    assert first.dollars == Decimal("0.25") and first.reasoning_tokens == 2_000
    assert reply_note(first) == "100,000 in (50,000 cached) · 10,000 out tokens · $0.2500"


async def test_csv_export_writes_every_line(store, tmp_path) -> None:
    service, _sample, _db = store
    report = await service.report(30)
    target = tmp_path / "usage.csv"

    await service.export_csv(report, target)

    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert target.read_text(encoding="utf-8") == usage_csv(report)
    assert len(rows) == 4
    assert rows[0] == {
        "day": "2026-11-27",
        "provider": "Anthropic",
        "model": "beta",
        "requests": "1",
        "input_tokens": "40000",
        "cached_input_tokens": "0",
        "output_tokens": "8000",
        "reasoning_tokens": "0",
        "cost_usd": "0.08",
        "unpriced_requests": "0",
    }
    assert rows[-1]["cost_usd"] == "" and rows[-1]["unpriced_requests"] == "1"
    with pytest.raises(StorageError):
        await service.export_csv(report, tmp_path / "missing-folder" / "usage.csv")


def test_a_malformed_user_catalog_falls_back_to_the_shipped_one(tmp_path) -> None:
    broken = tmp_path / "models.json"
    broken.write_text('{"models": [{"id": "x", "provider": "openai", "context_window": -1}]}')

    catalog, problem = open_catalog(broken)

    assert problem is not None and "models.json" in problem and "context_window" in problem
    assert catalog.lookup("gpt-4o", "openai").known
    good, none = open_catalog(write_catalog(tmp_path / "good.json"))
    assert none is None and good.lookup("gamma", "groq").known
    missing, nothing = open_catalog(tmp_path / "absent.json")
    assert nothing is None and missing.lookup("gpt-4o").known
    broken.write_text("{not json")
    assert "not valid JSON" in (open_catalog(broken)[1] or "")


def test_amounts_read_naturally() -> None:
    assert dollars_text(None) == ""
    assert dollars_text(Decimal(0)) == "$0.00"
    assert dollars_text(Decimal("0.00001")) == "<$0.0001"
    assert dollars_text(Decimal("0.0021")) == "$0.0021"
    assert dollars_text(Decimal("1234.5")) == "$1,234.50"
