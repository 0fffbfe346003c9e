"""Run rows of variable values through a prompt template against a provider, many at a time.

``BatchRunner`` sends one request per row, at most ``concurrency`` at once and, with a
``RateLimiter``, at most N per window. A row that fails (after the provider's own retries) is
marked failed with the error's message and the run goes on. Progress is reported after every row
with an estimate of the time left from the throughput seen so far. ``cancel()`` stops the run;
finished rows are kept (``results``, keyed by row index) and ``run()`` again resumes with only the
unfinished ones. Identical requests can be answered from a ``ResponseCache`` (on by default only
at temperature 0, where the same request should give the same answer); such rows are marked
``cached``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

from desktop_llm.core.prompt_templates import PromptTemplate, PromptTemplateError
from desktop_llm.providers import ChatRequest, ChatResult, Message, ProviderError, StreamInterrupted, Usage
from desktop_llm.services.rate_limit import RateLimiter
from desktop_llm.services.response_cache import ResponseCache, cached_reply, reply_from_cache, request_key

__all__ = ["BatchProgress", "BatchRunner", "ChatProvider", "RowResult"]


class ChatProvider(Protocol):
    """What the runner needs of a provider (every ``desktop_llm.providers`` provider has it)."""

    async def complete(self, request: ChatRequest) -> ChatResult:
        """Return the whole reply to ``request``, or raise ``ProviderError``."""
        ...


@dataclass(frozen=True)
class RowResult:
    """How one row ended.

    Args:
        index: the row's position in the input, from 0.
        status: "done" or "failed".
        text: the reply (for a failed row, any text received before the failure).
        reasoning: the model's thinking, where the provider sends it.
        error: why the row failed, in words a person can act on; None when done.
        cached: the answer came from the response cache, not the provider.
        finish_reason: why the reply ended ("stop", "length", ...), when done.
        model: the model that answered, as the server reported it.
        usage: the request's token counts, if reported.
        seconds: how long the request took (0 for cached answers and rows never sent).
    """

    index: int
    status: Literal["done", "failed"]
    text: str = ""
    reasoning: str = ""
    error: str | None = None
    cached: bool = False
    finish_reason: str | None = None
    model: str | None = None
    usage: Usage | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Return whether the row got an answer."""
        return self.status == "done"


@dataclass(frozen=True)
class BatchProgress:
    """Where a run stands, as reported after every row.

    Args:
        done: rows answered (cached ones included).
        failed: rows that failed.
        total: rows in the input.
        cached: rows answered from the cache.
        eta_seconds: the estimated time left at the throughput seen in this run; None until a
            row has finished.
        last: the row that just finished, or None for the report at the start of a run.
    """

    done: int
    failed: int
    total: int
    cached: int
    eta_seconds: float | None
    last: RowResult | None = None

    @property
    def finished(self) -> int:
        """Return how many rows are done or failed."""
        return self.done + self.failed


