"""The project's emulator (integration_tests/emulator.py) in its own process, driven over stdin.

    python bench/server.py --events 100000 [--latency-ms 100] [--plain]

Prints one JSON line `{"base_url": ...}` once it listens, then answers commands read from stdin, one
per line, each with one JSON line on stdout:

    stats             {"requests": n, "by_status": {...}, "faults": {...}}   (since the last clear)
    clear             empties the request log
    latency <ms>      changes the per-request latency (the emulator reads it on every request)
    log               the request log: [[monotonic time, path, status], ...]
    quit              stops the server

Unless `--plain`, the /events pages are served from records rendered once at start-up: the emulator
builds every record in Python (about 20 us each, seeded RNG, date formatting) plus a json.dumps per
page, which caps it at about 35k records/s on loopback, so it, not the client, would be what a
benchmark measures. Rendering keeps every rule of the emulator (auth, windows, paging, latency,
faults, the request log) and sends byte-for-byte the body the emulator would send (checked at
start-up); only the work of building the same records again for every request is saved.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration_tests import emulator as emulator_module  # noqa: E402
from integration_tests.emulator import Emulator, Faults, Sizes  # noqa: E402


@dataclass
class _Rendered:
    """A response body already serialized: the handler sends these bytes as they are."""

    payload: bytes


class RenderedEmulator(Emulator):
    """The emulator with its windowed pages assembled from records serialized once."""

    rendered: dict[str, list[bytes]]

    def render(self, streams: tuple[str, ...] = ("events",)) -> None:
        self.rendered = {}
        for stream in streams:
            self.rendered[stream] = [
                json.dumps(self.data.record(stream, index), ensure_ascii=False).encode()
                for index in range(self.data.count(stream))
            ]

    def respond(self, path: str, query: dict[str, str]) -> Any:
        resource = path.strip("/")
        rendered = getattr(self, "rendered", {}).get(resource)
        if rendered is None or len(rendered) != self.data.count(resource):
            return super().respond(path, query)
        key, start_param, end_param, _ = emulator_module.WINDOWED[resource]
        page = emulator_module._int_param(query, "page", 1, 1, 10_000_000)
        per_page = emulator_module._int_param(query, "perPage", 100, 1, 1000)
        window = self.data.window(
            resource,
            emulator_module._time_param(query, start_param),
            emulator_module._time_param(query, end_param),
        )
        chosen = window[(page - 1) * per_page : page * per_page]
        body = b", ".join(rendered[chosen.start : chosen.stop]) if len(chosen) else b""
        # json.dumps(..., ensure_ascii=False) of the emulator's own dict, with the records pre-serialized.
        tail = f'], "page": {page}, "perPage": {per_page}, "total": {len(window)}}}'.encode()
        return _Rendered(b'{"' + key.encode() + b'": [' + body + tail)


_original_send = emulator_module._Handler._send


def _send(self: Any, status: int, body: Any, headers: dict[str, str]) -> None:
    if not isinstance(body, _Rendered):
        _original_send(self, status, body, headers)
        return
    head = [
        f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
        "Content-Type: application/json; charset=utf-8",
        f"Content-Length: {len(body.payload)}",
    ]
    head += [f"{name}: {value}" for name, value in headers.items()]
    self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body.payload)


def _self_check(emulator: RenderedEmulator) -> None:
    """The rendered body of a few pages equals what the emulator itself would send."""
    count = emulator.data.count("events")
    if not count:
        return
    now = emulator.data.now
    queries = [
        {"page": "1", "perPage": "1000"},
        {"page": "2", "perPage": "7"},
        {
            "timestampAfter": emulator_module._iso_utc(emulator.data.instant_us("events", count // 2), 6),
            "page": "1",
            "perPage": "3",
        },
        {"timestampBefore": f"{now:%Y-%m-%dT%H:%M:%S}Z", "page": "999999", "perPage": "1000"},
    ]
    for query in queries:
        fast = emulator.respond("/events", query)
        slow = json.dumps(Emulator.respond(emulator, "/events", query), ensure_ascii=False).encode()
        if not isinstance(fast, _Rendered) or fast.payload != slow:
            raise SystemExit(f"bench server: rendered page differs from the emulator's for {query}")


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
    cls = Emulator if args.plain else RenderedEmulator
    emulator = cls(
        seed=args.seed,
        sizes=sizes,
        faults=Faults(latency_ms=args.latency_ms),
        api_key=args.api_key,
        history_days=args.history_days,
    )
    started = time.perf_counter()
    if isinstance(emulator, RenderedEmulator):
        emulator.render()
        _self_check(emulator)
        emulator_module._Handler._send = _send  # type: ignore[method-assign]  # this process only
    render_seconds = time.perf_counter() - started
    base_url = emulator.start(args.host, args.port)
    print(json.dumps({"base_url": base_url, "render_seconds": round(render_seconds, 2)}), flush=True)

    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        reply: Any
        if command == "stats":
            log = list(emulator.request_log)
            by_status: dict[str, int] = {}
            faults: dict[str, int] = {}
            for entry in log:
                by_status[str(entry.status)] = by_status.get(str(entry.status), 0) + 1
                if entry.fault:
                    faults[entry.fault] = faults.get(entry.fault, 0) + 1
            reply = {"requests": len(log), "by_status": by_status, "faults": faults}
        elif command == "clear":
            emulator.clear_log()
            reply = {"ok": True}
        elif command == "latency":
            emulator.faults.latency_ms = float(argument)
            reply = {"ok": True, "latency_ms": emulator.faults.latency_ms}
        elif command == "log":
            reply = [[entry.time, entry.path, entry.status] for entry in list(emulator.request_log)]
        elif command == "quit":
            break
        else:
            reply = {"error": f"unknown command {command!r}"}
        print(json.dumps(reply), flush=True)
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
