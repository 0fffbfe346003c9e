"""What replies cost: the usage dashboard's report, each conversation's total, the model catalog file.

Replies are priced from the usage their provider reported (``storage.usage``) with the catalog's
list prices (``core.cost``): cached input at its own price, a model without a known price adds
no dollars and is counted as unpriced. A reply is priced as the host that served it bills it:
the provider setting's preset ("groq") or kind ("openai"); a reply whose provider setting was
deleted has no known host and so no price. Days are calendar days in the local time zone.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path

from desktop_llm.core.catalog import Catalog, CatalogError, load_catalog
from desktop_llm.core.cost import CostTotal, UsageRecord, group_costs, local_day, reply_cost
from desktop_llm.providers.presets import PRESETS
from desktop_llm.services.provider_directory import ENVIRONMENT_PREFIX
from desktop_llm.storage.atomic_write import atomic_text_file
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.timeutil import format_timestamp
from desktop_llm.storage.usage import UsageRow, usage_records

log = logging.getLogger(__name__)

UNKNOWN_HOST = "unknown"  # a deleted provider setting: matches no catalog entry, so no price
PROVIDER_NAMES: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "gemini": "Google Gemini",
    "ollama": "Ollama",
    "openai-compatible": "OpenAI-compatible server",
    **{name: preset.display_name for name, preset in PRESETS.items()},
    UNKNOWN_HOST: "Removed provider",
}
CSV_PRECISION = Decimal("0.000001")  # a millionth of a dollar: finer than any list price per token
CSV_COLUMNS = (
    "day",
    "provider",
    "model",
    "requests",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cost_usd",
    "unpriced_requests",
)


def open_catalog(override: Path) -> tuple[Catalog, str | None]:
    """Return the catalog with the user's ``override`` file merged in, and what went wrong with it.

    A malformed user file must not stop the app: the shipped catalog is used instead and the
    second value is a message for the person (None when all is well). Blocking: reads files.
    """
    try:
        return load_catalog(override), None
    except CatalogError as error:
        log.warning("the model catalog %s cannot be used: %s", override, error)
        message = f"Your model catalog cannot be used, so the built-in prices and limits apply. {error}"
        return load_catalog(), message


def billing_host(row: UsageRow) -> str:
    """Return who bills ``row``'s reply, as the catalog names hosts ("openai", "groq", ...)."""
    if row.provider_id and row.provider_id.startswith(ENVIRONMENT_PREFIX):
        return row.provider_id.removeprefix(ENVIRONMENT_PREFIX)
    if row.provider_kind is None:
        return UNKNOWN_HOST
    return row.provider_preset or row.provider_kind


def provider_name(host: str) -> str:
    """Return how people call a host ("groq" -> "Groq")."""
    return PROVIDER_NAMES.get(host, host)


def usage_record(row: UsageRow) -> UsageRecord:
    """Return ``row`` as ``core.cost`` prices it (the provider is the billing host)."""
    return UsageRecord(
        timestamp=datetime.fromisoformat(row.created_at),
        provider=billing_host(row),
        model=row.model,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cached_input_tokens=row.cached_input_tokens,
        reasoning_tokens=row.reasoning_tokens,
        conversation_id=row.conversation_id,
        batch=row.batch,
    )


def priced_dollars(total: CostTotal) -> Decimal | None:
    """Return ``total``'s dollars, or None when none of its replies had a known price."""
    return None if total.replies == total.unpriced_replies else total.dollars


def dollars_text(amount: Decimal | None) -> str:
    """Return an amount for people: "$12.34", "$0.0021", "<$0.0001"; "" when unknown."""
    if amount is None:
        return ""
    if amount == 0:
        return "$0.00"
    if amount < Decimal("0.0001"):
        return "<$0.0001"
    if amount < 1:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def tokens_text(total: CostTotal) -> str:
    """Return a total's tokens for people: "1,204 in (1,000 cached) · 310 out"."""
    cached = f" ({total.cached_input_tokens:,} cached)" if total.cached_input_tokens else ""
    return f"{total.input_tokens:,} in{cached} · {total.output_tokens:,} out"


def reply_note(total: CostTotal) -> str:
    """Return the discreet line under a reply: its tokens and, when priced, its cost."""
    cost = dollars_text(priced_dollars(total))
    return f"{tokens_text(total)} tokens" + (f" · {cost}" if cost else "")


@dataclass(frozen=True)
class UsageLine:
    """One row of the dashboard: a day's replies from one model at one provider."""

    day: date
    provider: str
    model: str
    total: CostTotal

    @property
    def dollars(self) -> Decimal | None:
        """Return the line's cost, or None when no reply in it had a known price."""
        return priced_dollars(self.total)


@dataclass(frozen=True)
class UsageReport:
    """Usage over a range of days.

    Attributes:
        lines: newest day first, then by provider and model.
        days: every day of the range, oldest first, empty ones included (the chart's x axis).
        total: everything in the range.
        as_of: when the catalog's prices were checked.
    """

    lines: tuple[UsageLine, ...]
    days: tuple[date, ...]
    total: CostTotal
    as_of: str


