"""Send a template batch to a provider's batch engine, follow it to the end, keep its results.

``RemoteBatchService.submit`` renders every row through the template, answers what it can from
the response cache, writes the rest as request files (split at the provider's limits) and
submits one provider job per file. Everything lives in the database (``storage.remote_batches``)
from the first moment, so the app or the command can be closed at any point and the batch is
picked up again: ``refresh`` asks the provider about each job and, once a job is over, streams
its results into the rows (matched by id), the response cache and the usage counts. ``wait``
polls with backoff (injectable sleep) until the batch is finished; ``cancel`` stops the jobs
and keeps every row that had finished. Rows a job never answered (expired, cancelled, failed)
are failed with the reason. No key is stored or logged: a batch names its provider entry and
the client is built again from it on every call.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import shutil
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_llm.core.catalog import Catalog
from desktop_llm.core.cost import batch_cost
from desktop_llm.core.prompt_templates import PromptTemplate, PromptTemplateError
from desktop_llm.providers import ChatRequest, ChatResult, Message, ProviderError, Usage
from desktop_llm.providers.batch_types import BatchItem, BatchOutcome, RemoteJob
from desktop_llm.services.batch import RowResult
from desktop_llm.services.provider_directory import UnknownProvider
from desktop_llm.services.response_cache import ResponseCache, cached_reply, reply_from_cache, request_key
from desktop_llm.storage import remote_batches as store
from desktop_llm.storage.executor import DatabaseThread
from desktop_llm.storage.remote_batches import RemoteBatchRecord, StoredRow
from desktop_llm.storage.timeutil import new_id, now_timestamp

if TYPE_CHECKING:
    # Types only: the batch clients (and httpx under them) load when a batch is first sent or
    # followed, through the client factory, not when the app starts.
    from desktop_llm.providers.batch_base import BatchClient, Part

__all__ = ["BatchStillSubmitting", "BatchSubmission", "PollPolicy", "RemoteBatchService", "row_result"]

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], Awaitable["BatchClient"]]
_CHUNK = 2000
_UNANSWERED = {
    "expired": "Expired: the provider did not reach this row within 24 hours.",
    "cancelled": "Cancelled before it ran.",
    "ended": "The provider returned no result for this row.",
}


class BatchStillSubmitting(Exception):
    """The batch is still being sent to the provider, so it cannot be cancelled yet."""


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask the provider: ``first`` seconds, growing by ``factor`` up to ``longest``."""

    first: float = 15.0
    factor: float = 1.5
    longest: float = 600.0

    def delay(self, attempt: int) -> float:
        """Return the wait before poll number ``attempt`` (from 0)."""
        return min(self.first * self.factor**attempt, self.longest)


@dataclass(frozen=True)
class BatchSubmission:
    """What to send: a template over rows, to one provider entry and model.

    Args:
        provider_id: the provider entry (a setting id or ``env:<kind>``).
        provider_kind: its kind ("openai", "anthropic", "gemini").
        columns: the input's column names (kept for exports).
        use_cache: answer identical requests from the cache and remember answers; None means only
            at temperature 0, as local runs do.
    """

    provider_id: str
    provider_kind: str
    model: str
    template: PromptTemplate
    rows: Sequence[Mapping[str, str]]
    columns: tuple[str, ...] = ()
    template_id: str | None = None
    template_version: int | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    use_cache: bool | None = None


def custom_id(row: int) -> str:
    """Return the id a row is sent with."""
    return f"row-{row}"


def row_of(identifier: str) -> int | None:
    """Return the row a result id names, or None for an id we never sent."""
    number = identifier.removeprefix("row-")
    return int(number) if identifier.startswith("row-") and number.isdigit() else None


def row_result(row: StoredRow) -> RowResult | None:
    """Return a stored row as the results table's ``RowResult``; None while it is pending."""
    if row.status == "pending":
        return None
    return RowResult(
        row.row,
        "done" if row.status == "done" else "failed",
        text=row.output or "",
        reasoning=row.reasoning or "",
        error=row.error,
        cached=row.cached,
        finish_reason=row.finish_reason,
        model=row.model,
        usage=None if row.usage is None else Usage(*row.usage),
    )


