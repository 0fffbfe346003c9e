"""Retries and the circuit breaker: counts, the waits handed to ``sleep``, and when not to retry."""

from __future__ import annotations

import email.utils
import time

import pytest
from fakes.provider_server import ProviderServer, Reply
from provider_kit import (
    SleepRecorder,
    chat,
    closed_port,
    collect,
    make_provider,
    server_fixture,  # noqa: F401  (the ``server`` fixture)
    text_of,
)

from desktop_llm.providers import (
    AuthenticationError,
    CircuitOpenError,
    ConnectionFailed,
    Finish,
    InvalidRequestError,
    ProviderTimeout,
    ServerError,
    StreamInterrupted,
)
from desktop_llm.providers.circuit import CircuitBreaker


async def _stream_after(server: ProviderServer, *failures: Reply, kind: str = "openai", **options: object):
    """Push ``failures`` then a good reply; return (events, waits)."""
    server.push(*failures, Reply(text="Recovered."))
    sleep = SleepRecorder()
    async with make_provider(server, kind, sleep=sleep, **options) as provider:  # type: ignore[arg-type]
        events = await collect(provider)
    return events, sleep.waits


async def test_retry_after_ms_is_waited(server: ProviderServer) -> None:
    events, waits = await _stream_after(server, Reply(status=429, headers={"retry-after-ms": "1500"}))
    assert text_of(events) == "Recovered."
    assert waits == [1.5]
    assert len(server.chat_requests) == 2


async def test_retry_after_seconds_is_waited(server: ProviderServer) -> None:
    _events, waits = await _stream_after(server, Reply(status=503, headers={"retry-after": "2"}))
    assert waits == [2.0]


async def test_retry_after_http_date_is_waited(server: ProviderServer) -> None:
    date = email.utils.formatdate(time.time() + 10, usegmt=True)
    _events, waits = await _stream_after(server, Reply(status=429, headers={"retry-after": date}))
    assert len(waits) == 1
    assert 8.0 < waits[0] <= 10.0  # whole seconds in the date, measured a moment later


async def test_retry_after_longer_than_max_delay_falls_back_to_backoff(server: ProviderServer) -> None:
    _events, waits = await _stream_after(server, Reply(status=429, headers={"retry-after": "120"}))
    assert len(waits) == 1
    assert 0.375 <= waits[0] <= 0.5  # base_delay 0.5 with up to 25 % jitter


async def test_backoff_grows_and_is_capped(server: ProviderServer) -> None:
    failures = [Reply(status=500) for _ in range(5)]
    _events, waits = await _stream_after(server, *failures, max_retries=5, max_delay=1.5)
    assert len(waits) == 5
    steps = [0.5, 1.0, 1.5, 1.5, 1.5]  # 0.5 * 2**n, capped at 1.5
    for wait, step in zip(waits, steps, strict=True):
        assert 0.75 * step <= wait <= step


async def test_x_should_retry_false_overrides_a_retryable_status(server: ProviderServer) -> None:
    server.push(Reply(status=500, headers={"x-should-retry": "false"}))
    sleep = SleepRecorder()
    async with make_provider(server, "openai", sleep=sleep) as provider:
        with pytest.raises(ServerError) as caught:
            await collect(provider)
    assert not caught.value.retryable
    assert sleep.waits == []
    assert len(server.chat_requests) == 1


async def test_x_should_retry_true_overrides_a_client_error(server: ProviderServer) -> None:
    events, waits = await _stream_after(server, Reply(status=400, headers={"x-should-retry": "true"}))
    assert text_of(events) == "Recovered."
    assert len(waits) == 1


async def test_retries_stop_after_max_retries(server: ProviderServer) -> None:
    server.push(*(Reply(status=502) for _ in range(5)))
    sleep = SleepRecorder()
    async with make_provider(server, "anthropic", sleep=sleep, max_retries=2) as provider:
        with pytest.raises(ServerError):
            await collect(provider)
    assert len(sleep.waits) == 2
    assert len(server.chat_requests) == 3


async def test_client_errors_are_not_retried(server: ProviderServer) -> None:
    server.push(Reply(status=400))
    sleep = SleepRecorder()
    async with make_provider(server, "gemini", sleep=sleep) as provider:
        with pytest.raises(InvalidRequestError):
            await collect(provider)
    assert sleep.waits == []


