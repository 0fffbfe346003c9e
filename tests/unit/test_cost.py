"""Reply costs from reported usage, and totals per conversation and per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from desktop_llm.core.catalog import Catalog, ModelInfo, Price, Rates
from desktop_llm.core.cost import (
    Cost,
    CostTotal,
    UsageRecord,
    costs_by_conversation,
    costs_by_day,
    price_usage,
    reply_cost,
    total_cost,
)


@dataclass(frozen=True)
class Usage:
    """The fields of desktop_llm.providers.Usage."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


def _info(model_id: str, provider: str, price: Price | None) -> ModelInfo:
    return ModelInfo(model_id, provider, 128_000, 16_384, price, known=True, as_of="2026-11")


FLAT = Price(Rates(Decimal("2.50"), Decimal("10.00"), Decimal("1.25")))
NO_CACHE_PRICE = Price(Rates(Decimal("10"), Decimal("30")))
TIERED = Price(
    Rates(Decimal("1.25"), Decimal("10"), Decimal("0.125")),
    above_tokens=200_000,
    above=Rates(Decimal("2.50"), Decimal("15"), Decimal("0.25")),
)


@pytest.fixture
def catalog() -> Catalog:
    entries = [
        (_info("flat", "openai", FLAT), ()),
        (_info("tiered", "gemini", TIERED), ()),
        (_info("local", "ollama", Price(Rates(Decimal(0), Decimal(0)))), ()),
    ]
    return Catalog(entries, as_of="2026-11", defaults=(8192, 4096))


def test_plain_reply_cost() -> None:
    # 1,000 in at $2.50/M + 500 out at $10/M = 0.0025 + 0.005
    assert price_usage(Usage(1_000, 500), FLAT) == Decimal("0.0075")


def test_cached_input_is_billed_at_its_own_price() -> None:
    # 10,000 input of which 8,000 cached: 2,000 x 2.50 + 8,000 x 1.25 = 15,000 micro-dollars; 100 out x 10
    assert price_usage(Usage(10_000, 100, cached_input_tokens=8_000), FLAT) == Decimal("0.016")


def test_reasoning_is_already_inside_output() -> None:
    with_reasoning = price_usage(Usage(1_000, 500, reasoning_tokens=400), FLAT)
    assert with_reasoning == price_usage(Usage(1_000, 500), FLAT)


def test_without_a_cached_price_cached_input_costs_the_input_price() -> None:
    assert price_usage(Usage(1_000, 0, cached_input_tokens=1_000), NO_CACHE_PRICE) == Decimal("0.01")


def test_cached_beyond_input_is_capped() -> None:
    assert price_usage(Usage(100, 0, cached_input_tokens=150), FLAT) == price_usage(
        Usage(100, 0, cached_input_tokens=100), FLAT
    )


def test_negative_counts_are_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        price_usage(Usage(-1, 0), FLAT)


def test_long_prompts_use_the_higher_tier() -> None:
    short = price_usage(Usage(200_000, 1_000), TIERED)
    long = price_usage(Usage(200_001, 1_000), TIERED)
    assert short == Decimal("0.26")  # 200,000 x 1.25 + 1,000 x 10
    assert long == Decimal("0.5150025")  # 200,001 x 2.50 + 1,000 x 15


def test_reply_cost_carries_the_price_date_and_none_when_unknown() -> None:
    assert reply_cost(Usage(1_000_000, 0), _info("flat", "openai", FLAT)) == Cost(Decimal("2.5"), "2026-11")
    unknown = ModelInfo("x", None, 8192, 4096, None, known=False, as_of=None)
    assert reply_cost(Usage(1_000, 1_000), unknown) == Cost(None, None)


def test_with_real_catalog_prices() -> None:
    from desktop_llm.core.catalog import load_catalog

    info = load_catalog().lookup("gpt-4o-mini-2024-07-18", "openai")
    # 1M input (half cached) and 1M output: 0.5 x 0.15 + 0.5 x 0.075 + 0.60
    assert reply_cost(Usage(1_000_000, 1_000_000, 500_000), info).dollars == Decimal("0.7125")


def _at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_totals_per_conversation_and_overall(catalog: Catalog) -> None:
    records = [
        UsageRecord(_at(1), "openai", "flat", 1_000, 500, conversation_id="a"),
        UsageRecord(_at(1), "openai", "flat-2025-01-01", 10_000, 100, 8_000, 50, conversation_id="a"),
        UsageRecord(_at(2), "gemini", "tiered", 1_000_000, 0, conversation_id="b"),
        UsageRecord(_at(2), "openrouter", "mystery", 5, 5, conversation_id="b"),
    ]
    per_conversation = costs_by_conversation(records, catalog)
    assert per_conversation["a"] == CostTotal(
        dollars=Decimal("0.0235"),
        replies=2,
        input_tokens=11_000,
        cached_input_tokens=8_000,
        output_tokens=600,
        reasoning_tokens=50,
    )
    assert per_conversation["b"].dollars == Decimal("2.5")
    assert per_conversation["b"].unpriced_replies == 1
    overall = total_cost(records, catalog)
    assert overall.dollars == Decimal("2.5235") and overall.replies == 4


def test_totals_accept_plain_tuples(catalog: Catalog) -> None:
    rows = [(_at(1), "openai", "flat", 1_000, 500, 0, 0)]
    assert total_cost(rows, catalog).dollars == Decimal("0.0075")
    assert total_cost([], catalog) == CostTotal()


def test_totals_per_day_follow_the_time_zone(catalog: Catalog) -> None:
    late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    records = [
        UsageRecord(late, "openai", "flat", 1_000_000, 0),
        UsageRecord(late + timedelta(hours=1), "openai", "flat", 1_000_000, 0),
        UsageRecord(datetime(2026, 11, 1, 9, 0), "ollama", "local", 50, 50),  # naive = UTC
    ]
    in_utc = costs_by_day(records, catalog, UTC)
    assert list(in_utc) == [date(2026, 11, 1), date(2026, 11, 2)]
    assert in_utc[date(2026, 11, 1)].dollars == Decimal("2.5")
    assert in_utc[date(2026, 11, 1)].replies == 2
    tokyo = costs_by_day(records, catalog, timezone(timedelta(hours=9)))
    assert list(tokyo) == [date(2026, 11, 1), date(2026, 11, 2)]
    assert tokyo[date(2026, 11, 2)].dollars == Decimal("5.0")
