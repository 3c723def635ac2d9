"""One token per read, shared by every thread, and what a 401 means (source_listrak/api_session.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from source_listrak import api_session
from source_listrak.api_session import (
    ApiSession,
    AreaRefused,
    CredentialsRejected,
    TokenEndpointFailed,
    end_session,
    session_for,
    start_session,
)

ENDPOINT = "List/{listId}/Message/{messageId}/Summary"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(api_session.time, "monotonic", clock)
    return clock


def counting_fetch(expires_in: float = 3599, pause: float = 0.0) -> tuple[Callable[[], tuple[str, float]], list[str]]:
    issued: list[str] = []
    lock = threading.Lock()

    def fetch() -> tuple[str, float]:
        time.sleep(pause)
        with lock:
            issued.append(f"token-{len(issued) + 1}")
            return issued[-1], expires_in

    return fetch, issued


def area_refusal() -> AreaRefused:
    return AreaRefused("message_summary", ENDPOINT, ("List", "Message", "Report"), ("Report",))


def rejection() -> CredentialsRejected:
    return CredentialsRejected("rejected")


def test_every_thread_of_a_read_gets_the_same_token_from_one_request() -> None:
    session = ApiSession()
    fetch, issued = counting_fetch(pause=0.05)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(session.token(fetch).value)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert issued == ["token-1"] and set(tokens) == {"token-1"}


def test_requests_refused_at_once_with_the_current_token_lead_to_one_new_token() -> None:
    session = ApiSession()
    fetch, issued = counting_fetch(pause=0.02)
    first = session.token(fetch).value
    refusals = [session.refused(f"endpoint-{i}", first, area_refusal, rejection) for i in range(8)]
    assert all(refusal.retry and refusal.error is None for refusal in refusals)
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(session.token(fetch).value)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert issued == ["token-1", "token-2"] and set(tokens) == {"token-2"}


def test_a_request_refused_with_an_older_token_is_retried_with_the_current_one_without_a_new_token() -> None:
    session = ApiSession()
    fetch, issued = counting_fetch()
    old = session.token(fetch).value
    session.refused("a", old, area_refusal, rejection)
    current = session.token(fetch).value
    assert session.refused("b", old, area_refusal, rejection).retry
    assert session.token(fetch).value == current and issued == ["token-1", "token-2"]


def test_an_endpoint_refused_again_with_a_newer_token_while_others_answer_ends_only_its_stream() -> None:
    session = ApiSession()
    fetch, _ = counting_fetch()
    session.answered("List", ["List"])
    first = session.token(fetch).value
    assert session.refused(ENDPOINT, first, area_refusal, rejection).retry
    second = session.token(fetch).value
    refusal = session.refused(ENDPOINT, second, area_refusal, rejection)
    assert not refusal.retry and isinstance(refusal.error, AreaRefused)
    with pytest.raises(AreaRefused):
        session.raise_if_refused("message_summary")
    session.raise_if_refused("messages")  # other streams go on
    assert session.stopped is None and session.token(fetch).value == second


def test_a_refusal_with_a_fresh_token_before_anything_answered_rejects_the_credentials_for_every_request() -> None:
    session = ApiSession()
    fetch, issued = counting_fetch()
    session.refused("List", session.token(fetch).value, area_refusal, rejection)
    refusal = session.refused("List", session.token(fetch).value, area_refusal, rejection)
    assert isinstance(refusal.error, CredentialsRejected) and session.stopped is refusal.error
    with pytest.raises(CredentialsRejected):
        session.token(fetch)
    with pytest.raises(CredentialsRejected):
        session.raise_if_refused("lists")
    assert len(issued) == 2


@pytest.mark.parametrize("error", [CredentialsRejected("no"), TokenEndpointFailed("down")])
def test_a_token_endpoint_that_refuses_or_keeps_failing_stops_the_read(error: Exception) -> None:
    session = ApiSession()

    def fetch() -> tuple[str, float]:
        raise error

    with pytest.raises(type(error)):
        session.token(fetch)
    assert session.stopped is error
    with pytest.raises(type(error)):
        session.raise_if_stopped()


def test_tokens_that_die_early_teach_the_session_to_renew_before_they_do(clock: Clock) -> None:
    session = ApiSession()
    fetch, issued = counting_fetch(expires_in=3599)
    first = session.token(fetch).value
    clock.now += 2.0  # Listrak refuses the token 2 s after issuing it, although it advertised 3599 s
    session.refused(ENDPOINT, first, area_refusal, rejection)
    session.token(fetch)
    session.answered(ENDPOINT, ["List", "Message", "Report"])  # the retry worked: the first token had died
    assert session.learned_life == pytest.approx(2.0)
    clock.now += 1.4
    assert session.token(fetch).value == "token-2"  # 1.4 s < 0.75 x 2 s
    clock.now += 0.2
    assert session.token(fetch).value == "token-3" and len(issued) == 3


def test_a_token_is_renewed_shortly_before_its_advertised_expiry(clock: Clock) -> None:
    session = ApiSession()
    fetch, _ = counting_fetch(expires_in=3599)
    session.token(fetch)
    clock.now += 3599 - 61
    assert session.token(fetch).value == "token-1"
    clock.now += 2
    assert session.token(fetch).value == "token-2"


def test_a_read_gets_a_session_of_its_own_and_nothing_carries_over() -> None:
    config: dict = {"credentials": {}}
    other: dict = {"credentials": {}}
    first = start_session(config)
    assert session_for(config) is first and session_for(other) is not first
    first.stop(CredentialsRejected("no"))
    end_session(config)
    second = start_session(config)
    assert second is not first and second.stopped is None
    end_session(config)
    end_session(other)