@pytest.mark.parametrize(
    "failure",
    [
        Reply(status=408),
        Reply(status=409),
        Reply(drop_after=0),
        Reply(error_event_after=0),
    ],
    ids=["408", "409", "dropped-before-output", "error-event-before-output"],
)
@pytest.mark.parametrize("kind", ["openai", "anthropic", "gemini", "ollama"])
async def test_transient_failures_before_output_are_retried(
    server: ProviderServer, kind: str, failure: Reply
) -> None:
    events, waits = await _stream_after(server, failure, kind=kind)
    assert text_of(events) == "Recovered."
    assert events[-1] == Finish("stop")
    assert len(waits) == 1


async def test_read_timeout_before_output_is_retried(server: ProviderServer) -> None:
    events, waits = await _stream_after(server, Reply(silence_before=1.5), read_timeout=0.3)
    assert text_of(events) == "Recovered."
    assert len(waits) == 1


async def test_refused_connections_are_retried_then_reported(server: ProviderServer) -> None:
    sleep = SleepRecorder()
    base = f"http://127.0.0.1:{closed_port()}"
    async with make_provider(server, "ollama", sleep=sleep, max_retries=2, base_url=base) as provider:
        with pytest.raises(ConnectionFailed):
            await collect(provider)
    assert len(sleep.waits) == 2


async def test_no_retry_once_output_started(server: ProviderServer) -> None:
    server.push(Reply(text="one two three", drop_after=2), Reply(text="never sent"))
    sleep = SleepRecorder()
    async with make_provider(server, "openai", sleep=sleep) as provider:
        with pytest.raises(StreamInterrupted) as caught:
            await collect(provider)
    assert caught.value.partial_text == "one two"
    assert sleep.waits == []
    assert len(server.chat_requests) == 1


async def test_complete_and_list_models_retry_too(server: ProviderServer) -> None:
    server.push(Reply(status=503), Reply(text="Done."))
    sleep = SleepRecorder()
    async with make_provider(server, "openai", sleep=sleep) as provider:
        result = await provider.complete(chat())
        server.api_key = "another-key"  # the listing now fails with 401: not retried
        with pytest.raises(AuthenticationError):
            await provider.list_models()
    assert result.text == "Done."
    assert len(sleep.waits) == 1


# -- circuit breaker ------------------------------------------------------------------------


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_circuit_opens_after_five_failed_calls_and_half_opens_later(server: ProviderServer) -> None:
    clock = Clock()
    circuit = CircuitBreaker(clock=clock, name="OpenAI")
    server.push(*(Reply(status=500) for _ in range(5)))
    async with make_provider(server, "openai", max_retries=0, circuit=circuit) as provider:
        for _ in range(5):
            with pytest.raises(ServerError):
                await collect(provider)
        with pytest.raises(CircuitOpenError) as caught:
            await collect(provider)
        assert "30 s" in str(caught.value)
        assert not caught.value.retryable
        assert len(server.chat_requests) == 5  # the refused call never reached the server

        clock.now += 30.0
        server.push(Reply(status=500))
        with pytest.raises(ServerError):  # the half-open trial fails: open again
            await collect(provider)
        with pytest.raises(CircuitOpenError):
            await collect(provider)

        clock.now += 30.0
        events = await collect(provider)  # the trial succeeds: closed
        assert events[-1] == Finish("stop")
        assert circuit.state == "closed"


async def test_a_call_that_spent_its_retries_counts_once(server: ProviderServer) -> None:
    circuit = CircuitBreaker(clock=Clock())
    server.push(*(Reply(status=503) for _ in range(3)))
    async with make_provider(server, "openai", max_retries=2, circuit=circuit) as provider:
        with pytest.raises(ServerError):
            await collect(provider)
    assert circuit.consecutive_failures == 1


async def test_client_errors_do_not_open_the_circuit(server: ProviderServer) -> None:
    circuit = CircuitBreaker(clock=Clock())
    server.push(*(Reply(status=400) for _ in range(6)))
    async with make_provider(server, "anthropic", circuit=circuit) as provider:
        for _ in range(6):
            with pytest.raises(InvalidRequestError):
                await collect(provider)
    assert circuit.state == "closed"


async def test_timeouts_and_interruptions_count_against_the_circuit(server: ProviderServer) -> None:
    circuit = CircuitBreaker(failure_threshold=2, clock=Clock())
    server.push(Reply(silence_before=1.0), Reply(text="a b c", drop_after=1))
    async with make_provider(server, "openai", max_retries=0, circuit=circuit, read_timeout=0.3) as provider:
        with pytest.raises(ProviderTimeout):
            await collect(provider)
        with pytest.raises(StreamInterrupted):
            await collect(provider)
        with pytest.raises(CircuitOpenError):
            await collect(provider)
