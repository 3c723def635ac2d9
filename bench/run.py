"""Throughput and memory benchmark of source-listrak's events stream (not part of the test suite).

    .venv/bin/python bench/run.py                                   # 10k and 100k events, 0 and 100 ms
    .venv/bin/python bench/run.py --sizes 10000,100000,1000000 --latency 0 --repeat 1
    .venv/bin/python bench/run.py --profile                         # py-spy over the connector's read

Starts the project's emulator (bench/server.py, its own process) with N events, then measures, in the
same run and against the same server:

    floor        a bare `requests` loop: every page of /events, perPage 1000, one window, orjson-parsed
    sequential   `source-listrak read`, events only, incremental, concurrency 1, window_days 365
    concurrent   `source-listrak read` with concurrency 8, window_days 3
    pyairbyte    PyAirbyte + DuckDBCache: the connector end to end into DuckDB
    dlt          dlt's rest_api source into DuckDB (parquet loader files), in bench/.venv-dlt

and writes bench/results/results.md, results.json and chart.png. See bench/README.md.

This file is the command line; beside it, a module per thing measured: events.py (the run above),
defaults.py (`--defaults`), profiling.py (`--profile`), email_api.py with email_report.py (the Email API
benchmark, `scripts/bench email`); and what they share: measure.py (processes, peak RSS, CPU, request
timelines), jobs.py (the clients, each run in its own process by `run.py --job`), report.py.

Only the standard library is imported at module level, here and in the modules this file imports: the
same file runs the dlt job inside bench/.venv-dlt (`--job dlt`), which has neither psutil nor matplotlib.
"""

from __future__ import annotations

import argparse
import sys

import defaults
import events
import jobs
import profiling
from events import METHODS, PER_PAGE
from measure import BENCH, CONNECTOR


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes", default=None, help="event counts, comma-separated (default 10000,100000; --defaults: 20000,100000)"
    )
    parser.add_argument(
        "--latency", default=None, help="per-request latency in ms, comma-separated (default 0,100; --defaults: 100)"
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs of each (default 3; --defaults: 5)")
    parser.add_argument(
        "--defaults",
        action="store_true",
        help="instead: the connector at default settings vs a sequential replay of its requests "
        "(bench/results/defaults/)",
    )
    parser.add_argument("--replay-repeat", type=int, default=3, help="--defaults: replays (each after a connector run)")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"subset of {','.join(METHODS)}")
    parser.add_argument("--concurrency", type=int, default=8, help="the concurrent read's concurrency")
    parser.add_argument("--window-days", type=int, default=3, help="the concurrent read's window_days")
    parser.add_argument(
        "--per-page", type=int, default=PER_PAGE, help="perPage of every method (the connector's default is 100)"
    )
    parser.add_argument(
        "--server",
        choices=("rendered", "plain"),
        default="rendered",
        help="rendered: pages built from records serialized once (default); plain: the emulator as is",
    )
    parser.add_argument("--dlt-format", choices=("parquet", "jsonl"), default="parquet")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one run is killed")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="before each run, wait up to this many seconds for other processes to leave the CPUs idle",
    )
    parser.add_argument("--out", default=None, help="default bench/results (--defaults: bench/results/defaults)")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the runs already in results.json for the sizes/latencies/methods not run now",
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the connector's read instead")
    parser.add_argument("--job", choices=sorted(jobs.JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    if args.defaults:
        args.sizes = args.sizes or "20000,100000"
        args.latency = args.latency or "100"
        args.repeat = args.repeat or 5
        args.out = args.out or str(BENCH / "results" / "defaults")
    args.sizes = [int(s) for s in (args.sizes or "10000,100000").split(",") if s]
    args.latencies = [float(s) for s in (args.latency or "0,100").split(",") if s]
    args.repeat = args.repeat or 3
    args.out = args.out or str(BENCH / "results")
    args.method_list = [m for m in args.methods.split(",") if m]
    unknown = set(args.method_list) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.job:
        return jobs.run_job(args.job, args.spec)
    if not CONNECTOR.exists():
        print(f"{CONNECTOR} not found: run scripts/test or scripts/demo once to set up .venv", file=sys.stderr)
        return 2
    events.events_catalog()  # discovered in this process before anything is measured
    if args.profile:
        return profiling.profile(args)
    if args.defaults:
        return defaults.defaults_vs_replay(args)
    return events.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
