"""The Email API v1 at scale: source-listrak against the v1 emulator with 1M activity rows (not a test).

    .venv/bin/python bench/email_api.py                   # 1M rows: ~30 min
    .venv/bin/python bench/email_api.py --soak            # then the 10M-row soak: ~40 min more
    .venv/bin/python bench/email_api.py --soak-only --soak-messages 600   # a 3M-row soak only

The emulator runs in its own process (bench/email_server.py): 3 large lists (plus the list whose
child routes answer 404), `--messages` sent messages in the engagement window over all lists
(default 200), `--recipients` activity rows (default 5000) and `--links` links (default 10) per
message: 1,000,000 activity rows, ~125k clicks, ~3,000 requests for every stream. The answers are
cached in the emulator (`EmailV1Emulator.cache_answers`), filled by a warm-up read at no latency
that is not measured, so that building pages is not what is measured. Then, with `--latency` ms
(default 100) added to every request:

    previous   (--previous DIR) the same default read with an earlier source_listrak (DIR on PYTHONPATH), after
               each default read: a before/after pair measured under the same machine load
    cdk        the CDK's declarative record path alone on the same streams (bench/cdk_email_baseline.py:
               the packaged manifest with every custom component replaced by the CDK's own or removed,
               same concurrency), after each of the first `--cdk-repeat` default runs: its CPU per record
               is what the connector's is compared with
    default    `source-listrak read` at default settings (config: credentials, base_url, token_url,
               start_date): concurrency 8, no request budget, count 5000; every stream, incremental
               catalog, no state; `--repeat` runs
    replay     the requests that run made (token POSTs included), from the emulator's log, in the
               order they arrived, one after another: a bare requests.Session + orjson.loads
               (`run.py --job replay`); after each of the first `--replay-repeat` default runs
    budget     one default read with `requests_per_second: --budget` (default 20); the emulator's
               log must show no more than that many API requests in any 1 s (token POSTs go to
               Listrak's auth host and are not paced by the budget)
    soak       (--soak) 10x the messages (2,000 in the window: 10M activity rows), one default read,
               peak RSS against the 1M runs'

Writes bench/results/email-api/results.md (in git) and results.json (not). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import email_report
import measure
import profiling
import report
from email_report import LIMITER_WINDOW_S
from measure import BENCH, REPO

from listrak_emulators.email_v1 import STREAMS, descendants

TOKEN_PATH = "/OAuth2/Token"
ENGAGEMENT = ("messages", *descendants("messages"))


class EmailServer(measure.Server):
    """bench/email_server.py in its own process, driven over stdin (the same commands as bench/server.py)."""

    def __init__(self, options: list[str]) -> None:
        self.process = subprocess.Popen(
            [str(measure.VENV_PYTHON), str(BENCH / "email_server.py"), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.hello: dict[str, Any] = json.loads(self._readline())
        self.base_url = self.hello["base_url"]
        self.origin = self.base_url[: -len("/email/v1")]

    def rss_mb(self) -> float:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss / 2**20


EXTRA_ENV: dict[str, str] = {}  # --connector-env
EXTRA_SETTINGS: dict[str, Any] = {}  # --set


def connector_env() -> dict[str, str]:
    return {**os.environ, "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", **EXTRA_ENV}


def config(hello: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """Credentials, the emulator's URLs and the window's start: every other setting is its default."""
    return {
        "credentials": {
            "auth_type": "oauth2_client_credentials",
            "client_id": hello["client_id"],
            "client_secret": hello["client_secret"],
        },
        "base_url": hello["base_url"],
        "token_url": hello["token_url"],
        "start_date": hello["start_date"],
        **EXTRA_SETTINGS,
        **settings,
    }


def catalog(hello: dict[str, Any], streams: list[str], work: Path) -> dict[str, Any]:
    """The discovered streams asked for, incremental where they can be, with their default cursors."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.json").write_text(json.dumps(config(hello)))
    found = subprocess.run(
        [str(measure.CONNECTOR), "discover", "--config", "config.json"],
        cwd=work,
        env=connector_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    messages = [json.loads(line) for line in found.splitlines() if line.startswith('{"type":"CATALOG"')]
    chosen = [s for s in messages[0]["catalog"]["streams"] if s["name"] in streams]
    missing = set(streams) - {s["name"] for s in chosen}
    if missing:
        raise SystemExit(f"the connector does not discover {', '.join(sorted(missing))}")
    return {
        "streams": [
            {
                "stream": stream,
                "sync_mode": "incremental" if "incremental" in stream["supported_sync_modes"] else "full_refresh",
                "destination_sync_mode": "append",
                "cursor_field": stream.get("default_cursor_field") or [],
            }
            for stream in chosen
        ]
    }


CDK_ALONE = [str(measure.VENV_PYTHON), str(BENCH / "cdk_email_baseline.py")]


def read(
    server: EmailServer,
    work: Path,
    the_catalog: dict[str, Any],
    settings: dict[str, Any],
    args: argparse.Namespace,
    program: list[str] | None = None,
) -> dict[str, Any]:
    """One `source-listrak read` (or `program`'s), measured; its requests from the emulator's log."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "config.json").write_text(json.dumps(config(server.hello, **settings)))
    (work / "catalog.json").write_text(json.dumps(the_catalog))
    command = [*(program or [str(measure.CONNECTOR)]), "read", "--config", "config.json", "--catalog", "catalog.json"]
    measure.wait_for_quiet(server, args.quiet_wait)
    server.command("clear")
    before = measure.cpu_snapshot(server)
    result = measure.measure(command, work, connector_env(), count_records=True, timeout=args.timeout, by_stream=True)
    other = measure.other_cpu_seconds(before, measure.cpu_snapshot(server), result.get("cpu_s", 0.0))
    log = sorted(server.command("requests"))
    result.update(other_load=other / result["wall"], settings=settings, **requests_made(log))
    result.update(measure.timeline(result["started_at"], result["wall"], [e[0] for e in log], [e[1] for e in log]))
    spans: dict[str, list[float]] = {}  # stream -> [first arrival, last answer, requests], seconds after the start
    for arrived, answered, *_, stream in log:
        span = spans.setdefault(stream, [arrived - result["started_at"], 0.0, 0])
        span[1] = max(span[1], (answered or arrived) - result["started_at"])
        span[2] += 1
    result["stream_spans"] = spans
    result["made"] = [
        ["POST", server.origin + path, None] if stream == "token" else ["GET", server.origin + path + f"?{q}", None]
        for _, _, _, path, q, _, _, stream in log
    ]
    return result


def requests_made(log: list[list[Any]]) -> dict[str, Any]:
    """Figures from one run's log: requests per stream, token requests, statuses, the busiest windows."""
    by_stream: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for entry in log:
        by_stream[entry[7]] = by_stream.get(entry[7], 0) + 1
        by_status[str(entry[5])] = by_status.get(str(entry[5]), 0) + 1
    arrivals = [entry[0] for entry in log]
    data_arrivals = [entry[0] for entry in log if entry[7] != "token"]
    windows = (0.5, 1.0, LIMITER_WINDOW_S, 2 * LIMITER_WINDOW_S)
    return {
        "requests": len(log),
        "data_requests": len(data_arrivals),
        "token_requests": by_stream.pop("token", 0),
        "requests_by_stream": by_stream,
        "statuses": by_status,
        "most_in_1s": measure.most_in_window(arrivals, 1.0),
        "most_in_window": measure.most_in_window(arrivals, LIMITER_WINDOW_S),
        "data_most_in": {f"{w:g}": measure.most_in_window(data_arrivals, w) for w in windows},
        "data_most_in_1s": measure.most_in_window(data_arrivals, 1.0),
        "data_most_in_window": measure.most_in_window(data_arrivals, LIMITER_WINDOW_S),
        "span_s": (max(arrivals) - min(arrivals)) if arrivals else 0.0,
    }


def replay_of(server: EmailServer, made: list[list[Any]], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    form = {
        "grant_type": "client_credentials",
        "client_id": server.hello["client_id"],
        "client_secret": server.hello["client_secret"],
    }
    requests = [[method, url, form if method == "POST" else None] for method, url, _ in made]
    measure.wait_for_quiet(server, args.quiet_wait)
    server.command("clear")
    before = measure.cpu_snapshot(server)
    result = measure.replay(requests, None, work, args.timeout)
    other = measure.other_cpu_seconds(before, measure.cpu_snapshot(server), result.get("cpu_s", 0.0))
    result.update(other_load=other / result["wall"], served=server.command("stats"))
    return result


def show(kind: str, result: dict[str, Any]) -> None:
    line = (
        f"  {kind:<9} {result.get('records', '?'):>9} records {result['wall']:8.2f} s "
        f"{result['peak_rss_mb']:5.0f} MB {result['cpu_s']:7.1f} CPU s {result.get('requests', '?'):>6} requests"
    )
    if "most_in_1s" in result:
        line += f" (busiest second: {result['most_in_1s']})"
    if "error" in result:
        line += "  FAILED: " + result["error"].strip().splitlines()[-1][:300]
    print(line, flush=True)


def scale_run(
    label: str, messages: int, args: argparse.Namespace, scratch: Path, runs: list[dict[str, Any]], soak: bool
) -> dict[str, Any]:
    """One account size: warm-up, default reads (and replays), the budget read; appends to `runs`."""
    options = [
        "--messages-in-window",
        str(messages),
        "--recipients",
        str(args.recipients),
        "--links",
        str(args.links),
        "--lists",
        str(args.lists),
        "--streams",
        ",".join(args.stream_list),
    ]
    print(f"{label}: setting up the emulator ({messages} messages in the window)...", flush=True)
    server = EmailServer(options)
    hello = server.hello
    rows = hello["expected_records"].get("message_activity", 0)
    print(
        f"{label}: {server.base_url}, start_date {hello['start_date']}, {rows:,} activity rows, "
        f"model {sum(hello['model'].values()):,} requests (set up in {hello['setup_seconds']} s)",
        flush=True,
    )
    base = {"scale": label, "messages": messages, "activity_rows": rows}
    try:
        the_catalog = catalog(hello, args.stream_list, scratch / "discover")
        server.command("latency 0")
        warm = read(server, scratch / "connector", the_catalog, {}, args)
        warm.pop("made")
        runs.append({**base, "kind": "warm-up", "latency_ms": 0, **warm})
        show("warm-up", warm)
        server.command(f"latency {args.latency}")
        repeats = 1 if soak else args.repeat
        for repeat in range(repeats):
            result = read(server, scratch / "connector", the_catalog, {}, args)
            made = result.pop("made")
            runs.append({**base, "kind": "default", "latency_ms": args.latency, "repeat": repeat, **result})
            show("default", result)
            if not soak and repeat < args.cdk_repeat:
                alone = read(server, scratch / "cdk-alone", the_catalog, {}, args, program=CDK_ALONE)
                alone.pop("made")
                runs.append({**base, "kind": "cdk", "latency_ms": args.latency, "repeat": repeat, **alone})
                show("cdk", alone)
            if not soak and args.previous:
                EXTRA_ENV["PYTHONPATH"] = args.previous
                try:
                    before = read(server, scratch / "previous", the_catalog, {}, args)
                finally:
                    EXTRA_ENV.pop("PYTHONPATH")
                before.pop("made")
                runs.append({**base, "kind": "previous", "latency_ms": args.latency, "repeat": repeat, **before})
                show("previous", before)
            if soak or repeat >= args.replay_repeat or "error" in result:
                continue
            again = replay_of(server, made, scratch / "replay", args)
            again["vs_connector"] = again["wall"] / result["wall"]
            runs.append({**base, "kind": "replay", "latency_ms": args.latency, "repeat": repeat, **again})
            show("replay", again)
        if args.budget and not soak:
            result = read(server, scratch / "connector", the_catalog, {"requests_per_second": args.budget}, args)
            result.pop("made")
            runs.append({**base, "kind": "budget", "latency_ms": args.latency, "budget": args.budget, **result})
            show("budget", result)
        hello = {**hello, "server_rss_mb": server.rss_mb()}
    finally:
        server.stop()
    return hello


def profile_run(args: argparse.Namespace, scratch: Path, out: Path) -> int:
    """py-spy over one default read (after a warm-up), at the given latency."""
    server = EmailServer(
        ["--messages-in-window", str(args.messages), "--recipients", str(args.recipients), "--links", str(args.links)]
    )
    try:
        the_catalog = catalog(server.hello, args.stream_list, scratch / "discover")
        server.command("latency 0")
        read(server, scratch / "connector", the_catalog, {}, args)
        server.command(f"latency {args.latency}")
        work = scratch / "profile"
        work.mkdir(parents=True)
        (work / "config.json").write_text(json.dumps(config(server.hello)))
        (work / "catalog.json").write_text(json.dumps(the_catalog))
        name = "profile-email-cdk-alone" if args.profile_cdk_alone else "profile-email"
        raw = out / f"{name}.raw.txt"
        # By default every thread is sampled and the shares are taken of the samples that are not waiting
        # (profiling.WAITING_FRAMES); a thread waiting for the GIL is sampled at whatever line it stopped on.
        # --profile-gil samples only the GIL's holder, which py-spy counts even while the GIL is free.
        py_spy = [str(REPO / ".venv" / "bin" / "py-spy"), "record", "-f", "raw", "-r", "100"]
        if args.profile_gil:
            py_spy.append("--gil")
        command = [*py_spy, "-o", str(raw), "--"]
        program = CDK_ALONE if args.profile_cdk_alone else [str(measure.CONNECTOR)]
        command += [*program, "read", "--config", "config.json", "--catalog", "catalog.json"]
        started = time.perf_counter()
        subprocess.run(command, cwd=work, env=connector_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - started
    finally:
        server.stop()
    title = (
        f"{'CDK-alone' if args.profile_cdk_alone else 'default'} read, {args.messages} messages x {args.recipients} "
        f"rows, {args.latency:g} ms, py-spy ({wall:.1f} s)"
    )
    text = profiling.component_shares(raw) + "\n" + profiling.aggregate_profile(raw, title)
    (out / f"{name}.txt").write_text(text)
    print(text)
    return 0


# -------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="sent messages in the window, over all lists")
    parser.add_argument("--recipients", type=int, default=5000, help="activity rows per message")
    parser.add_argument("--links", type=int, default=10, help="links per message")
    parser.add_argument("--lists", type=int, default=3, help="large lists")
    parser.add_argument("--latency", type=float, default=100, help="ms added to every request")
    parser.add_argument("--repeat", type=int, default=3, help="default reads")
    parser.add_argument("--replay-repeat", type=int, default=3, help="replays (each after a default read)")
    parser.add_argument(
        "--cdk-repeat", type=int, default=3, help="CDK-alone reads (cdk_email_baseline.py), each after a default read"
    )
    parser.add_argument(
        "--previous",
        default="",
        metavar="DIR",
        help="after each default read, the same read with the source_listrak in DIR first on PYTHONPATH "
        "(e.g. `git archive <commit> source_listrak | tar -x -C DIR`): a before/after pair under the same load",
    )
    parser.add_argument("--budget", type=int, default=20, help="requests_per_second of the budget read (0: none)")
    parser.add_argument(
        "--streams", default="all", help="all, engagement (messages and its 5 children), or a list"
    )
    parser.add_argument("--soak", action="store_true", help="then the soak: --soak-messages in the window")
    parser.add_argument("--soak-only", action="store_true", help="only the soak; the 1M figures from results.json")
    parser.add_argument("--soak-messages", type=int, default=None, help="default 10x --messages (10M rows)")
    parser.add_argument("--profile", action="store_true", help="py-spy over one default read instead")
    parser.add_argument(
        "--profile-cdk-alone", action="store_true", help="with --profile: over the CDK-alone read (cdk_email_baseline)"
    )
    parser.add_argument(
        "--profile-gil", action="store_true", help="with --profile: sample only the GIL's holder (py-spy --gil)"
    )
    parser.add_argument(
        "--connector-env", action="append", default=[], metavar="NAME=VALUE", help="set for the connector (repeatable)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SETTING=JSON",
        help="a connector setting on top of the defaults, e.g. concurrency=4 (repeatable; the report says so)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before one run is killed")
    parser.add_argument("--quiet-wait", type=float, default=60, help="wait up to this long for idle CPUs")
    parser.add_argument("--out", default=str(BENCH / "results" / "email-api"))
    args = parser.parse_args(argv)
    if args.streams == "all":
        args.stream_list = list(STREAMS)
    elif args.streams == "engagement":
        args.stream_list = list(ENGAGEMENT)
    else:
        args.stream_list = [s for s in args.streams.split(",") if s]
    args.soak_messages = args.soak_messages or 10 * args.messages
    for pair in args.connector_env:
        name, _, value = pair.partition("=")
        EXTRA_ENV[name] = value
    for pair in args.set:
        name, _, value = pair.partition("=")
        EXTRA_SETTINGS[name] = json.loads(value)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not measure.CONNECTOR.exists():
        print(f"{measure.CONNECTOR} not found: run scripts/bench --help once to set up .venv", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="listrak-bench-email-"))
    runs: list[dict[str, Any]] = []
    hellos: dict[str, dict[str, Any]] = {}
    command = "python bench/email_api.py " + " ".join(args.argv)
    commands = [command]
    try:
        if args.profile:
            return profile_run(args, scratch, out)
        main_label = f"{args.messages * args.recipients / 1e6:g}M"
        if args.soak_only:
            previous = json.loads((out / "results.json").read_text())
            runs = [r for r in previous["runs"] if r["scale"] != "soak"]
            hellos = {k: v for k, v in previous["hellos"].items() if k != "soak"}
            commands = [c for c in previous["meta"]["commands"] if "--soak-only" not in c] + [command]
        else:
            hellos[main_label] = scale_run(main_label, args.messages, args, scratch, runs, soak=False)
        if args.soak or args.soak_only:
            hellos["soak"] = scale_run("soak", args.soak_messages, args, scratch, runs, soak=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = email_report.summarize(runs, hellos)
    meta = {
        **report.run_meta(commands),
        "latency_ms": args.latency,
        "streams": args.stream_list,
        "lists": args.lists,
        "recipients": args.recipients,
        "links": args.links,
        "connector_env": EXTRA_ENV,
        "settings": EXTRA_SETTINGS,
        "previous": args.previous,
        **report.versions(None),
    }
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "hellos": hellos, "summary": summary, "runs": runs}, indent=1, default=str)
    )
    email_report.write_markdown(out / "results.md", summary, hellos, meta)
    print((out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
