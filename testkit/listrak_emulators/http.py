"""The HTTP plumbing the Listrak API emulators share.

- `LoopbackService`: an emulator's lifecycle (`start()`/`stop()`/`with`) and request log. `stop()`
  closes the listening socket *and* every kept-alive connection, so a stopped emulator really stops
  answering.
- `KeepAliveHandler`: HTTP/1.1 keep-alive with `TCP_NODELAY`, every response (status line, headers,
  body) written in one `write` (split writes stall keep-alive clients on Nagle's algorithm), a
  dropped connection that writes no byte, and an added latency.
- `RequestLogEntry`: one request as the emulator saw it; `ApiError`: an error answer with Listrak's
  `{"status", "error", "message"}` body.
- `retry_after_header`: the Retry-After a 429 fault sends, in seconds or as an HTTP-date.
- `FaultDecider`: whether a request gets a fault is a fixed function of the emulator's random-number
  knob, the request key and how many times that key was seen, so the same requests meet the same
  faults in any thread order; one key never faults more than `max_consecutive` times in a row.
- `command_line` and `serve_until_signal`: what the emulators' `python -m` commands share.

Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False)  # json.dumps(ensure_ascii=False), faster


def stable_hash(*parts: object) -> int:
    """A 64-bit integer from the parts' text, the same in every process (unlike `hash()`)."""
    text = "/".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


@dataclass
class RequestLogEntry:
    """One request as the emulator saw it; credentials are never logged, tokens only where noted."""

    time: float  # time.monotonic() when the request arrived
    wall_time: float  # time.time() when the request arrived
    method: str
    path: str  # without the emulator's base path where it has one, e.g. "/events"
    query: dict[str, str]  # decoded query parameters
    status: int  # 0 for a dropped connection
    fault: str | None = None  # the fault injected, e.g. "429", "5xx", "slow", "drop"
    retry_after: str | None = None  # the Retry-After header sent
    auth_scheme: str | None = None  # "Bearer", "Basic" or None
    token: str | None = None  # the bearer token presented (OAuth2 access tokens only)
    content_type: str | None = None  # the request's Content-Type, where it sent a body
    raw_query: str = ""  # the query string exactly as sent, percent-encoding included
    records: int = 0  # records in the response body
    answered: float | None = None  # time.monotonic() when the response was ready to send; None: none was


class ApiError(Exception):
    """An error answer: `{"status": ..., "error": "ERROR_...", "message": ...}`."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error, "message": self.message}


class FaultDecider:
    """Deterministic per-request faults with a bounded streak (thread-safe)."""

    def __init__(self, seed: int, max_consecutive: int) -> None:
        self.seed, self.max_consecutive = seed, max_consecutive
        self._seen: dict[str, int] = {}  # request key -> times seen
        self._streak: dict[str, int] = {}  # request key -> faults in a row
        self._lock = threading.Lock()

    def draw(self, key: str, n: int) -> int:
        """A 64-bit number fixed by (seed, request key, how many times that key was seen before)."""
        return stable_hash("fault", self.seed, key, n)

    def decide(self, key: str, rates: Sequence[tuple[str, float]]) -> tuple[str | None, int]:
        """(fault name or None, times the key was seen before): each fault with its rate, in order."""
        with self._lock:
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            fault = None
            if self._streak.get(key, 0) < self.max_consecutive:
                fault = pick_by_rate(self.draw(key, n), rates)
            self._streak[key] = self._streak.get(key, 0) + 1 if fault else 0
        return fault, n


RETRY_AFTER_MODES = ("seconds", "http-date", "absent", "mixed", "far-future", "past")


def retry_after_header(mode: str, seconds: int, n: int, now: datetime) -> str | None:
    """The Retry-After header of the n-th 429 answer to one request (None: no header).

    mixed: seconds, an HTTP-date, no header, in turn; far-future: a day away; past: an hour ago.
    """
    if mode == "mixed":
        mode = ("seconds", "http-date", "absent")[n % 3]
    if mode == "seconds":
        return str(seconds)
    if mode == "http-date":  # at least `seconds` away, though HTTP-dates have whole seconds
        at = now + timedelta(seconds=seconds)
        return format_datetime(at.replace(microsecond=0) + timedelta(seconds=1 if at.microsecond else 0), usegmt=True)
    if mode == "far-future":
        return format_datetime(now + timedelta(days=1), usegmt=True)
    if mode == "past":
        return format_datetime(now - timedelta(hours=1), usegmt=True)
    if mode == "absent":
        return None
    raise ValueError(f"retry_after must be one of {', '.join(RETRY_AFTER_MODES)}, not {mode!r}")


def pick_by_rate(draw: int, rates: Sequence[tuple[str, float]]) -> str | None:
    """The name whose share of [0, 1) a 64-bit draw falls in, or None past the last one."""
    point = (draw >> 11) / (1 << 53)  # uniform in [0, 1)
    for name, rate in rates:
        if point < rate:
            return name
        point -= rate
    return None


class _TrackingServer(ThreadingHTTPServer):
    """A threading server that knows its open connections and the service it serves."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[KeepAliveHandler], service: LoopbackService) -> None:
        super().__init__(address, handler)
        self.service = service
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def close_connections(self) -> None:
        with self.connections_lock:
            connections, self.connections = list(self.connections), set()
        for connection in connections:  # keep-alive connections would otherwise still be served
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Keep-alive, TCP_NODELAY, single-write responses; `self.service` is the emulator being served."""

    protocol_version = "HTTP/1.1"
    server: _TrackingServer

    @property
    def service(self) -> Any:
        return self.server.service

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def delay(self, milliseconds: float) -> None:
        if milliseconds:
            time.sleep(milliseconds / 1000)

    def drop(self) -> None:
        """Closes the connection without writing a byte."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def act_out_transport_fault(self, entry: RequestLogEntry, slow_seconds: float) -> bool:
        """A "drop" fault: logs the request and closes the connection (True: nothing more to send).
        A "slow" fault: waits `slow_seconds` first (False: answer as usual)."""
        if entry.fault == "drop":
            self.service.log(entry)
            self.drop()
            return True
        if entry.fault == "slow":
            self.delay(slow_seconds * 1000)
        return False

    def answer_and_log(
        self,
        entry: RequestLogEntry,
        status: int,
        payload: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = JSON_CONTENT_TYPE,
        records: int = 0,
    ) -> None:
        """Logs the request with its answer, then sends it: a client that got the answer finds it in the log."""
        entry.status, entry.records, entry.retry_after = status, records, (headers or {}).get("Retry-After")
        entry.answered = time.monotonic()
        self.service.log(entry)
        self.send_payload(status, payload, headers, content_type)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.send_payload(status, JSON_ENCODER.encode(body).encode(), headers)

    def send_payload(
        self, status: int, payload: bytes, headers: dict[str, str] | None = None, content_type: str = JSON_CONTENT_TYPE
    ) -> None:
        """Status line, headers and body in one write."""
        head = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(payload)}",
        ]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if (headers or {}).get("Connection") == "close":
            self.close_connection = True
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        except OSError:  # the client went away (it timed out on a slow answer, say)
            self.close_connection = True


