"""`python -m listrak_emulators.email_v1 --port 8766 --fault-rate 0.05 --latency-ms 20`: serves the Email
API v1 and its token endpoint on loopback until a signal, and prints the URLs and credentials to use."""

from __future__ import annotations

import argparse

from listrak_emulators.email_v1.faults import RETRY_AFTER_MODES, Faults
from listrak_emulators.email_v1.plan import Sizes
from listrak_emulators.email_v1.server import EmailV1Emulator, Integration
from listrak_emulators.http import command_line, parse_now, serve_until_signal


def _parser() -> argparse.ArgumentParser:
    parser = command_line("Serve the Listrak Email API v1 and its token endpoint on loopback.", port=8766)
    for name, default in vars(Sizes()).items():
        if isinstance(default, int) and not isinstance(default, bool):
            parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default, help=f"default {default}")
    parser.add_argument("--links-per-message", type=int, default=None, help="default: 5 to 20, drawn per message")
    parser.add_argument("--retry-after", choices=RETRY_AFTER_MODES, default="absent")
    parser.add_argument("--client-id", default=Integration.client_id)
    parser.add_argument("--client-secret", default=Integration.client_secret)
    return parser


def emulator_from_arguments(args: argparse.Namespace) -> EmailV1Emulator:
    """--fault-rate is split evenly over 429, 500, 502, 503, HTML-200 and dropped connections."""
    sizes = Sizes(**{name: getattr(args, name) for name in vars(Sizes()) if hasattr(args, name)})
    faults = Faults.at_rate(args.fault_rate, latency_ms=args.latency_ms, retry_after=args.retry_after)
    integration = Integration(client_id=args.client_id, client_secret=args.client_secret)
    return EmailV1Emulator(args.seed, parse_now(args.now), sizes, integration, faults=faults)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    emulator = emulator_from_arguments(args)

    def details() -> list[str]:
        return [
            f"token url {emulator.token_url}",
            f"client id {emulator.client_id}",
            f"client secret {emulator.client_secret}",
        ]

    return serve_until_signal(emulator, args.host, args.port, details)


if __name__ == "__main__":
    raise SystemExit(main())
