"""The Email API v1 emulator (listrak_emulators/email_v1/) in its own process, driven over stdin.

    python bench/email_server.py --messages-in-window 200 --recipients 5000 --links 10   (started by email_api.py)

Builds an account of `--lists` large lists (plus the emulator's list that answers 404 on every child
route, as by default), with enough messages per list that more than `--messages-in-window` of them
have been sent, and picks the engagement `start_date` halfway between the send dates of the
N-th and the (N+1)-th latest sent message, so that exactly N messages (over all lists) are in the
window. Then prints one JSON line once it listens:

    {"base_url", "token_url", "client_id", "client_secret", "start_date", "now", "messages_per_list",
     "expected_records": {stream: n}, "model": {stream: requests}, "setup_seconds"}

`expected_records` counts what the connector must emit per stream (the emulator's oracle; the big
engagement streams counted from the account, not built); `model` is the emulator's request model
(`request_counts`, contract §3.6) at page size 5000. Then it answers commands read from stdin, one
per line, each with one JSON line on stdout:

    stats             {"requests": n, "data_requests": n, "by_status": {...}}   (since the last clear)
    clear             empties the request log
    latency <ms>      changes the per-request latency
    requests          the log: [[arrived (monotonic s), answered, method, path, raw query, status, records, stream]]
    quit              stops the server

Unless `--no-cache`, the emulator keeps every data answer (`EmailV1Emulator.cache_answers`): it builds
each activity row in Python (about 35 us, plus the JSON encoding), so 1M rows would cost it ~40 s of
CPU per sync on the same two CPUs as the connector, and the benchmark would measure the emulator. A
request answered before is answered with the same bytes; latency, authorization, parameter checks
and the log apply to every request. Requests whose dates move with the clock (messages, contacts,
conversation and transactional activity windows) are built again each sync; they are small.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from served_commands import answer_commands

from listrak_emulators.email_v1 import (
    STREAMS,
    TOKEN_PATH,
    EmailV1Emulator,
    ExpectedOutput,
    Faults,
    SendWindow,
    Sizes,
    find_route,
)

ROUTE_STREAMS = {"list": "lists"}  # routes no stream reads, counted with a stream


def stream_of(path: str) -> str:
    """The stream whose endpoint a logged path is ("token" for the token endpoint, "?" for none)."""
    if path == TOKEN_PATH:
        return "token"
    found = find_route(path)
    if found is None:
        return "?"
    return ROUTE_STREAMS.get(found[0].name, found[0].name)


def to_datetime(ticks: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)


def build(args: argparse.Namespace) -> tuple[EmailV1Emulator, datetime, int]:
    """The emulator, the start of the window holding exactly `messages_in_window` sent messages, and the
    messages per list that took."""
    target = args.messages_in_window
    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")) if args.now else None
    per_list = -(-target * 12 // (11 * args.lists)) + 2
    while True:
        sizes = Sizes(
            lists=args.lists,
            list_shapes=("large",) * args.lists,
            contacts_per_list=args.contacts,
            messages_per_list=per_list,
            recipients_per_message=args.recipients,
            links_per_message=args.links,
            history_days=args.history_days,
        )
        api = EmailV1Emulator(seed=args.seed, now=now, sizes=sizes, faults=Faults(latency_ms=args.latency_ms))
        account = api.account
        sends = sorted(
            (
                message.send
                for plan in account.listed_plans()
                if account.served_plan(plan.list_id)
                for message in account.messages(plan, include_tests=False)
                if account.is_sent(message) and message.send is not None
            ),
            reverse=True,
        )
        if len(sends) > target and sends[target - 1] != sends[target]:
            return api, to_datetime((sends[target - 1] + sends[target]) // 2), per_list
        per_list += max(1, (target - len(sends)) // args.lists + 1)


def expected_records(api: EmailV1Emulator, since: datetime, streams: list[str]) -> dict[str, int]:
    """Records per stream the connector must emit, counted by the emulator's oracle without building them."""
    oracle = ExpectedOutput(api.account, SendWindow(since, api.now), False, True, None)
    return {stream: oracle.record_count(stream) for stream in streams}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--now", help="the emulator's clock, ISO-8601 (default: now)")
    parser.add_argument("--lists", type=int, default=3, help="large lists (plus the one answering 404)")
    parser.add_argument("--messages-in-window", type=int, default=200, help="sent messages in the window, in all")
    parser.add_argument("--recipients", type=int, default=5000, help="recipients (activity rows) per message")
    parser.add_argument("--links", type=int, default=10, help="links per message")
    parser.add_argument("--contacts", type=int, default=5000, help="contacts per list")
    parser.add_argument("--history-days", type=int, default=400)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--streams", default=",".join(STREAMS), help="streams the expected counts are for")
    parser.add_argument("--no-cache", action="store_true", help="build every answer again (the emulator as is)")
    args = parser.parse_args(argv)
    streams = [s for s in args.streams.split(",") if s]

    started = time.perf_counter()
    api, since, per_list = build(args)
    if not args.no_cache:
        api.cache_answers()
    expected = expected_records(api, since, streams)
    model = api.request_counts(streams, sent_since=since)
    api.start(args.host, args.port)
    hello = {
        "base_url": api.base_url,
        "token_url": api.token_url,
        "client_id": api.client_id,
        "client_secret": api.client_secret,
        "start_date": since.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "now": api.now.isoformat(),
        "messages_per_list": per_list,
        "lists": api.list_ids,
        "expected_records": expected,
        "model": model,
        "setup_seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(hello), flush=True)

    def stats() -> dict[str, Any]:
        log = list(api.request_log)
        by_status: dict[str, int] = {}
        for entry in log:
            by_status[str(entry.status)] = by_status.get(str(entry.status), 0) + 1
        data = sum(1 for entry in log if entry.path != TOKEN_PATH)
        return {"requests": len(log), "data_requests": data, "by_status": by_status}

    def full_log() -> list[list[Any]]:
        return [
            [e.time, e.answered, e.method, e.path, e.raw_query, e.status, e.records, stream_of(e.path)]
            for e in list(api.request_log)
        ]

    return answer_commands(api, {"stats": stats, "requests": full_log})


if __name__ == "__main__":
    raise SystemExit(main())
