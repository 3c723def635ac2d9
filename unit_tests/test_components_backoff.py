"""Contract: ``429`` may carry ``Retry-After`` as delta-seconds or an HTTP-date, or nothing; retries use
exponential backoff with jitter. The connector caps every wait at ``max_retry_wait_seconds``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from source_listrak.components import RetryAfterBackoff, retry_after_seconds

SMALLEST_WAIT = 0.001  # a zero would make the CDK fall back to its own, uncapped, backoff


def backoff(max_wait_seconds: float = 60, backoff_factor_seconds: float = 2) -> RetryAfterBackoff:
    """Built as the manifest builds it: the numbers interpolated from the config."""
    return RetryAfterBackoff(
        parameters={},
        config={"max_retry_wait_seconds": max_wait_seconds, "backoff_factor_seconds": backoff_factor_seconds},
        max_wait_seconds="{{ config['max_retry_wait_seconds'] }}",
        backoff_factor_seconds="{{ config['backoff_factor_seconds'] }}",
    )


def throttled(retry_after: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    response._content = b'{"status": 429}'
    return response


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def test_retry_after_in_seconds_is_waited() -> None:
    assert backoff().backoff_time(throttled("7"), attempt_count=1) == 7


def test_retry_after_as_an_http_date_is_the_time_until_that_date() -> None:
    now = datetime(2026, 10, 21, 7, 27, 53, tzinfo=UTC)
    assert retry_after_seconds("Wed, 21 Oct 2026 07:28:00 GMT", now=now) == 7


def test_retry_after_as_an_http_date_is_used_by_the_backoff() -> None:
    wait = backoff().backoff_time(throttled(http_date(datetime.now(UTC) + timedelta(seconds=30))), 1)
    assert 28 <= wait <= 30


def test_retry_after_in_the_past_gives_the_smallest_wait() -> None:
    past = http_date(datetime.now(UTC) - timedelta(hours=1))
    assert backoff().backoff_time(throttled(past), attempt_count=1) == SMALLEST_WAIT


@pytest.mark.parametrize("zero", ["0", "-5"])
def test_retry_after_of_zero_or_less_gives_the_smallest_wait_not_zero(zero: str) -> None:
    assert backoff().backoff_time(throttled(zero), attempt_count=1) == SMALLEST_WAIT


@pytest.mark.parametrize("far", ["3600", "86400", "an HTTP date two days ahead"])
def test_retry_after_far_in_the_future_is_capped_at_max_wait_seconds(far: str) -> None:
    if not far.isdigit():  # made here: a test id must not change between the parallel workers' collections
        far = http_date(datetime.now(UTC) + timedelta(days=2))
    assert backoff(max_wait_seconds=45).backoff_time(throttled(far), attempt_count=1) == 45


@pytest.mark.parametrize("response", [throttled(None), throttled("soon"), throttled("")])
@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_without_a_readable_retry_after_the_wait_is_exponential_with_jitter(
    response: requests.Response, attempt: int
) -> None:
    factor = 2
    base = factor * 2 ** (attempt - 1)
    waits = {
        backoff(max_wait_seconds=1000, backoff_factor_seconds=factor).backoff_time(response, attempt) for _ in range(50)
    }
    assert all(base / 2 <= wait <= base for wait in waits)
    assert len(waits) > 1, "no jitter: every wait was the same"


def test_a_timeout_is_backed_off_exponentially() -> None:
    wait = backoff(backoff_factor_seconds=4).backoff_time(requests.exceptions.ReadTimeout("slow"), attempt_count=2)
    assert 4 <= wait <= 8


@given(
    attempt=st.integers(min_value=0, max_value=40),
    factor=st.floats(min_value=0, max_value=60),
    cap=st.floats(min_value=0, max_value=3600),
)
def test_exponential_wait_stays_within_its_bounds_and_the_cap(attempt: int, factor: float, cap: float) -> None:
    base = factor * 2 ** max(attempt - 1, 0)
    wait = backoff(max_wait_seconds=cap, backoff_factor_seconds=factor).backoff_time(throttled(), attempt)
    lowest = max(min(base / 2, cap), SMALLEST_WAIT)
    highest = max(min(base, cap), SMALLEST_WAIT)
    assert lowest * (1 - 1e-9) <= wait <= highest * (1 + 1e-9)


def test_a_zero_backoff_factor_still_waits_a_little_so_the_cdk_keeps_our_cap() -> None:
    assert backoff(backoff_factor_seconds=0).backoff_time(throttled(), attempt_count=3) == SMALLEST_WAIT


def test_numbers_given_as_plain_values_work_too() -> None:
    strategy = RetryAfterBackoff(parameters={}, config={}, max_wait_seconds=5, backoff_factor_seconds=1)
    assert strategy.backoff_time(throttled("30"), attempt_count=1) == 5
