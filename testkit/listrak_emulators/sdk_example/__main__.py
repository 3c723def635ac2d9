"""`python -m listrak_emulators.sdk_example --port 8765 --events 10000`: serves the contract on loopback
until a signal."""

from __future__ import annotations

import argparse

from listrak_emulators.http import RETRY_AFTER_MODES, command_line, parse_now, serve_until_signal
from listrak_emulators.sdk_example.dataset import Sizes
from listrak_emulators.sdk_example.server import Emulator, Faults

# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    description = "Serve the REST contract of the Fivetran Connector SDK's Listrak example on loopback."
    parser = command_line(description, port=8765)
    for name, default in vars(Sizes()).items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=default, help=f"records (default {default})"
        )
    parser.add_argument("--history-days", type=int, default=80)
    parser.add_argument("--retry-after", choices=RETRY_AFTER_MODES, default="mixed")
    parser.add_argument("--api-key", default="emulator-key-0123456789")
    parser.add_argument("--account-id", default="emulator-account")
    return parser


def main(argv: list[str] | None = None) -> int:
    """--fault-rate is split evenly over 429, 5xx and dropped connections."""
    args = _parser().parse_args(argv)
    sizes = Sizes(**{name: getattr(args, name) for name in vars(Sizes())})
    share = args.fault_rate / 3
    faults = Faults(
        rate_429=share, rate_5xx=share, rate_drop=share, latency_ms=args.latency_ms, retry_after=args.retry_after
    )
    emulator = Emulator(args.seed, sizes, faults, args.api_key, args.account_id, args.history_days, parse_now(args.now))
    return serve_until_signal(emulator, args.host, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
