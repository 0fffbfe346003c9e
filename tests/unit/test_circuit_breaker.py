"""CircuitBreaker: opens after failures in a row, refuses with a clear wait, half-opens, one trial."""

from __future__ import annotations

import pytest

from desktop_llm.providers import CircuitOpenError, ProviderError
from desktop_llm.providers.circuit import CircuitBreaker


class FakeClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(clock=clock, name="OpenAI (work)")


def fail(breaker: CircuitBreaker, times: int) -> None:
    """Report ``times`` calls that each got through and then failed."""
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure()


def open_circuit(breaker: CircuitBreaker) -> None:
    fail(breaker, breaker.failure_threshold)
    assert breaker.state == "open"


def test_defaults_are_five_failures_and_thirty_seconds() -> None:
    breaker = CircuitBreaker()
    assert (breaker.failure_threshold, breaker.reset_timeout) == (5, 30.0)
    assert breaker.state == "closed"


def test_opens_after_five_failures_in_a_row(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    assert breaker.state == "closed"
    breaker.before_call()  # the fifth call still goes through
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_a_success_in_between_resets_the_count(breaker: CircuitBreaker) -> None:
    fail(breaker, 4)
    breaker.before_call()
    breaker.record_success()
    assert breaker.consecutive_failures == 0
    fail(breaker, 4)
    assert breaker.state == "closed"
    fail(breaker, 1)
    assert breaker.state == "open"


def test_open_error_is_not_retryable_and_names_provider_and_wait(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_circuit(breaker)
    clock.advance(12.5)
    with pytest.raises(CircuitOpenError) as caught:
        breaker.before_call()
    error = caught.value
    assert isinstance(error, ProviderError)
    assert error.retryable is False
    assert error.provider == "OpenAI (work)"
    assert error.retry_at == clock.now + 17.5
    message = str(error)
    assert "OpenAI (work)" in message
    assert "5 requests in a row" in message
    assert "try again in 18 s" in message  # 17.5 s rounded up: never promise too early


def test_message_without_a_name_still_reads_well(clock: FakeClock) -> None:
    breaker = CircuitBreaker(clock=clock)
    open_circuit(breaker)
    with pytest.raises(CircuitOpenError, match=r"^The provider failed 5 requests .* in 30 s\.$"):
        breaker.before_call()


def test_half_opens_after_the_reset_timeout(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_circuit(breaker)
    clock.advance(29.9)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError, match="in 1 s"):
        breaker.before_call()
    clock.advance(0.1)
    assert breaker.state == "half-open"
    breaker.before_call()  # the trial goes through
    assert breaker.state == "half-open"


def test_only_one_trial_call_at_a_time(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_circuit(breaker)
    clock.advance(30)
    breaker.before_call()
    for _ in range(3):
        with pytest.raises(CircuitOpenError, match="test request is checking") as caught:
            breaker.before_call()
        assert caught.value.retryable is False


def test_trial_success_closes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_circuit(breaker)
    clock.advance(30)
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 0
    for _ in range(10):
        breaker.before_call()
    fail(breaker, 4)
    assert breaker.state == "closed"  # a fresh count: four is not enough again


def test_trial_failure_reopens_for_another_full_timeout(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_circuit(breaker)
    clock.advance(45)
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError, match="in 30 s"):
        breaker.before_call()
    clock.advance(29)
    with pytest.raises(CircuitOpenError, match="in 1 s"):
        breaker.before_call()
    clock.advance(1)
    breaker.before_call()  # the next trial
    assert breaker.state == "half-open"


def test_a_trial_that_never_reports_stops_blocking_after_a_timeout(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_circuit(breaker)
    clock.advance(30)
    breaker.before_call()  # this trial is cancelled and never reports
    clock.advance(29)
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    clock.advance(1)
    breaker.before_call()  # a new trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_custom_threshold_and_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=5.0, clock=clock, name="Ollama")
    fail(breaker, 1)
    assert breaker.state == "closed"
    fail(breaker, 1)
    with pytest.raises(CircuitOpenError, match=r"Ollama failed 2 requests in a row.* in 5 s"):
        breaker.before_call()
    clock.advance(5)
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"


def test_late_failure_of_an_earlier_call_does_not_extend_the_wait(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    for _ in range(6):
        breaker.before_call()  # six calls in flight together
    for _ in range(5):
        breaker.record_failure()
    clock.advance(10)
    breaker.record_failure()  # the sixth one fails later
    with pytest.raises(CircuitOpenError, match="in 20 s"):
        breaker.before_call()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"failure_threshold": 0}, "failure_threshold"), ({"reset_timeout": -1.0}, "reset_timeout")],
)
def test_invalid_parameters_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]