@dataclass(frozen=True)
class ConversationCosts:
    """What one conversation's replies cost, every branch included."""

    replies: dict[str, CostTotal]  # message id -> that reply alone
    total: CostTotal
    as_of: str


def usage_csv(report: UsageReport) -> str:
    """Return the report's lines as CSV (costs as plain decimal dollars, empty when unknown)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in report.lines:
        total = line.total
        dollars = line.dollars
        writer.writerow(
            (
                line.day.isoformat(),
                line.provider,
                line.model,
                total.replies,
                total.input_tokens,
                total.cached_input_tokens,
                total.output_tokens,
                total.reasoning_tokens,
                "" if dollars is None else f"{dollars.quantize(CSV_PRECISION).normalize():f}",
                total.unpriced_replies,
            )
        )
    return out.getvalue()


def _write_text(path: Path, text: str) -> None:
    with atomic_text_file(path) as out:
        out.write(text)


class UsageService:
    """Price the replies stored in the database.

    Args:
        db: the database thread.
        catalog: list prices by model and host.
        tz: the time zone that decides which day a reply belongs to (None: this computer's).
        clock: the current time (injectable for tests).
    """

    def __init__(
        self,
        db: DatabaseThread,
        catalog: Catalog,
        *,
        tz: tzinfo | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self.catalog = catalog
        self._tz = tz
        self._clock = clock

    def today(self) -> date:
        """Return today's date in the service's time zone."""
        return local_day(self._clock(), self._tz)

    def _since(self, days: int | None) -> str | None:
        """Return the stored timestamp of the first moment of the range's first day."""
        if days is None:
            return None
        first = self.today() - timedelta(days=days - 1)
        midnight = datetime.combine(first, time(), tzinfo=self._tz)
        if self._tz is None:
            midnight = midnight.astimezone()  # naive local midnight -> aware, this computer's zone
        return format_timestamp(midnight)

    async def report(self, days: int | None = None) -> UsageReport:
        """Return the usage of the last ``days`` calendar days, today included (None: all time)."""
        if days is not None and days < 1:
            raise ValueError("days must be at least 1, or None for all time.")
        rows = await self._db.call(usage_records, self._since(days))
        return self.build_report(rows, days)

    def build_report(self, rows: Sequence[UsageRow], days: int | None = None) -> UsageReport:
        """Group ``rows`` by day, provider and model and price them (pure; ``report`` reads them)."""
        records = [usage_record(row) for row in rows]
        groups = group_costs(
            records,
            self.catalog,
            lambda record: (
                local_day(record.timestamp, self._tz),
                provider_name(record.provider),
                record.model,
            ),
        )
        lines = sorted(
            (UsageLine(day, provider, model, total) for (day, provider, model), total in groups.items()),
            key=lambda line: (-line.day.toordinal(), line.provider.casefold(), line.model.casefold()),
        )
        today = self.today()
        if days is not None:
            first = today - timedelta(days=days - 1)
        elif lines:
            first = min(lines[-1].day, today)
        else:
            first = today
        last = max(today, lines[0].day) if lines else today
        span = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
        return UsageReport(tuple(lines), span, _sum(groups.values()), self.catalog.as_of)

    async def conversation_costs(self, conversation_id: str) -> ConversationCosts:
        """Return what each reply of a conversation cost and the conversation's total."""
        rows = await self._db.call(usage_records, conversation_id=conversation_id)
        return self.price_replies(rows)

    def price_replies(self, rows: Iterable[UsageRow]) -> ConversationCosts:
        """Price each row as one reply (pure; ``conversation_costs`` reads them)."""
        replies = {}
        for row in rows:
            record = usage_record(row)
            cost = reply_cost(record, self.catalog.lookup(record.model, record.provider))
            replies[row.message_id] = CostTotal().plus(record, cost)
        return ConversationCosts(replies, _sum(replies.values()), self.catalog.as_of)

    async def export_csv(self, report: UsageReport, path: Path) -> None:
        """Write the report's lines to ``path`` as CSV, all at once or not at all (off this thread).

        Raises:
            StorageError: the file cannot be written (the message says why).
        """
        await asyncio.to_thread(_write_text, path, usage_csv(report))


def _sum(totals: Iterable[CostTotal]) -> CostTotal:
    result = CostTotal()
    for total in totals:
        result = CostTotal(
            dollars=result.dollars + total.dollars,
            replies=result.replies + total.replies,
            unpriced_replies=result.unpriced_replies + total.unpriced_replies,
            input_tokens=result.input_tokens + total.input_tokens,
            cached_input_tokens=result.cached_input_tokens + total.cached_input_tokens,
            output_tokens=result.output_tokens + total.output_tokens,
            reasoning_tokens=result.reasoning_tokens + total.reasoning_tokens,
        )
    return result
