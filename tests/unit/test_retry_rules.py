"""Retry rules: which responses are retried, how long the server asked to wait, backoff and jitter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop_llm.providers import RateLimitError, RetryPolicy
from desktop_llm.providers.retry import RETRYABLE_STATUSES, server_requested_delay, should_retry_response

NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC).timestamp()


def at_now() -> float:
    return NOW


def no_jitter() -> float:
    return 0.0


def test_policy_defaults_are_the_documented_ones() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.base_delay, policy.max_delay) == (3, 0.5, 30.0)
    assert policy.sleep is asyncio.sleep


@pytest.mark.parametrize("setting", ["max_retries", "base_delay", "max_delay"])
def test_negative_settings_are_refused(setting: str) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        RetryPolicy(**{setting: -1})


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529, 599])
def test_retryable_statuses(status: int) -> None:
    assert status in RETRYABLE_STATUSES
    assert should_retry_response(status, {})


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 413, 422, 600])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert status not in RETRYABLE_STATUSES
    assert not should_retry_response(status, {})


def test_x_should_retry_true_overrides_a_final_status() -> None:
    assert should_retry_response(400, {"x-should-retry": "true"})
    assert should_retry_response(401, {"x-should-retry": " TRUE "})


def test_x_should_retry_false_overrides_a_retryable_status() -> None:
    assert not should_retry_response(503, {"x-should-retry": "false"})
    assert not should_retry_response(429, {"x-should-retry": "False"})


def test_x_should_retry_with_another_value_leaves_the_status_to_decide() -> None:
    assert should_retry_response(503, {"x-should-retry": "maybe"})
    assert not should_retry_response(400, {"x-should-retry": "1"})


def test_header_names_are_case_insensitive_in_any_mapping() -> None:
    assert not should_retry_response(503, {"X-Should-Retry": "false"})
    assert not should_retry_response(503, httpx.Headers({"X-Should-Retry": "false"}))
    assert server_requested_delay({"Retry-After": "3"}) == 3.0
    assert server_requested_delay(httpx.Headers({"Retry-After-Ms": "1500"})) == 1.5


def test_retry_after_ms_is_fractional_milliseconds() -> None:
    assert server_requested_delay({"retry-after-ms": "1500"}) == 1.5
    assert server_requested_delay({"retry-after-ms": "250.5"}) == pytest.approx(0.2505)


def test_retry_after_ms_wins_over_retry_after() -> None:
    assert server_requested_delay({"retry-after-ms": "100", "retry-after": "9"}) == 0.1


def test_unparsable_retry_after_ms_falls_back_to_retry_after() -> None:
    assert server_requested_delay({"retry-after-ms": "soon", "retry-after": "4"}) == 4.0


def test_retry_after_in_seconds() -> None:
    assert server_requested_delay({"retry-after": "7"}) == 7.0
    assert server_requested_delay({"retry-after": "1.25"}) == 1.25


@pytest.fixture
def local_time_not_utc() -> Iterator[None]:
    """Run in a local time zone five hours off UTC, so a date read as local time shows."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "EST+5")  # POSIX form: needs no tz database
        time.tzset()
        yield
    time.tzset()


@pytest.mark.usefixtures("local_time_not_utc")
def test_retry_after_as_an_http_date_uses_the_injected_now() -> None:
    in_twelve_seconds = format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)
    assert in_twelve_seconds.endswith("GMT")
    assert server_requested_delay({"retry-after": in_twelve_seconds}, now=at_now) == 12.0
    # "-0000" dates parse without a time zone; HTTP dates are always UTC.
    naive = format_datetime(datetime.fromtimestamp(NOW + 5, UTC).replace(tzinfo=None))
    assert naive.endswith("-0000")
    assert server_requested_delay({"retry-after": naive}, now=at_now) == 5.0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"retry-after": "0"},
        {"retry-after": "-3"},
        {"retry-after-ms": "0"},
        {"retry-after-ms": "-20"},
        {"retry-after": "later"},
        {"retry-after": "nan"},
        {"retry-after": "inf"},
        {"retry-after-ms": "inf"},
        {"retry-after": ""},
        {"retry-after": format_datetime(datetime.fromtimestamp(NOW - 60, UTC), usegmt=True)},
        {"retry-after": format_datetime(datetime.fromtimestamp(NOW, UTC), usegmt=True)},
    ],
    ids=repr,
)
def test_absent_invalid_or_non_positive_requests_give_none(headers: dict[str, str]) -> None:
    assert server_requested_delay(headers, now=at_now) is None


def test_delay_honours_a_server_request_up_to_max_delay() -> None:
    policy = RetryPolicy(max_delay=30.0)
    assert policy.delay(1, {"retry-after": "2"}, rng=no_jitter) == 2.0
    assert policy.delay(3, {"retry-after-ms": "30000"}, rng=no_jitter) == 30.0


def test_delay_ignores_too_large_or_non_positive_server_requests() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    assert policy.delay(1, {"retry-after": "31"}, rng=no_jitter) == 0.5
    assert policy.delay(2, {"retry-after": "0"}, rng=no_jitter) == 1.0
    assert policy.delay(3, {"retry-after-ms": "-1"}, rng=no_jitter) == 2.0


def test_delay_reads_the_headers_a_provider_error_carries() -> None:
    error = RateLimitError("Slow down", status_code=429, headers={"retry-after": "3"}, retry_after=3.0)
    assert RetryPolicy().delay(1, error.headers) == 3.0


def test_backoff_doubles_from_base_delay_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    delays = [policy.delay(n, rng=no_jitter) for n in range(1, 10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_backoff_survives_huge_retry_numbers() -> None:
    assert RetryPolicy(max_delay=30.0).delay(100_000, rng=no_jitter) == 30.0


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        RetryPolicy().delay(0)


def test_jitter_takes_off_at_most_a_quarter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0)
    assert policy.delay(2, rng=lambda: 0.5) == 2.0 * 0.875
    assert policy.delay(2, rng=lambda: 0.9999999) == pytest.approx(1.5)


@given(
    retry_number=st.integers(min_value=1, max_value=200),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    base_delay=st.floats(min_value=0.0, max_value=10.0),
    max_delay=st.floats(min_value=0.0, max_value=120.0),
)
def test_jitter_bounds(retry_number: int, draw: float, base_delay: float, max_delay: float) -> None:
    policy = RetryPolicy(base_delay=base_delay, max_delay=max_delay)
    backoff = min(base_delay * 2.0 ** min(retry_number - 1, 60), max_delay)
    delay = policy.delay(retry_number, rng=lambda: draw)
    assert 0.75 * backoff <= delay <= backoff <= max_delay


def test_real_random_jitter_stays_in_bounds() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    delays = {policy.delay(3) for _ in range(200)}
    assert all(1.5 <= delay <= 2.0 for delay in delays)
    assert len(delays) > 1  # it is actually jittered