class RemoteBatchService:
    """Submit, follow, cancel and read provider batches; state lives in the database.

    Args:
        db: the database thread.
        client_for: returns the batch client for a provider entry id (built with its key).
        work_dir: where request and result files go while they are needed (one folder per batch).
        cache: the response cache (answers reused and remembered like a local run's).
        catalog: the model catalog, for batch prices.
        poll: how often ``wait`` and ``follow`` ask the provider.
        sleep: awaited between polls (tests pass a fake clock's).
    """

    def __init__(
        self,
        db: DatabaseThread,
        client_for: ClientFactory,
        *,
        work_dir: Path,
        cache: ResponseCache | None = None,
        catalog: Catalog | None = None,
        poll: PollPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._db = db
        self._client_for = client_for
        self.work_dir = work_dir
        self.cache = cache
        self.catalog = catalog
        self.poll = poll or PollPolicy()
        self._sleep = sleep
        # One refresh of a batch at a time: the app-wide poller and an open window both follow
        # a batch, and two fetches of one job would download into, and read, the same files.
        self._refreshing: dict[str, asyncio.Lock] = {}

    # -- reading ---------------------------------------------------------------------------------

    async def get(self, batch_id: str) -> RemoteBatchRecord:
        """Return the stored batch (``StorageError`` when there is none)."""
        return await self._db.call(store.get_batch, batch_id)

    async def list(self, *, active_only: bool = False) -> builtins.list[RemoteBatchRecord]:
        """Return the stored batches, newest first."""
        return await self._db.call(store.list_batches, active_only=active_only)

    async def rows(self, batch_id: str) -> builtins.list[StoredRow]:
        """Return every row of the batch with its result so far, in order."""
        return await self._db.call(lambda db: list(store.iter_rows(db, batch_id)))

    async def cost(self, batch_id: str) -> Decimal | None:
        """Return what the answered rows cost at batch prices; None when the model's are unknown."""
        record = await self.get(batch_id)
        rows = await self.rows(batch_id)
        if self.catalog is None:
            return None
        total = Decimal(0)
        for row in rows:
            if row.usage is None or row.cached:
                continue  # a cached answer cost nothing this time
            info = self.catalog.lookup(row.model or record.model, record.provider_kind)
            dollars = batch_cost(Usage(*row.usage), info).dollars
            if dollars is None:
                return None
            total += dollars
        return total

    # -- submitting ------------------------------------------------------------------------------

    async def submit(self, submission: BatchSubmission) -> RemoteBatchRecord:
        """Store the batch, then submit its rows as one or more provider jobs; return the batch.

        Raises:
            ProviderError: the first job could not be submitted (the batch is stored as failed).
        """
        client = await self._client_for(submission.provider_id)
        batch_id = new_id()
        caching = self.cache is not None and (
            submission.temperature == 0 if submission.use_cache is None else submission.use_cache
        )
        prepared = await asyncio.to_thread(_prepare, submission, caching)
        now = now_timestamp()
        record = RemoteBatchRecord(
            id=batch_id,
            provider_id=submission.provider_id,
            provider_kind=submission.provider_kind,
            model=submission.model,
            template_id=submission.template_id,
            template_version=submission.template_version,
            template_name=submission.template.name,
            columns=submission.columns,
            params={
                "temperature": submission.temperature,
                "max_tokens": submission.max_tokens,
                "cache": caching,
            },
            state="submitting",
            error=None,
            total=len(submission.rows),
            submitted_at=now,
            updated_at=now,
            finished_at=None,
        )
        rows = ((dict(submission.rows[index]), key) for index, (key, _error) in enumerate(prepared))
        await self._db.call(store.insert_batch, record, rows)
        await self._settle_before_sending(batch_id, prepared)
        folder = self._folder(batch_id)
        pending = await self._pending_rows(batch_id)
        parts = await asyncio.to_thread(client.write_parts, _items(submission, pending), folder)
        await self._send_parts(client, batch_id, parts)
        return await self.refresh(batch_id) if not parts else await self.get(batch_id)

    async def _settle_before_sending(self, batch_id: str, prepared: builtins.list[_Prepared]) -> None:
        """Fail rows the template cannot render; answer the rest from the cache where it can."""
        outcomes: builtins.list[store.Outcome] = []
        for row, (key, error) in enumerate(prepared):
            if error is not None:
                outcomes.append((row, "failed", None, None, error, False, None, None, None))
            elif key is not None and self.cache is not None:
                hit = await self.cache.get(key)
                if hit is not None:
                    outcomes.append(_done(row, reply_from_cache(hit), cached=True))
        if outcomes:
            await self._db.call(store.save_outcomes, batch_id, outcomes)

    async def _pending_rows(self, batch_id: str) -> builtins.list[int]:
        return await self._db.call(store.pending_rows, batch_id)

    async def _send_parts(self, client: BatchClient, batch_id: str, parts: builtins.list[Part]) -> None:
        for position, part in enumerate(parts):
            try:
                job = await client.submit_part(part)
            except ProviderError as error:
                log.warning(
                    "Batch %s: job %d of %d was refused: %s", batch_id, position + 1, len(parts), error
                )
                message = f"Not submitted: {error}"
                await self._db.call(store.fail_pending, batch_id, message)
                state = "failed" if position == 0 else "running"
                await self._db.call(store.update_batch, batch_id, state=state, error=str(error))
                if position == 0:
                    raise
                return
            rows = [row for row in map(row_of, part.ids) if row is not None]
            await self._db.call(store.add_job, batch_id, job.id, position, job.state, rows)
            log.info("Batch %s: job %s submitted with %d rows", batch_id, job.id, len(rows))
            await asyncio.to_thread(part.path.unlink, missing_ok=True)
        await self._db.call(store.update_batch, batch_id, state="running")

    # -- following ---------------------------------------------------------------------------------

    async def refresh(self, batch_id: str) -> RemoteBatchRecord:
        """Ask the provider about each unfinished job once; fetch the results of those that are over."""
        async with self._refreshing.setdefault(batch_id, asyncio.Lock()):
            return await self._refresh(batch_id)

    async def _refresh(self, batch_id: str) -> RemoteBatchRecord:
        record = await self.get(batch_id)
        if record.finished:
            return record
        jobs = await self._db.call(store.jobs_of, batch_id)
        if any(not job.fetched for job in jobs):
            client = await self._client_for(record.provider_id)
            for job in jobs:
                if job.fetched:
                    continue
                remote = await client.status(job.job_id)
                if remote.active:
                    counts = (remote.succeeded, remote.failed)
                    await self._db.call(
                        store.update_job, batch_id, job.job_id, state=remote.state, counts=counts
                    )
                else:
                    await self._fetch(client, record, remote)
        return await self._settle(batch_id, record.state)

    async def _settle(self, batch_id: str, state: str) -> RemoteBatchRecord:
        """Finish the batch once every job's results are in."""
        jobs = await self._db.call(store.jobs_of, batch_id)
        if state == "submitting" or any(not job.fetched for job in jobs):
            return await self.get(batch_id)
        states = {job.state for job in jobs}
        if jobs and states == {"failed"}:
            final = "failed"
        elif state == "cancelling" or "cancelled" in states:
            final = "cancelled"
        elif "expired" in states:
            final = "expired"
        else:
            final = "ended"
        await self._db.call(store.update_batch, batch_id, state=final)
        await asyncio.to_thread(shutil.rmtree, self._folder(batch_id), True)
        log.info("Batch %s: %s", batch_id, final)
        return await self.get(batch_id)

    async def _fetch(self, client: BatchClient, record: RemoteBatchRecord, job: RemoteJob) -> None:
        """Read a finished job's results into the rows, the cache and usage; fail what it left unanswered."""
        keys: dict[int, str] = {}
        if record.params.get("cache") and self.cache is not None:
            keys = await self._db.call(store.cache_keys, record.id, job.id)
        chunk: builtins.list[store.Outcome] = []
        async for outcome in client.results(job, self._folder(record.id)):
            row = row_of(outcome.custom_id)
            if row is None:
                log.warning("Batch %s: job %s returned an unknown id; ignored", record.id, job.id)
                continue
            chunk.append(_stored_outcome(row, outcome))
            if outcome.result is not None and row in keys and self.cache is not None:
                await self.cache.put(keys[row], cached_reply(outcome.result))
            if len(chunk) >= _CHUNK:
                await self._db.call(store.save_outcomes, record.id, list(chunk))
                chunk.clear()
        if chunk:
            await self._db.call(store.save_outcomes, record.id, chunk)
        reason = (
            job.error
            if job.state == "failed" and job.error
            else _UNANSWERED.get(job.state, _UNANSWERED["ended"])
        )
        await self._db.call(store.fail_pending, record.id, reason or "The job failed.", job_id=job.id)
        await self._db.call(
            store.update_job, record.id, job.id, state=job.state, error=job.error, fetched=True
        )
        log.info("Batch %s: job %s is %s; results stored", record.id, job.id, job.state)

    async def wait(
        self, batch_id: str, on_progress: Callable[[RemoteBatchRecord], None] | None = None
    ) -> RemoteBatchRecord:
        """Refresh with growing waits until the batch is finished; report each refresh."""
        attempt = 0
        while True:
            record = await self.refresh(batch_id)
            if on_progress is not None:
                on_progress(record)
            if record.finished:
                return record
            await self._sleep(self.poll.delay(attempt))
            attempt += 1

    async def follow_all(self, on_change: Callable[[RemoteBatchRecord], None]) -> None:
        """Poll every unfinished batch until none is left (the app runs this in the background).

        A provider error on one batch is logged and that batch is tried again at the next poll.
        """
        attempt = 0
        while active := await self.list(active_only=True):
            for record in active:
                try:
                    on_change(await self.refresh(record.id))
                except (ProviderError, UnknownProvider) as error:
                    log.warning("Batch %s: could not ask %s: %s", record.id, record.provider_kind, error)
            await self._sleep(self.poll.delay(attempt))
            attempt += 1

    async def cancel(self, batch_id: str) -> RemoteBatchRecord:
        """Cancel every unfinished job; rows already answered keep their results."""
        record = await self.get(batch_id)
        if record.finished:
            return record
        if record.state == "submitting":
            # Its jobs are not all known yet: cancelling now would leave one running unseen.
            raise BatchStillSubmitting(
                "This batch is still being sent to the provider. Cancel it once it is running."
            )
        client = await self._client_for(record.provider_id)
        for job in await self._db.call(store.jobs_of, batch_id):
            if not job.fetched:
                remote = await client.cancel(job.job_id)
                await self._db.call(store.update_job, batch_id, job.job_id, state=remote.state)
        await self._db.call(store.fail_pending, batch_id, _UNANSWERED["cancelled"])  # rows never sent
        await self._db.call(store.update_batch, batch_id, state="cancelling")
        log.info("Batch %s: cancel requested", batch_id)
        return await self.refresh(batch_id)

    async def results(self, batch_id: str) -> dict[int, RowResult]:
        """Return the rows that have a result, by row number (the results table's shape)."""
        rows = await self.rows(batch_id)
        return {row.row: result for row in rows if (result := row_result(row)) is not None}

    def _folder(self, batch_id: str) -> Path:
        folder = self.work_dir / batch_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder


# (cache key or None, error or None): the requests themselves are rendered again as they are
# written out, so a batch of any size never holds them all in memory.
_Prepared = tuple[str | None, str | None]


def _prepare(submission: BatchSubmission, caching: bool) -> list[_Prepared]:
    """Render every row for its cache key or its error; blocking (run it off the event loop)."""
    scope = submission.provider_id
    prepared: list[_Prepared] = []
    for index in range(len(submission.rows)):
        request = _render(submission, index)
        if isinstance(request, str):
            prepared.append((None, request))
        else:
            prepared.append((request_key(scope, request) if caching else None, None))
    return prepared


def _items(submission: BatchSubmission, rows: Iterable[int]) -> Iterator[BatchItem]:
    """Yield the batch item of each row in ``rows`` (rows that cannot render were failed before)."""
    for row in rows:
        request = _render(submission, row)
        if not isinstance(request, str):
            yield BatchItem(custom_id(row), request)


def _render(submission: BatchSubmission, index: int) -> ChatRequest | str:
    """Return row ``index``'s request, or why the template cannot render it."""
    template = submission.template
    values = submission.rows[index]
    try:
        prompt = template.render(
            {name: value for name, value in values.items() if name in template.variables}
        )
    except PromptTemplateError as error:
        return f"Row {index + 1}: {error.message}"
    messages = [Message("system", prompt.system)] if prompt.system else []
    messages.append(Message("user", prompt.user))
    return ChatRequest(submission.model, messages, submission.temperature, submission.max_tokens)


def _done(row: int, reply: ChatResult, *, cached: bool = False) -> store.Outcome:
    usage = reply.usage
    tokens = (
        None
        if usage is None
        else (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.reasoning_tokens)
    )
    return (row, "done", reply.text, reply.reasoning, None, cached, reply.model, reply.finish_reason, tokens)


def _stored_outcome(row: int, outcome: BatchOutcome) -> store.Outcome:
    if outcome.result is not None:
        return _done(row, outcome.result)
    return (
        row,
        "failed",
        None,
        None,
        outcome.error or "The provider gave no reason.",
        False,
        None,
        None,
        None,
    )
