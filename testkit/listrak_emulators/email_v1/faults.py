"""Faults, deterministic per request (contract §7.3): which requests get one is decided by (seed,
request, attempt) in `listrak_emulators.http.FaultDecider`; here are the rates and what each fault
answers: 429 (no Retry-After by default), 500, IIS 502/503 pages, 200 with an HTML body, dropped
connections, slow answers, and 500/429 on the token endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from listrak_emulators.email_v1.answers import HTML_CONTENT_TYPE, TOKEN_CONTENT_TYPE, Answer
from listrak_emulators.http import ApiError, retry_after_header

RETRY_AFTER_MODES = ("absent", "seconds", "http-date", "mixed")
DATA_FAULTS = ("429", "500", "502", "503", "html", "drop", "slow")
TOKEN_FAULTS = ("token-500", "token-429")


@dataclass
class Faults:
    """Per-request fault rates, decided by (seed, request, attempt): the same requests meet the same faults.

    "html" is a 200 answer whose body is an HTML proxy page. A 429 carries no Retry-After by default
    (`retry_after`: absent, seconds, http-date, or mixed: each in turn). One request never faults more
    than `max_consecutive` times in a row.
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_502: float = 0.0
    rate_503: float = 0.0
    rate_html: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    token_rate_500: float = 0.0
    token_rate_429: float = 0.0
    retry_after: str = "absent"
    retry_after_seconds: int = 1
    slow_seconds: float = 3.0
    latency_ms: float = 0.0
    max_consecutive: int = 2

    @classmethod
    def at_rate(cls, rate: float, **knobs: Any) -> Faults:
        """`rate` split evenly over 429, 500, 502, 503, HTML-200 and dropped connections."""
        share = rate / 6
        return cls(
            rate_429=share, rate_500=share, rate_502=share, rate_503=share, rate_html=share, rate_drop=share, **knobs
        )

    def data_rates(self) -> tuple[tuple[str, float], ...]:
        return tuple(
            zip(
                DATA_FAULTS,
                (
                    self.rate_429,
                    self.rate_500,
                    self.rate_502,
                    self.rate_503,
                    self.rate_html,
                    self.rate_drop,
                    self.rate_slow,
                ),
                strict=True,
            )
        )

    def token_rates(self) -> tuple[tuple[str, float], ...]:
        return (("token-500", self.token_rate_500), ("token-429", self.token_rate_429))


IIS_PAGES = {
    502: '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
    '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>502 - Web server received an invalid response '
    'while acting as a gateway or proxy server.</title></head><body><div id="header"><h1>Server Error</h1>'
    '</div><div id="content"><fieldset><h2>502 - Web server received an invalid response while acting as a '
    "gateway or proxy server.</h2></fieldset></div></body></html>",
    503: '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    '<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; '
    'charset=us-ascii"></HEAD>\r\n<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is '
    "unavailable.</p>\r\n</BODY></HTML>\r\n",
    200: "<html><head><title>Scheduled maintenance</title></head><body><h1>We'll be right back</h1>"
    "<p>The service is undergoing maintenance.</p></body></html>",
}


def fault_answer(fault: str, faults: Faults, n: int) -> Answer:
    """What a 429, 500, 502, 503 or HTML-200 fault (data or token endpoint) answers with."""
    if fault in ("429", "token-429"):
        retry_after = retry_after_header(faults.retry_after, faults.retry_after_seconds, n, datetime.now(UTC))
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        body = (
            {"error": "Too many requests"}
            if fault == "token-429"
            else {"status": 429, "error": "ERROR_TOO_MANY_REQUESTS", "message": "Too many requests."}
        )
        return Answer.json(429, body, headers=headers)
    if fault == "500":
        return Answer.error(
            ApiError(
                500,
                "ERROR_UNHANDLED_EXCEPTION",
                "An unhandled exception has occurred. Our development team has been notified.",
            )
        )
    if fault == "token-500":
        return Answer.json(500, {"error": "An error has occurred."}, content_type=TOKEN_CONTENT_TYPE)
    status = {"502": 502, "503": 503, "html": 200}[fault]
    return Answer(status, IIS_PAGES[status].encode(), HTML_CONTENT_TYPE)
