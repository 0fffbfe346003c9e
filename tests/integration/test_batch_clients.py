"""The three provider batch clients against the fake server's batch APIs, on an injected clock.

Each provider's whole life cycle (submit, poll while counts grow, read results), results shuffled
and matched by id, per-row errors, expiry, cancel keeping what finished, splitting over limits,
and Gemini's uploaded file past the inline limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.fake_clock import FakeClock
from fakes.provider_server import BatchScript, ProviderServer
from provider_kit import KEY, make_provider

from desktop_llm.providers import ChatRequest, Message
from desktop_llm.providers.base import Provider
from desktop_llm.providers.batch_base import BatchClient
from desktop_llm.providers.batch_types import BatchItem, BatchLimits, BatchOutcome, RemoteJob
from desktop_llm.providers.batches import batch_client, supports_batches

KINDS = ("openai", "anthropic", "gemini")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> Iterator[ProviderServer]:
    with ProviderServer(api_key=KEY, batch_clock=clock) as running:
        yield running


def items(count: int, model: str = "model-a") -> list[BatchItem]:
    return [
        BatchItem(
            f"row-{index}",
            ChatRequest(model, [Message("system", "Be brief."), Message("user", f"text {index}")]),
        )
        for index in range(count)
    ]


async def outcomes(client: BatchClient, jobs: list[RemoteJob], folder: Path) -> dict[str, BatchOutcome]:
    found: dict[str, BatchOutcome] = {}
    for job in jobs:
        async for outcome in client.results(await client.status(job.id), folder):
            assert outcome.custom_id not in found
            found[outcome.custom_id] = outcome
    return found


def client_for(server: ProviderServer, kind: str, **options: object) -> tuple[Provider, BatchClient]:
    provider = make_provider(server, kind)
    return provider, batch_client(provider, **options)


@pytest.mark.parametrize("kind", KINDS)
async def test_whole_life_cycle_with_shuffled_results_matched_by_id(
    server: ProviderServer, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    server.batches.script = BatchScript(validate_seconds=5, run_seconds=100, shuffle=True)
    provider, client = client_for(server, kind)
    async with provider:
        jobs = await client.submit(items(20), tmp_path)
        assert len(jobs) == 1 and jobs[0].state == "running"
        clock.advance(55)  # half-way through the run
        halfway = await client.status(jobs[0].id)
        assert halfway.state == "running" and halfway.succeeded == 10
        clock.advance(100)
        ended = await client.status(jobs[0].id)
        assert ended.state == "ended" and ended.succeeded == 20 and ended.failed == 0
        found = await outcomes(client, [ended], tmp_path)
    assert sorted(found) == sorted(f"row-{index}" for index in range(20))
    for index in range(20):
        result = found[f"row-{index}"].result
        assert result is not None and result.text == f"Echo: text {index}"
        assert result.usage is not None and result.usage.output_tokens == 3
    order = next(iter(server.batches.jobs.values()))
    assert [row[0] for row in order.outcomes(clock())] != [f"row-{i}" for i in range(20)]  # really shuffled


@pytest.mark.parametrize("kind", KINDS)
async def test_a_row_the_provider_refuses_carries_its_reason(
    server: ProviderServer, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    server.batches.script = BatchScript(row_errors={"row-2": (400, "max_tokens is too large for row two")})
    provider, client = client_for(server, kind)
    async with provider:
        jobs = await client.submit(items(4), tmp_path)
        clock.advance(20)
        found = await outcomes(client, jobs, tmp_path)
    assert [found[f"row-{i}"].ok for i in range(4)] == [True, True, False, True]
    error = found["row-2"].error
    assert error is not None and "max_tokens is too large for row two" in error


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_an_expired_job_keeps_what_finished_and_says_why_for_the_rest(
    server: ProviderServer, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    server.batches.script = BatchScript(expire_after=3)
    provider, client = client_for(server, kind)
    async with provider:
        jobs = await client.submit(items(5), tmp_path)
        clock.advance(20)
        job = await client.status(jobs[0].id)
        found = await outcomes(client, jobs, tmp_path)
    assert job.state in ("expired", "ended")
    assert [found[f"row-{i}"].ok for i in range(5)] == [True, True, True, False, False]
    assert "expired" in (found["row-4"].error or "").lower()


@pytest.mark.parametrize("kind", KINDS)
async def test_cancel_keeps_the_rows_that_finished(
    server: ProviderServer, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    server.batches.script = BatchScript(validate_seconds=0, run_seconds=10, cancel_seconds=2)
    provider, client = client_for(server, kind)
    async with provider:
        jobs = await client.submit(items(10), tmp_path)
        clock.advance(4)
        cancelling = await client.cancel(jobs[0].id)
        assert cancelling.state in ("cancelling", "running")
        clock.advance(3)
        cancelled = await client.status(jobs[0].id)
        assert cancelled.state == "cancelled"
        found = await outcomes(client, jobs, tmp_path)
    answered = sorted(cid for cid, outcome in found.items() if outcome.ok)
    assert answered == [f"row-{i}" for i in range(4)]
    assert all("cancel" in (o.error or "").lower() for o in found.values() if not o.ok)


@pytest.mark.parametrize("kind", KINDS)
async def test_inputs_over_the_limits_are_split_into_several_jobs(
    server: ProviderServer, clock: FakeClock, tmp_path: Path, kind: str
) -> None:
    provider, client = client_for(server, kind, limits=BatchLimits(max_requests=4, max_bytes=1_000_000))
    async with provider:
        jobs = await client.submit(items(10), tmp_path)
        assert len(jobs) == 3
        clock.advance(20)
        found = await outcomes(client, jobs, tmp_path)
        sized = batch_client(provider, limits=BatchLimits(max_requests=1000, max_bytes=900))
        (tmp_path / "by-size").mkdir()
        parts = sized.write_parts(items(10), tmp_path / "by-size")
    assert len(found) == 10 and all(o.ok for o in found.values())
    assert sorted(len(job.rows) for job in server.batches.jobs.values()) == [2, 4, 4]
    assert len(parts) > 1 and all(part.size <= 900 for part in parts)
    assert [cid for part in parts for cid in part.ids] == [f"row-{i}" for i in range(10)]


async def test_gemini_uploads_a_file_past_the_inline_limit(
    server: ProviderServer, clock: FakeClock, tmp_path: Path
) -> None:
    provider, client = client_for(server, "gemini", inline_max_bytes=100)
    async with provider:
        jobs = await client.submit(items(6), tmp_path)
        clock.advance(20)
        found = await outcomes(client, jobs, tmp_path)
    assert any(r.path.startswith("/upload/v1beta/files") for r in server.requests)
    assert any(r.path.endswith(":download") for r in server.requests)
    assert [found[f"row-{i}"].result.text for i in range(6)] == [f"Echo: text {i}" for i in range(6)]  # type: ignore[union-attr]


async def test_a_job_the_provider_refuses_says_why(server: ProviderServer, tmp_path: Path) -> None:
    server.batches.script = BatchScript(fail_job="The model model-a does not support batches.")
    provider, client = client_for(server, "openai")
    async with provider:
        jobs = await client.submit(items(2), tmp_path)
    assert jobs[0].state == "failed" and "does not support batches" in (jobs[0].error or "")


async def test_a_row_too_large_for_any_batch_is_named(server: ProviderServer, tmp_path: Path) -> None:
    provider, client = client_for(server, "anthropic", limits=BatchLimits(max_requests=10, max_bytes=120))
    async with provider:
        with pytest.raises(Exception, match="row-0 alone is larger"):
            await client.submit(items(1), tmp_path)


def test_only_openai_anthropic_and_gemini_have_batch_engines() -> None:
    assert [
        kind
        for kind in ("openai", "anthropic", "gemini", "ollama", "openai-compatible")
        if supports_batches(kind)
    ] == list(KINDS)
