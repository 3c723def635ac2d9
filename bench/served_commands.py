"""The stdin command loop of both benchmark servers (bench/server.py, bench/email_server.py)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any


def answer_commands(emulator: Any, own: Mapping[str, Callable[[], Any]]) -> int:
    """Answers `clear`, `latency <ms>` and the server's `own` commands, one JSON line each, until `quit`
    or the end of stdin; then stops the emulator."""
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "quit":
            break
        reply: Any
        if command == "clear":
            emulator.clear_log()
            reply = {"ok": True}
        elif command == "latency":
            emulator.faults.latency_ms = float(argument)
            reply = {"ok": True, "latency_ms": emulator.faults.latency_ms}
        elif command in own:
            reply = own[command]()
        else:
            reply = {"error": f"unknown command {command!r}"}
        print(json.dumps(reply), flush=True)
    emulator.stop()
    return 0