class BatchRunner:
    """Run every row through the template against the provider; resumable after ``cancel()``.

    Args:
        provider: where requests go.
        template: the prompt; each row supplies its variables (columns it does not use are ignored,
            so an input may carry ids or notes along).
        rows: the variable values, one mapping per row.
        model: the model to ask.
        temperature: sent with every request (None: the provider's default).
        max_tokens: sent with every request (None: the provider's default).
        concurrency: the most requests in flight at once.
        rate_limiter: if given, every request to the provider waits for it (cache hits do not).
        cache: where identical requests are remembered.
        use_cache: whether to use ``cache``; None means only when ``temperature`` is 0.
        cache_scope: tells providers apart in cache keys (the app passes the provider setting's id).
        results: rows finished in an earlier run, to resume it.
        on_progress: called with a ``BatchProgress`` at the start and after every row.
        clock: monotonic seconds, for durations and the time-left estimate.
    """

    def __init__(
        self,
        provider: ChatProvider,
        template: PromptTemplate,
        rows: Sequence[Mapping[str, object]],
        *,
        model: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        concurrency: int = 4,
        rate_limiter: RateLimiter | None = None,
        cache: ResponseCache | None = None,
        use_cache: bool | None = None,
        cache_scope: str = "",
        results: Mapping[int, RowResult] | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"Concurrency must be at least 1, not {concurrency}.")
        self.provider = provider
        self.template = template
        self.rows = rows
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.concurrency = concurrency
        self.rate_limiter = rate_limiter
        self.cache = cache
        self.caching = cache is not None and (temperature == 0 if use_cache is None else use_cache)
        self.cache_scope = cache_scope
        self._results: dict[int, RowResult] = dict(results or {})
        self.on_progress = on_progress
        self._clock = clock
        self._variables = frozenset(template.variables)
        self._workers: list[asyncio.Task[None]] = []
        self._running = False
        self._cancelled = False
        self._run_started = 0.0
        self._finished_in_run = 0
        self._tally = _Tally.of(self._results.values())

    # -- state ------------------------------------------------------------------------------

    @property
    def results(self) -> Mapping[int, RowResult]:
        """Return the finished rows by index (a read-only view, kept up to date)."""
        return MappingProxyType(self._results)

    @property
    def cancelled(self) -> bool:
        """Return whether the last run was stopped by ``cancel()`` before every row finished."""
        return self._cancelled

    def unfinished(self) -> list[int]:
        """Return the indexes of the rows that have no result yet, in order."""
        return [index for index in range(len(self.rows)) if index not in self._results]

    def progress(self, last: RowResult | None = None) -> BatchProgress:
        """Return where the run stands now."""
        tally = self._tally
        finished = tally.done + tally.failed
        return BatchProgress(
            tally.done, tally.failed, len(self.rows), tally.cached, self._eta(finished), last
        )

    def _eta(self, finished: int) -> float | None:
        left = len(self.rows) - finished
        if left == 0:
            return 0.0
        elapsed = self._clock() - self._run_started
        if self._finished_in_run == 0 or elapsed <= 0:
            return None
        return left * elapsed / self._finished_in_run

    # -- running ----------------------------------------------------------------------------

    async def run(self, *, retry_failed: bool = False) -> dict[int, RowResult]:
        """Run the rows that have no result yet (and failed ones, if asked); return all results.

        Returns early, keeping what finished, when ``cancel()`` is called; call ``run`` again to
        resume. Cancelling the task that awaits ``run`` stops it the same way and re-raises.
        An unexpected error (a broken cache, a bug) stops the run and is raised; finished rows
        are kept.
        """
        if self._running:
            raise RuntimeError("This batch is already running.")
        if retry_failed:
            self._results = {index: result for index, result in self._results.items() if result.ok}
            self._tally = _Tally.of(self._results.values())
        queue = deque(self.unfinished())
        self._running, self._cancelled = True, False
        self._run_started, self._finished_in_run = self._clock(), 0
        self._report(None)
        try:
            async with asyncio.TaskGroup() as group:
                self._workers = [
                    group.create_task(self._work(queue)) for _ in range(min(self.concurrency, len(queue)))
                ]
        except BaseExceptionGroup as failure:
            # Row failures are results, so only a bug or a broken cache gets here; the rows
            # finished so far are kept for a resume.
            raise failure.exceptions[0] from failure
        finally:
            self._workers = []
            self._running = False
        return dict(self._results)

    def cancel(self) -> None:
        """Stop the run: requests in flight are abandoned and their rows stay unfinished."""
        if not self._running:
            return
        self._cancelled = True
        for worker in self._workers:
            worker.cancel()  # a TaskGroup takes a cancelled child as a normal end

    async def _work(self, queue: deque[int]) -> None:
        while queue and not self._cancelled:
            index = queue.popleft()
            result = await self._run_row(index)
            self._results[index] = result
            self._tally.add(result)
            self._finished_in_run += 1
            self._report(result)

    def _report(self, last: RowResult | None) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress(last))

    async def _run_row(self, index: int) -> RowResult:
        """Return the result of one row; provider and template errors fail the row, not the run."""
        values = {name: value for name, value in self.rows[index].items() if name in self._variables}
        try:
            prompt = self.template.render(values)
        except PromptTemplateError as error:
            return RowResult(index, "failed", error=f"Row {index + 1}: {error.message}")
        messages = [Message("system", prompt.system)] if prompt.system else []
        messages.append(Message("user", prompt.user))
        request = ChatRequest(self.model, messages, self.temperature, self.max_tokens)
        key = request_key(self.cache_scope, request) if self.caching else None
        if key is not None and self.cache is not None:
            hit = await self.cache.get(key)
            if hit is not None:
                return _row(index, reply_from_cache(hit), cached=True)
        if self.rate_limiter is not None:
            await self.rate_limiter.acquire()
        started = self._clock()
        try:
            reply = await self.provider.complete(request)
        except ProviderError as error:
            partial = error.partial_text if isinstance(error, StreamInterrupted) else ""
            return RowResult(index, "failed", text=partial, error=str(error), seconds=self._clock() - started)
        if key is not None and self.cache is not None:
            await self.cache.put(key, cached_reply(reply))
        return _row(index, reply, seconds=self._clock() - started)


@dataclass
class _Tally:
    """Running counts of finished rows, so a progress report costs the same at row 10 or 100,000."""

    done: int = 0
    failed: int = 0
    cached: int = 0

    @classmethod
    def of(cls, results: Iterable[RowResult]) -> _Tally:
        tally = cls()
        for result in results:
            tally.add(result)
        return tally

    def add(self, result: RowResult) -> None:
        if result.ok:
            self.done += 1
            self.cached += result.cached
        else:
            self.failed += 1


def _row(index: int, reply: ChatResult, *, cached: bool = False, seconds: float = 0.0) -> RowResult:
    return RowResult(
        index,
        "done",
        text=reply.text,
        reasoning=reply.reasoning,
        cached=cached,
        finish_reason=reply.finish_reason,
        model=reply.model,
        usage=reply.usage,
        seconds=seconds,
    )
