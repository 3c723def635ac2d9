"""The SDK-example emulator (listrak_emulators/sdk_example/) in its own process, driven over stdin.

    python bench/server.py --events 100000 [--latency-ms 100] [--plain]      (started by bench/run.py)

Prints one JSON line `{"base_url": ...}` once it listens, then answers commands read from stdin, one
per line, each with one JSON line on stdout:

    stats             {"requests": n, "by_status": {...}, "faults": {...}}   (since the last clear)
    clear             empties the request log
    latency <ms>      changes the per-request latency (the emulator reads it on every request)
    log               the request log: [[monotonic time, path, status], ...]
    requests          the request log in full:
                      [[monotonic time, method, path, raw query, status, records, answered (monotonic)], ...]
    quit              stops the server

Unless `--plain`, the /events pages are joined from records serialized once at start-up
(`Emulator.prerender`): the emulator otherwise builds every record in Python (about 20 us each) plus a
JSON encoding per page, which caps it at about 35k records/s on loopback, so it, not the client, would
be what a benchmark measures. Every rule of the emulator (auth, windows, paging, latency, faults, the
request log) still applies, and the bytes sent are the same (the emulator's tests check that).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from served_commands import answer_commands

from listrak_emulators.sdk_example import Emulator, Faults, Sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--history-days", type=int, default=80)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--api-key", default="bench-key")
    parser.add_argument("--plain", action="store_true", help="serve with the emulator as it is (no rendering)")
    args = parser.parse_args(argv)

    sizes = Sizes(events=args.events, contacts=args.contacts, campaigns=args.campaigns, sources=10)
    emulator = Emulator(
        seed=args.seed,
        sizes=sizes,
        faults=Faults(latency_ms=args.latency_ms),
        api_key=args.api_key,
        history_days=args.history_days,
    )
    started = time.perf_counter()
    if not args.plain:
        emulator.prerender(("events",))
    render_seconds = time.perf_counter() - started
    base_url = emulator.start(args.host, args.port)
    print(json.dumps({"base_url": base_url, "render_seconds": round(render_seconds, 2)}), flush=True)

    def stats() -> dict[str, Any]:
        log = list(emulator.request_log)
        by_status: dict[str, int] = {}
        faults: dict[str, int] = {}
        for entry in log:
            by_status[str(entry.status)] = by_status.get(str(entry.status), 0) + 1
            if entry.fault:
                faults[entry.fault] = faults.get(entry.fault, 0) + 1
        return {"requests": len(log), "by_status": by_status, "faults": faults}

    def brief_log() -> list[list[Any]]:
        return [[entry.time, entry.path, entry.status] for entry in list(emulator.request_log)]

    def full_log() -> list[list[Any]]:
        return [
            [entry.time, entry.method, entry.path, entry.raw_query, entry.status, entry.records, entry.answered]
            for entry in list(emulator.request_log)
        ]

    return answer_commands(emulator, {"stats": stats, "log": brief_log, "requests": full_log})


if __name__ == "__main__":
    raise SystemExit(main())
