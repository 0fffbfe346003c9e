"""The remote batch service: a real SQLite file, the fake server's batch APIs, an injected clock.

Submit, follow with backoff, results in the rows (matched by id when shuffled), per-row errors,
a restart between submit and finish, cancel keeping what finished, the response cache, cost at
batch prices, splitting, and no key in any stored record or log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fakes.fake_clock import FakeClock
from fakes.provider_server import BatchScript, ProviderServer
from provider_kit import KEY, make_provider

from desktop_llm.core.catalog import load_catalog
from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.providers.base import Provider
from desktop_llm.providers.batch_base import BatchClient
from desktop_llm.providers.batch_types import BatchLimits
from desktop_llm.providers.batches import batch_client
from desktop_llm.services.remote_batches import (
    BatchStillSubmitting,
    BatchSubmission,
    PollPolicy,
    RemoteBatchService,
)
from desktop_llm.services.usage import UsageService
from desktop_llm.storage import remote_batches as store
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.remote_batches import RemoteBatchRecord
from desktop_llm.storage.response_cache import SqliteResponseCache

TEMPLATE = PromptTemplate(
    name="Classify",
    system="You sort support mail.",
    user="{text}",
    specs=(VariableSpec("text"),),
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(api_key=KEY, batch_clock=clock) as running:
        yield running


@pytest.fixture
def db(tmp_path: Path) -> Iterator[DatabaseThread]:
    with DatabaseThread(tmp_path / "desktop-llm.sqlite3") as thread:
        yield thread


class Clients:
    """Build batch clients for entry ids ("env:<kind>") against the fake server; close them after."""

    def __init__(self, server: ProviderServer, limits: BatchLimits | None = None) -> None:
        self.server = server
        self.limits = limits
        self.providers: list[Provider] = []

    async def __call__(self, entry_id: str) -> BatchClient:
        provider = make_provider(self.server, entry_id.removeprefix("env:"))
        self.providers.append(provider)
        return batch_client(provider, limits=self.limits)

    async def aclose(self) -> None:
        for provider in self.providers:
            await provider.aclose()


def service(
    db: DatabaseThread, clients: Clients, clock: FakeClock, tmp_path: Path, **options: object
) -> RemoteBatchService:
    return RemoteBatchService(
        db,
        clients,
        work_dir=tmp_path / "work",
        poll=PollPolicy(first=5, factor=2, longest=40),
        sleep=clock.sleep,
        catalog=load_catalog(),
        **options,  # type: ignore[arg-type]
    )


def submission(kind: str, count: int, **options: object) -> BatchSubmission:
    rows = [{"text": f"mail {index}", "id": str(index)} for index in range(count)]
    return BatchSubmission(
        f"env:{kind}",
        kind,
        "gpt-4o-mini"
        if kind == "openai"
        else "claude-haiku-4-5"
        if kind == "anthropic"
        else "gemini-2.5-flash",
        TEMPLATE,
        rows,
        ("text", "id"),
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_submit_wait_and_every_row_gets_its_own_answer(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    server.batches.script = BatchScript(
        validate_seconds=3,
        run_seconds=60,
        shuffle=True,
        row_errors={"row-3": (400, "row three is malformed")},
    )
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    seen: list[tuple[str, int, int]] = []
    try:
        record = await batches.submit(submission(kind, 12))
        assert record.state == "running" and record.total == 12 and record.pending == 12
        final = await batches.wait(record.id, lambda r: seen.append((r.state, r.done, r.failed)))
    finally:
        await clients.aclose()
    assert final.state == "ended" and (final.done, final.failed) == (11, 1)
    assert clock.sleeps[:4] == [5, 10, 20, 40]  # backoff, capped
    assert seen[-1] == ("ended", 11, 1)
    results = await batches.results(record.id)
    for row in range(12):
        if row == 3:
            assert results[3].status == "failed" and "row three is malformed" in (results[3].error or "")
        else:
            assert results[row].text == f"Echo: mail {row}" and results[row].usage is not None
    assert list((tmp_path / "work").glob("*/*")) == []  # request and result files are gone


async def test_a_new_service_picks_a_batch_up_from_the_database(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    clients = Clients(server)
    try:
        record = await service(db, clients, clock, tmp_path).submit(submission("anthropic", 5))
        clock.advance(120)
        again = service(db, clients, clock, tmp_path)  # as after a restart: nothing in memory
        assert [b.id for b in await again.list(active_only=True)] == [record.id]
        final = await again.wait(record.id)
    finally:
        await clients.aclose()
    assert final.state == "ended" and final.done == 5
    assert await again.list(active_only=True) == []


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_cancel_keeps_what_finished_and_fails_the_rest_with_the_reason(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    server.batches.script = BatchScript(validate_seconds=0, run_seconds=10, cancel_seconds=1)
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    try:
        record = await batches.submit(submission(kind, 10))
        clock.advance(3)
        cancelling = await batches.cancel(record.id)
        assert cancelling.state == "cancelling"
        final = await batches.wait(record.id)
    finally:
        await clients.aclose()
    assert final.state == "cancelled" and (final.done, final.failed) == (3, 7)
    results = await batches.results(record.id)
    assert [results[r].ok for r in range(10)] == [True] * 3 + [False] * 7
    assert all("cancel" in (results[r].error or "").lower() for r in range(3, 10))


@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini"])
async def test_expired_rows_fail_with_the_reason_and_the_batch_says_expired(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    server.batches.script = BatchScript(expire_after=2)
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    try:
        final = await batches.wait((await batches.submit(submission(kind, 4))).id)
    finally:
        await clients.aclose()
    assert (final.done, final.failed) == (2, 2) and final.state == "expired"
    results = await batches.results(final.id)
    assert all("expired" in (results[row].error or "").lower() for row in (2, 3))


async def test_split_over_limits_one_batch_many_jobs(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    clients = Clients(server, BatchLimits(max_requests=3, max_bytes=1_000_000))
    batches = service(db, clients, clock, tmp_path)
    try:
        final = await batches.wait((await batches.submit(submission("gemini", 8))).id)
    finally:
        await clients.aclose()
    assert len(server.batches.jobs) == 3 and final.done == 8


async def test_cached_rows_are_not_sent_and_answers_go_into_the_cache(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    clients = Clients(server)
    cache = SqliteResponseCache(db)
    batches = service(db, clients, clock, tmp_path, cache=cache)
    try:
        first = await batches.wait((await batches.submit(submission("openai", 4, temperature=0))).id)
        second = await batches.submit(submission("openai", 6, temperature=0))
        second = await batches.wait(second.id)
    finally:
        await clients.aclose()
    assert first.done == 4 and second.done == 6
    results = await batches.results(second.id)
    assert [results[r].cached for r in range(6)] == [True] * 4 + [False] * 2
    assert sum(len(job.rows) for job in server.batches.jobs.values()) == 6  # 4 + only the 2 new


async def test_cost_is_counted_at_batch_prices(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    try:
        record = await batches.wait((await batches.submit(submission("openai", 4))).id)
    finally:
        await clients.aclose()
    rows = await batches.rows(record.id)
    tokens_in = sum(row.usage[0] for row in rows if row.usage)  # type: ignore[index]
    tokens_out = sum(row.usage[1] for row in rows if row.usage)  # type: ignore[index]
    # gpt-4o-mini: list 0.15 / 0.60 per million; batch 0.075 / 0.30
    expected = (Decimal(tokens_in) * Decimal("0.075") + Decimal(tokens_out) * Decimal("0.30")) / 1_000_000
    assert await batches.cost(record.id) == expected
    assert expected > 0


async def test_a_refused_first_job_fails_the_batch_with_the_reason(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    server.api_key = "another-key"
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    try:
        with pytest.raises(Exception, match="key"):
            await batches.submit(submission("openai", 3))
    finally:
        await clients.aclose()
    [record] = await batches.list()
    assert record.state == "failed" and record.failed == 3 and "key" in (record.error or "").lower()


async def test_no_key_in_any_stored_batch_record_or_log(
    server: ProviderServer,
    db: DatabaseThread,
    clock: FakeClock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    try:
        record = await batches.submit(submission("anthropic", 3))
        await batches.cancel(record.id)
        await batches.wait(record.id)
        await batches.wait((await batches.submit(submission("gemini", 3))).id)
    finally:
        await clients.aclose()
    stored = await asyncio.to_thread(
        lambda: b"".join(path.read_bytes() for path in tmp_path.glob("desktop-llm.sqlite3*"))
    )
    assert b"Echo: mail 0" in stored  # the results really are in these bytes (file or WAL)
    assert KEY.encode() not in stored
    assert KEY not in caplog.text
    assert "Batch" in caplog.text  # the service did log


async def test_a_finished_batch_counts_in_the_usage_report_at_batch_prices(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    try:
        running = await batches.submit(submission("openai", 3))
        assert (await UsageService(db, load_catalog()).report()).total.replies == 0  # nothing billed yet
        record = await batches.wait(running.id)
    finally:
        await clients.aclose()
    report = await UsageService(db, load_catalog()).report()
    assert report.total.replies == 3
    assert report.total.dollars == await batches.cost(record.id) and report.total.dollars > 0
    [line] = report.lines
    assert (line.provider, line.model) == ("OpenAI", "gpt-4o-mini")


async def test_a_row_the_template_cannot_fill_fails_before_anything_is_sent(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    rows = [{"text": "fine"}, {"other": "no text here"}, {"text": "also fine"}]
    try:
        record = await batches.submit(BatchSubmission("env:openai", "openai", "gpt-4o-mini", TEMPLATE, rows))
        final = await batches.wait(record.id)
    finally:
        await clients.aclose()
    [job] = server.batches.jobs.values()
    assert [custom for custom, _body in job.rows] == ["row-0", "row-2"]
    results = await batches.results(final.id)
    assert (final.done, final.failed) == (2, 1) and "Row 2" in (results[1].error or "")


async def test_a_batch_still_being_sent_cannot_be_cancelled_yet(
    server: ProviderServer, db: DatabaseThread, clock: FakeClock, tmp_path: Path
) -> None:
    clients = Clients(server)
    batches = service(db, clients, clock, tmp_path)
    record = RemoteBatchRecord(
        "b-1",
        "env:openai",
        "openai",
        "gpt-4o-mini",
        None,
        None,
        "Classify",
        ("text",),
        {},
        "submitting",
        None,
        1,
        "2026-12-04T10:00:00.000Z",
        "2026-12-04T10:00:00.000Z",
        None,
    )
    await db.call(store.insert_batch, record, [({"text": "a"}, None)])
    with pytest.raises(BatchStillSubmitting, match="still being sent"):
        await batches.cancel("b-1")
    assert (await batches.get("b-1")).state == "submitting" and server.requests == []
