"""Request-budget check: the concurrent reader stays within `requests_per_second`, 429s included.

    .venv/bin/python bench/budget_check.py            # 40k events, 100 ms latency, budget 5/s

Runs `source-listrak read` (events, incremental, concurrency 8, window_days 3, requests_per_second 5)
against an in-process emulator with per-request latency, then reads the emulator's request log:

  * budget: the largest number of requests that arrived within any 1-second sliding window
    ([t, t + 1 s) for every arrival t) must be <= the budget; also shown, the shortest time spanned
    by budget + 1 consecutive requests (must be >= 1 s);
  * 429s: a second scenario answers about 30% of requests with 429 (Retry-After in seconds, as an
    HTTP date, or absent, in turn). For every 429 that carried Retry-After, the next request for the
    same page must arrive no earlier than Retry-After asked; the budget must still hold, and the sync
    must still deliver every record.

Exits 0 when every check passes. Writes bench/results/budget.md. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from integration_tests.emulator import Emulator, Faults, RequestLogEntry, Sizes  # noqa: E402

CONNECTOR = REPO / ".venv" / "bin" / "source-listrak"
API_KEY = "budget-key-0123456789"
JITTER = 0.010  # seconds of arrival-time jitter allowed in the tolerant column (never in the verdict)
CATALOG = {
    "streams": [
        {
            "stream": {"name": "events", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "incremental",
            "destination_sync_mode": "append",
            "cursor_field": ["event_timestamp"],
        }
    ]
}


@dataclass
class Outcome:
    name: str
    returncode: int
    records: int
    expected: int
    requests: int
    statuses: dict[str, int]
    max_in_window: int
    max_in_window_jitter: int
    tightest_span: float | None
    wall: float
    retry_after_checked: int
    retry_after_min_margin: float | None
    retry_after_violations: list[str]
    error: str
    arrivals: list[float]

    def passed(self, budget: int) -> bool:
        return (
            self.returncode == 0
            and self.records == self.expected
            and self.max_in_window <= budget
            and not self.retry_after_violations
        )


def max_in_sliding_window(times: list[float], width: float = 1.0) -> int:
    """Largest number of arrivals within [t, t + width) over every arrival t."""
    best, low = 0, 0
    ordered = sorted(times)
    for high, moment in enumerate(ordered):
        while ordered[low] <= moment - width:
            low += 1
        best = max(best, high - low + 1)
    return best


def tightest_span(times: list[float], budget: int) -> float | None:
    ordered = sorted(times)
    spans = [ordered[i + budget] - ordered[i] for i in range(len(ordered) - budget)]
    return min(spans) if spans else None


def retry_after_checks(log: list[RequestLogEntry]) -> tuple[int, float | None, list[str]]:
    """For each 429 with Retry-After: the next request for the same page waited at least that long."""
    by_key: dict[str, list[RequestLogEntry]] = {}
    for entry in sorted(log, key=lambda e: e.time):
        key = entry.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(entry.query.items()))
        by_key.setdefault(key, []).append(entry)
    checked, margins, violations = 0, [], []
    for key, entries in by_key.items():
        for entry, following in zip(entries, entries[1:], strict=False):
            if entry.status != 429 or entry.retry_after is None:
                continue
            if entry.retry_after.strip().isdigit():
                asked = float(entry.retry_after)
            else:
                asked = parsedate_to_datetime(entry.retry_after).timestamp() - entry.wall_time
            waited = following.time - entry.time
            checked += 1
            margins.append(waited - asked)
            if waited < asked:
                violations.append(
                    f"{key}: Retry-After {entry.retry_after!r} ({asked:.2f} s), retried after {waited:.2f} s"
                )
    return checked, (min(margins) if margins else None), violations


def scenario(name: str, args: argparse.Namespace, faults: Faults) -> Outcome:
    sizes = Sizes(events=args.events, contacts=50, campaigns=10, sources=10)
    emulator = Emulator(seed=0, sizes=sizes, faults=faults, api_key=API_KEY, history_days=80)
    base_url = emulator.start()
    config = {
        "credentials": {"auth_type": "api_key", "api_key": API_KEY},
        "base_url": base_url,
        "requests_per_second": args.rps,
        "max_records_per_page": 1000,
        "initial_sync_days": 90,
        "concurrency": args.concurrency,
        "window_days": args.window_days,
        "retry_attempts": 5,
        "backoff_factor_seconds": 1,
        "max_retry_wait_seconds": 30,
    }
    started_at = datetime.now(UTC)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "config.json").write_text(json.dumps(config))
            (Path(tmp) / "catalog.json").write_text(json.dumps(CATALOG))
            import time

            began = time.perf_counter()
            completed = subprocess.run(
                [str(CONNECTOR), "read", "--config", "config.json", "--catalog", "catalog.json"],
                cwd=tmp,
                capture_output=True,
                timeout=args.timeout,
            )
            wall = time.perf_counter() - began
    finally:
        emulator.stop()
    records = sum(1 for line in completed.stdout.splitlines() if line.startswith(b'{"type":"RECORD"'))
    errors = [line.decode()[:400] for line in completed.stdout.splitlines() if b'"trace":{"type":"ERROR"' in line]
    expected = emulator.expected_count("events", start=started_at - timedelta(days=90))
    log = list(emulator.request_log)
    times = [entry.time for entry in log]
    statuses: dict[str, int] = {}
    for entry in log:
        statuses[str(entry.status)] = statuses.get(str(entry.status), 0) + 1
    checked, margin, violations = retry_after_checks(log)
    return Outcome(
        name=name,
        returncode=completed.returncode,
        records=records,
        expected=expected,
        requests=len(log),
        statuses=statuses,
        max_in_window=max_in_sliding_window(times),
        max_in_window_jitter=max_in_sliding_window(times, 1.0 - JITTER),
        tightest_span=tightest_span(times, args.rps),
        wall=wall,
        retry_after_checked=checked,
        retry_after_min_margin=margin,
        retry_after_violations=violations,
        arrivals=[t - min(times) for t in sorted(times)] if times else [],
        error="\n".join(errors) or (completed.stderr.decode(errors="replace")[-1000:] if completed.returncode else ""),
    )


def report(outcomes: list[Outcome], args: argparse.Namespace) -> str:
    lines = [
        "# Request-budget check",
        "",
        f"`python bench/budget_check.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
        "",
        f"{args.events:,} events, {args.latency_ms:g} ms per request, `requests_per_second: {args.rps}`, "
        f"`concurrency: {args.concurrency}`, `window_days: {args.window_days}`, perPage 1000; arrival times from "
        "the in-process emulator's request log.",
        "",
        f"| scenario | exit | records / expected | requests (by status) | max in any 1 s window | "
        f"max in any {1 - JITTER:g} s window | shortest span of {args.rps + 1} requests | "
        "429s with Retry-After checked | least margin over Retry-After | wall s | verdict |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(o.statuses.items()))
        span = f"{o.tightest_span:.3f} s" if o.tightest_span is not None else "-"
        margin = f"{o.retry_after_min_margin:+.2f} s" if o.retry_after_min_margin is not None else "-"
        verdict = "pass" if o.passed(args.rps) else "FAIL"
        lines.append(
            f"| {o.name} | {o.returncode} | {o.records:,} / {o.expected:,} | {o.requests} ({statuses}) | "
            f"{o.max_in_window} (budget {args.rps}) | {o.max_in_window_jitter} | {span} | "
            f"{o.retry_after_checked} | {margin} | {o.wall:.1f} | {verdict} |"
        )
    lines += [
        "",
        f"Verdict: pass when the sync exits 0 with every record, no 1-second window [t, t + 1 s) of arrivals holds "
        f"more than {args.rps} requests, and no 429's Retry-After was cut short. The {1 - JITTER:g} s column "
        f"allows {JITTER * 1000:g} ms of arrival jitter (connection set-up, thread scheduling) and is for reading "
        "only. Arrival times (first 40, seconds from the first request):",
        "",
    ]
    for o in outcomes:
        lines.append(f"- {o.name}: {', '.join(f'{t:.3f}' for t in o.arrivals[:40])}")
    for o in outcomes:
        for violation in o.retry_after_violations:
            lines.append(f"\n- {o.name}: Retry-After not honoured: {violation}")
        if o.error:
            lines.append(f"\n- {o.name}: error: `{o.error.strip()[:600]}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rps", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--window-days", type=int, default=3)
    parser.add_argument("--rate-429", type=float, default=0.3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", default=str(BENCH / "results"))
    args = parser.parse_args(argv)
    if not CONNECTOR.exists():
        print(f"{CONNECTOR} not found: run scripts/test once to set up .venv", file=sys.stderr)
        return 2
    outcomes = [
        scenario("no faults", args, Faults(latency_ms=args.latency_ms)),
        scenario(
            f"{args.rate_429:.0%} 429s, Retry-After mixed (seconds / HTTP date / absent)",
            args,
            Faults(latency_ms=args.latency_ms, rate_429=args.rate_429, retry_after="mixed", retry_after_seconds=1),
        ),
    ]
    text = report(outcomes, args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "budget.md").write_text(text)
    print(text)
    return 0 if all(o.passed(args.rps) for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
