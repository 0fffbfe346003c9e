"""The batch runner against a hand-written stub provider: results, failures, limits, cancel, cache."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from fakes.fake_clock import FakeClock

from desktop_llm.core.prompt_templates import PromptTemplate, VariableSpec
from desktop_llm.providers import (
    ChatRequest,
    ChatResult,
    ProviderError,
    ServerError,
    StreamInterrupted,
    Usage,
)
from desktop_llm.services.batch import BatchProgress, BatchRunner, RowResult
from desktop_llm.services.rate_limit import RateLimiter
from desktop_llm.services.response_cache import MemoryResponseCache

TEMPLATE = PromptTemplate(
    name="Shout",
    system="You shout in {style}.",
    user="Say {word}",
    specs=(VariableSpec("style", default="capitals", trusted=True),),
)


class StubProvider:
    """Answer "echo: <user message>", or raise what ``fail`` returns for a request.

    Requests for which ``hold`` returns True wait until ``release`` is set, so a test can keep
    them in flight. ``in_flight``/``most_in_flight`` count concurrent calls.
    """

    def __init__(
        self,
        fail: Callable[[ChatRequest], ProviderError | None] = lambda request: None,
        *,
        hold: Callable[[ChatRequest], bool] = lambda request: False,
        clock: FakeClock | None = None,
    ) -> None:
        self.fail = fail
        self.hold = hold
        self.clock = clock
        self.release = asyncio.Event()
        self.requests: list[ChatRequest] = []
        self.in_flight = 0
        self.most_in_flight = 0

    @property
    def asked(self) -> list[str]:
        return [request.messages[-1].content for request in self.requests]

    async def complete(self, request: ChatRequest) -> ChatResult:
        self.requests.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)  # a real provider always yields to the loop
            if self.hold(request):
                await self.release.wait()
            if self.clock is not None:
                self.clock.advance(1.0)
            error = self.fail(request)
            if error is not None:
                raise error
            text = request.messages[-1].content
            return ChatResult(f"echo: {text}", Usage(len(text), 2), "stop", f"{request.model}-served")
        finally:
            self.in_flight -= 1


def hold_all(request: ChatRequest) -> bool:
    return True


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until ``condition()`` holds (a bounded number of turns)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never came true")


def rows(count: int) -> list[dict[str, str]]:
    return [{"word": f"w{index}", "id": str(index)} for index in range(count)]


async def test_every_row_gets_its_own_answer_keyed_by_index() -> None:
    provider = StubProvider()
    runner = BatchRunner(provider, TEMPLATE, rows(5), model="m", temperature=0.2, max_tokens=50)
    results = await runner.run()
    assert sorted(results) == [0, 1, 2, 3, 4]
    for index, result in results.items():
        assert result == RowResult(
            index, "done", text=f"echo: Say w{index}", finish_reason="stop", model="m-served",
            usage=Usage(len(f"Say w{index}"), 2), seconds=result.seconds,
        )  # fmt: skip
    request = provider.requests[0]
    assert [(m.role, m.content) for m in request.messages] == [
        ("system", "You shout in capitals."),
        ("user", request.messages[1].content),
    ]
    assert (request.model, request.temperature, request.max_tokens) == ("m", 0.2, 50)
    assert not runner.cancelled and runner.unfinished() == []


async def test_an_empty_system_part_sends_only_the_user_message() -> None:
    provider = StubProvider()
    await BatchRunner(provider, PromptTemplate("T", user="{word}"), [{"word": "x"}], model="m").run()
    assert [message.role for message in provider.requests[0].messages] == ["user"]


async def test_progress_is_reported_at_the_start_and_after_every_row() -> None:
    events: list[BatchProgress] = []
    provider = StubProvider(
        lambda request: ServerError("down") if request.messages[1].content == "Say w1" else None
    )
    await BatchRunner(provider, TEMPLATE, rows(3), model="m", concurrency=1, on_progress=events.append).run()
    assert [(e.done, e.failed, e.total, e.finished) for e in events] == [
        (0, 0, 3, 0),
        (1, 0, 3, 1),
        (1, 1, 3, 2),
        (2, 1, 3, 3),
    ]
    assert events[0].last is None
    assert [e.last.index for e in events[1:] if e.last] == [0, 1, 2]
    assert events[-1].eta_seconds == 0.0


async def test_time_left_comes_from_the_throughput_seen() -> None:
    clock = FakeClock()
    events: list[BatchProgress] = []
    provider = StubProvider(clock=clock)  # every answer takes one second
    runner = BatchRunner(
        provider, TEMPLATE, rows(4), model="m", concurrency=1, clock=clock, on_progress=events.append
    )
    await runner.run()
    assert [e.eta_seconds for e in events] == [None, 3.0, 2.0, 1.0, 0.0]
    assert all(result.seconds == 1.0 for result in runner.results.values())


async def test_no_more_than_the_concurrency_limit_is_in_flight() -> None:
    provider = StubProvider(hold=hold_all)
    runner = BatchRunner(provider, TEMPLATE, rows(10), model="m", concurrency=3)
    task = asyncio.create_task(runner.run())
    await until(lambda: provider.in_flight == 3)
    for _ in range(20):
        await asyncio.sleep(0)
    assert provider.in_flight == 3
    provider.release.set()
    await task
    assert provider.most_in_flight == 3
    assert len(runner.results) == 10


async def test_a_failing_row_is_marked_with_its_reason_and_the_run_goes_on() -> None:
    def fail(request: ChatRequest) -> ProviderError | None:
        text = request.messages[1].content
        if text == "Say w1":
            return ServerError("The provider failed (500). Try again later.", status_code=500)
        if text == "Say w3":
            return StreamInterrupted("The reply ended before it was finished.", partial_text="half an ans")
        return None

    results = await BatchRunner(StubProvider(fail), TEMPLATE, rows(5), model="m").run()
    assert [results[i].status for i in range(5)] == ["done", "failed", "done", "failed", "done"]
    assert results[1].error == "The provider failed (500). Try again later."
    assert (results[3].error, results[3].text) == ("The reply ended before it was finished.", "half an ans")
    assert not results[1].ok and results[0].ok


async def test_a_row_the_template_cannot_render_fails_without_a_request() -> None:
    provider = StubProvider()
    data = [{"word": "a"}, {"wrd": "typo"}, {"word": "c", "style": None}]
    results = await BatchRunner(provider, TEMPLATE, data, model="m").run()
    assert results[1].status == "failed"
    assert results[1].error is not None and results[1].error.startswith(
        "Row 2: No value was given for the variable {word}"
    )
    assert results[2].ok  # None means "not given": the default applies
    assert provider.asked == ["Say a", "Say c"]


async def test_cancel_keeps_finished_rows_and_resume_runs_only_the_rest() -> None:
    provider = StubProvider()
    runner: BatchRunner

    def cancel_after_three(progress: BatchProgress) -> None:
        if progress.finished == 3:
            runner.cancel()

    runner = BatchRunner(
        provider, TEMPLATE, rows(8), model="m", concurrency=2, on_progress=cancel_after_three
    )
    first = await runner.run()
    assert runner.cancelled
    assert len(first) == 3
    assert runner.unfinished() == [i for i in range(8) if i not in first]
    asked_before = len(provider.asked)

    runner.on_progress = None
    second = await runner.run()
    assert not runner.cancelled
    assert sorted(second) == list(range(8))
    resumed = provider.asked[asked_before:]
    assert sorted(resumed) == sorted(f"Say w{i}" for i in range(8) if i not in first)


async def test_cancelling_mid_request_leaves_those_rows_unfinished() -> None:
    provider = StubProvider(hold=hold_all)
    runner = BatchRunner(provider, TEMPLATE, rows(4), model="m", concurrency=2)
    task = asyncio.create_task(runner.run())
    await until(lambda: provider.in_flight == 2)
    runner.cancel()
    assert await task == {}
    assert provider.in_flight == 0  # the requests in flight were abandoned
    assert runner.unfinished() == [0, 1, 2, 3]


async def test_cancelling_the_task_stops_the_run_and_keeps_results() -> None:
    provider = StubProvider(hold=lambda request: request.messages[1].content == "Say w2")
    runner = BatchRunner(provider, TEMPLATE, rows(6), model="m", concurrency=1)
    task = asyncio.create_task(runner.run())
    await until(lambda: provider.in_flight == 1 and provider.asked[-1] == "Say w2")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(runner.results) == [0, 1]
    provider.release.set()
    assert len(await runner.run()) == 6
    assert provider.asked.count("Say w2") == 2


async def test_a_resumed_runner_starts_from_earlier_results() -> None:
    provider = StubProvider()
    earlier = {0: RowResult(0, "done", text="kept"), 2: RowResult(2, "failed", error="boom")}
    runner = BatchRunner(provider, TEMPLATE, rows(3), model="m", results=earlier)
    results = await runner.run()
    assert provider.asked == ["Say w1"]
    assert results[0].text == "kept" and results[2].error == "boom"
    results = await runner.run(retry_failed=True)
    assert provider.asked == ["Say w1", "Say w2"] and results[2].ok


async def test_identical_requests_at_temperature_zero_come_from_the_cache() -> None:
    cache = MemoryResponseCache()
    provider = StubProvider()
    data = [{"word": "a"}, {"word": "b"}, {"word": "a"}]
    first = await BatchRunner(
        provider, TEMPLATE, data, model="m", temperature=0, cache=cache, concurrency=1
    ).run()
    assert provider.asked == ["Say a", "Say b"]
    assert [first[i].cached for i in range(3)] == [False, False, True]
    assert first[2].text == first[0].text and first[2].usage == first[0].usage and first[2].seconds == 0

    again = await BatchRunner(provider, TEMPLATE, data, model="m", temperature=0, cache=cache).run()
    assert len(provider.asked) == 2 and all(result.cached for result in again.values())
    other_provider = await BatchRunner(
        provider, TEMPLATE, data[:1], model="m", temperature=0, cache=cache, cache_scope="other"
    ).run()
    assert not other_provider[0].cached


@pytest.mark.parametrize(
    ("temperature", "use_cache", "cached"),
    [(None, None, False), (0.7, None, False), (0.7, True, True), (0, False, False)],
)
async def test_the_cache_is_on_by_default_only_at_temperature_zero(
    temperature: float | None, use_cache: bool | None, cached: bool
) -> None:
    cache = MemoryResponseCache()
    provider = StubProvider()
    data = [{"word": "a"}]
    for _ in range(2):
        results = await BatchRunner(
            provider, TEMPLATE, data, model="m", temperature=temperature, cache=cache, use_cache=use_cache
        ).run()
    assert results[0].cached is cached
    assert len(provider.asked) == (1 if cached else 2)


async def test_failures_are_not_cached() -> None:
    cache = MemoryResponseCache()
    attempts = iter([ServerError("down"), None])
    provider = StubProvider(lambda request: next(attempts))
    runner = BatchRunner(provider, TEMPLATE, [{"word": "a"}], model="m", temperature=0, cache=cache)
    assert not (await runner.run())[0].ok
    assert (await runner.run(retry_failed=True))[0].ok
    assert len(cache) == 1


async def test_requests_wait_for_the_rate_limiter_but_cache_hits_do_not() -> None:
    clock = FakeClock(start=0.0)
    limiter = RateLimiter(2, 60.0, clock=clock, sleep=clock.sleep)
    cache = MemoryResponseCache(clock=clock)
    provider = StubProvider()
    sent_at: list[float] = []
    original = provider.complete

    async def timed(request: ChatRequest) -> ChatResult:
        sent_at.append(clock())
        return await original(request)

    provider.complete = timed  # type: ignore[method-assign]
    data = [{"word": w} for w in "abcaab"]
    runner = BatchRunner(
        provider, TEMPLATE, data, model="m", temperature=0, concurrency=1, rate_limiter=limiter, cache=cache
    )
    results = await runner.run()
    assert sent_at == [0.0, 0.0, 60.0]  # a, b, then c in the next window; the repeats are cache hits
    assert [results[i].cached for i in range(6)] == [False, False, False, True, True, True]


class BrokenCache:
    async def get(self, key: str) -> None:
        raise OSError("disk full")

    async def put(self, key: str, value: dict) -> None:
        raise AssertionError("not reached")


async def test_an_unexpected_error_stops_the_run_and_is_raised_as_itself() -> None:
    runner = BatchRunner(StubProvider(), TEMPLATE, rows(3), model="m", temperature=0, cache=BrokenCache())
    with pytest.raises(OSError, match="disk full"):
        await runner.run()
    assert len(runner.unfinished()) == 3


async def test_a_runner_refuses_nonsense_and_double_runs() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BatchRunner(StubProvider(), TEMPLATE, rows(1), model="m", concurrency=0)
    provider = StubProvider(hold=hold_all)
    runner = BatchRunner(provider, TEMPLATE, rows(1), model="m")
    task = asyncio.create_task(runner.run())
    await until(lambda: provider.in_flight == 1)
    with pytest.raises(RuntimeError, match="already running"):
        await runner.run()
    provider.release.set()
    await task
    runner.cancel()  # after the run: nothing to stop, no error


async def test_an_empty_batch_finishes_at_once() -> None:
    events: list[BatchProgress] = []
    assert await BatchRunner(StubProvider(), TEMPLATE, [], model="m", on_progress=events.append).run() == {}
    assert events == [BatchProgress(0, 0, 0, 0, 0.0, None)]
