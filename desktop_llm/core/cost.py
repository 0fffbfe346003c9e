"""Work out what replies cost from the usage the provider reported and the catalog's list prices.

A reply's usage counts every input token (cached ones included) and every output token
(reasoning included), as the provider contract defines ``Usage``. Cached input is billed at its
own price, the rest of the input at the input price, all output at the output price; long
prompts switch to the model's long-context tier where it has one. Amounts are ``Decimal``
dollars; a model without a known price costs ``None``, never a guess.

The totals are pure functions over plain ``UsageRecord``s (or tuples in the same order), for
the usage dashboard: overall, per conversation, per day.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from desktop_llm.core.catalog import Catalog, ModelInfo, Price

PER_TOKENS = Decimal(1_000_000)  # catalog prices are per million tokens

K = TypeVar("K", bound=Hashable)


class UsageLike(Protocol):
    """Token counts as a provider reports them (``desktop_llm.providers.Usage`` fits)."""

    @property
    def input_tokens(self) -> int: ...

    @property
    def output_tokens(self) -> int: ...

    @property
    def cached_input_tokens(self) -> int: ...


@dataclass(frozen=True)
class Cost:
    """The price of one reply: ``dollars`` None when the model's price is unknown."""

    dollars: Decimal | None
    as_of: str | None


def price_usage(usage: UsageLike, price: Price) -> Decimal:
    """Return the dollars ``usage`` costs at ``price``.

    Raises:
        ValueError: a token count is negative (a bug upstream, not a user's mistake).
    """
    input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
    cached = usage.cached_input_tokens
    if min(input_tokens, output_tokens, cached) < 0:
        raise ValueError(f"Token counts cannot be negative: {usage!r}.")
    cached = min(cached, input_tokens)  # a provider's rounding must not make input negative
    rates = price.rates_for(input_tokens)
    cached_rate = rates.input if rates.cached_input is None else rates.cached_input
    return (
        (input_tokens - cached) * rates.input + cached * cached_rate + output_tokens * rates.output
    ) / PER_TOKENS


def batch_cost(usage: UsageLike, model: ModelInfo) -> Cost:
    """Return what a reply with ``usage`` cost through the provider's batch engine.

    Batch prices are flat (no long-context tier in the catalog); unknown when the model has none.
    """
    price = model.price
    if price is None or price.batch is None:
        return Cost(None, None)
    return Cost(price_usage(usage, Price(price.batch)), price.batch_as_of)


def reply_cost(usage: UsageLike, model: ModelInfo) -> Cost:
    """Return what a reply with ``usage`` cost on ``model`` (from ``Catalog.lookup``)."""
    if model.price is None:
        return Cost(None, model.as_of)
    return Cost(price_usage(usage, model.price), model.as_of)


@dataclass(frozen=True)
class UsageRecord:
    """One reply's reported usage, as the usage dashboard stores it.

    Attributes:
        timestamp: when the reply finished; a naive datetime is taken as UTC.
        reasoning_tokens: informational; already included in ``output_tokens``.
    """

    timestamp: datetime
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    conversation_id: str | None = None
    batch: bool = False  # answered by the provider's batch service: priced at batch rates


@dataclass(frozen=True)
class CostTotal:
    """The sum over a group of replies; ``unpriced_replies`` had no known price and add no dollars."""

    dollars: Decimal = Decimal(0)
    replies: int = 0
    unpriced_replies: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    def plus(self, record: UsageRecord, cost: Cost) -> CostTotal:
        """Return this total with one more reply added."""
        return CostTotal(
            dollars=self.dollars + (cost.dollars or 0),
            replies=self.replies + 1,
            unpriced_replies=self.unpriced_replies + (cost.dollars is None),
            input_tokens=self.input_tokens + record.input_tokens,
            cached_input_tokens=self.cached_input_tokens + record.cached_input_tokens,
            output_tokens=self.output_tokens + record.output_tokens,
            reasoning_tokens=self.reasoning_tokens + record.reasoning_tokens,
        )


# A record, or the tuple of its fields in order (as rows come from SQLite).
RecordLike = UsageRecord | tuple[Any, ...]


def _as_record(record: RecordLike) -> UsageRecord:
    return record if isinstance(record, UsageRecord) else UsageRecord(*record)


def group_costs(
    records: Iterable[RecordLike], catalog: Catalog, key: Callable[[UsageRecord], K]
) -> dict[K, CostTotal]:
    """Return the cost totals of ``records`` grouped by ``key(record)``, groups in first-seen order."""
    models: dict[tuple[str, str], ModelInfo] = {}
    totals: dict[K, CostTotal] = {}
    for item in records:
        record = _as_record(item)
        model_key = (record.model, record.provider)
        model = models.get(model_key)
        if model is None:
            model = models[model_key] = catalog.lookup(record.model, record.provider)
        group = key(record)
        cost = batch_cost(record, model) if record.batch else reply_cost(record, model)
        totals[group] = totals.get(group, CostTotal()).plus(record, cost)
    return totals


def total_cost(records: Iterable[RecordLike], catalog: Catalog) -> CostTotal:
    """Return the cost total of all ``records`` (one conversation's, or everything)."""
    return group_costs(records, catalog, lambda _record: None).get(None, CostTotal())


def costs_by_conversation(records: Iterable[RecordLike], catalog: Catalog) -> dict[str | None, CostTotal]:
    """Return the cost totals per conversation id."""
    return group_costs(records, catalog, lambda record: record.conversation_id)


def local_day(timestamp: datetime, tz: tzinfo | None = None) -> date:
    """Return the calendar day of ``timestamp`` in ``tz`` (None: this computer's time zone)."""
    aware = timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=UTC)
    return aware.astimezone(tz).date()


def costs_by_day(
    records: Iterable[RecordLike], catalog: Catalog, tz: tzinfo | None = None
) -> dict[date, CostTotal]:
    """Return the cost totals per calendar day in ``tz`` (None: local time), oldest day first."""
    totals = group_costs(records, catalog, lambda record: local_day(record.timestamp, tz))
    return dict(sorted(totals.items()))