class LoopbackService:
    """Start, stop and request log of an emulator whose requests `handler_class` answers."""

    handler_class: type[KeepAliveHandler]
    base_path = ""
    thread_name = "listrak-emulator"

    def __init__(self) -> None:
        self.request_log: list[RequestLogEntry] = []
        self.origin = ""  # http://host:port once started
        self.base_url = ""  # origin + base_path once started
        self._log_lock = threading.Lock()
        self._server: _TrackingServer | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listens on (host, port; 0 = any free port) and returns the base URL."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        server = _TrackingServer((host, port), self.handler_class, self)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True, name=self.thread_name).start()
        self._server = server
        self.origin = f"http://{host}:{server.server_address[1]}"
        self.base_url = self.origin + self.base_path
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def clear_log(self) -> None:
        with self._log_lock:
            self.request_log.clear()

    def log(self, entry: RequestLogEntry) -> None:
        with self._log_lock:
            self.request_log.append(entry)


def request_key(path: str, query: dict[str, str]) -> str:
    """What identifies a request for the fault decision: its path and its sorted query."""
    return path + "?" + "&".join(f"{name}={value}" for name, value in sorted(query.items()))


def new_log_entry(handler: KeepAliveHandler, path: str, query: dict[str, str], raw_query: str) -> RequestLogEntry:
    """A log entry stamped now for the request `handler` is answering (status 0 until answered)."""
    return RequestLogEntry(time.monotonic(), time.time(), handler.command, path, query, 0, raw_query=raw_query)


def command_line(description: str, port: int) -> argparse.ArgumentParser:
    """The options every emulator command takes: --host, --port, --seed, --latency-ms, --fault-rate, --now."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port, help="0: any free port")
    parser.add_argument("--seed", type=int, default=0, help="the same seed gives the same data and faults")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests answered with a fault")
    parser.add_argument("--now", help="the emulator's clock, ISO-8601 with an offset (default: now)")
    return parser


def parse_now(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def serve_until_signal(
    service: LoopbackService, host: str, port: int, details: Callable[[], Iterable[str]] = tuple
) -> int:
    """Serves until SIGINT or SIGTERM; once listening, prints `listening on <base URL>` and `details()`."""
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    print(f"listening on {service.start(host, port)}")
    for line in details():
        print(line)
    print(end="", flush=True)
    while not stopped.wait(0.5):
        pass
    service.stop()
    return 0
