"""The Email API v1 at scale: source-listrak against the v1 emulator with 1M activity rows (not a test).

    .venv/bin/python bench/email_api.py                   # 1M rows: ~30 min
    .venv/bin/python bench/email_api.py --soak            # then the 10M-row soak: ~40 min more
    .venv/bin/python bench/email_api.py --soak-only --soak-messages 600   # a 3M-row soak only

The emulator runs in its own process (bench/email_server.py): 3 large lists (plus the list whose
child routes answer 404), `--messages` sent messages in the engagement window over all lists
(default 200), `--recipients` activity rows (default 5000) and `--links` links (default 10) per
message: 1,000,000 activity rows, ~125k clicks, ~2,900 requests for the 21 streams. The answers are
cached in the emulator (`EmailV1Emulator.cache_answers`), filled by a warm-up read at no latency
that is not measured, so that building pages is not what is measured. Then, with `--latency` ms
(default 100) added to every request:

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
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import run as bench  # bench/run.py, beside this script

BENCH = bench.BENCH

REPO = bench.REPO
TOKEN_PATH = "/OAuth2/Token"
ENGAGEMENT = (
    "messages",
    "message_details",
    "message_summary",
    "message_links",
    "message_link_clickers",
    "message_activity",
)


def limiter_window_seconds() -> float:
    """The request budget's window, from the manifest (`interval: PT1.25S`)."""
    import yaml

    manifest = yaml.safe_load((REPO / "source_listrak" / "manifest.yaml").read_text())
    interval = manifest["api_budget"]["policies"][0]["rates"][0]["interval"]
    return float(interval.removeprefix("PT").removesuffix("S"))


LIMITER_WINDOW_S = limiter_window_seconds()
TARGETS = {"requests_within": 0.10, "speedup": 3.0, "peak_rss_mb": 200.0, "soak_growth": 0.15}


class EmailServer(bench.Server):
    """bench/email_server.py in its own process, driven over stdin (the same commands as bench/server.py)."""

    def __init__(self, options: list[str]) -> None:
        self.process = subprocess.Popen(
            [str(bench.VENV_PYTHON), str(BENCH / "email_server.py"), *options],
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
        [str(bench.CONNECTOR), "discover", "--config", "config.json"],
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


def read(
    server: EmailServer, work: Path, the_catalog: dict[str, Any], settings: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """One `source-listrak read`, measured; its requests from the emulator's log."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "config.json").write_text(json.dumps(config(server.hello, **settings)))
    (work / "catalog.json").write_text(json.dumps(the_catalog))
    command = [str(bench.CONNECTOR), "read", "--config", "config.json", "--catalog", "catalog.json"]
    bench.wait_for_quiet(server, args.quiet_wait)
    server.command("clear")
    before = bench.cpu_snapshot(server)
    result = bench.measure(command, work, connector_env(), count_records=True, timeout=args.timeout, by_stream=True)
    other = bench.other_cpu_seconds(before, bench.cpu_snapshot(server), result.get("cpu_s", 0.0))
    log = sorted(server.command("requests"))
    result.update(other_load=other / result["wall"], settings=settings, **requests_made(log))
    result.update(bench.timeline(result["started_at"], result["wall"], [e[0] for e in log], [e[1] for e in log]))
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
    return {
        "requests": len(log),
        "data_requests": len(data_arrivals),
        "token_requests": by_stream.pop("token", 0),
        "requests_by_stream": by_stream,
        "statuses": by_status,
        "most_in_1s": bench.most_in_window(arrivals, 1.0),
        "most_in_window": bench.most_in_window(arrivals, LIMITER_WINDOW_S),
        "data_most_in": {
            f"{w:g}": bench.most_in_window(data_arrivals, w) for w in (0.5, 1.0, LIMITER_WINDOW_S, 2 * LIMITER_WINDOW_S)
        },
        "data_most_in_1s": bench.most_in_window(data_arrivals, 1.0),
        "data_most_in_window": bench.most_in_window(data_arrivals, LIMITER_WINDOW_S),
        "span_s": (max(arrivals) - min(arrivals)) if arrivals else 0.0,
    }


def replay_of(server: EmailServer, made: list[list[Any]], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    form = {
        "grant_type": "client_credentials",
        "client_id": server.hello["client_id"],
        "client_secret": server.hello["client_secret"],
    }
    requests = [[method, url, form if method == "POST" else None] for method, url, _ in made]
    bench.wait_for_quiet(server, args.quiet_wait)
    server.command("clear")
    before = bench.cpu_snapshot(server)
    result = bench.replay(requests, None, work, args.timeout)
    other = bench.other_cpu_seconds(before, bench.cpu_snapshot(server), result.get("cpu_s", 0.0))
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
        raw = out / "profile-email.raw.txt"
        command = [str(REPO / ".venv" / "bin" / "py-spy"), "record", "-f", "raw", "-r", "100", "-o", str(raw), "--"]
        command += [str(bench.CONNECTOR), "read", "--config", "config.json", "--catalog", "catalog.json"]
        started = time.perf_counter()
        subprocess.run(command, cwd=work, env=connector_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - started
    finally:
        server.stop()
    title = (
        f"default read, {args.messages} messages x {args.recipients} rows, {args.latency:g} ms, py-spy ({wall:.1f} s)"
    )
    report = bench.aggregate_profile(raw, title)
    (out / "profile-email.txt").write_text(report)
    print(report)
    return 0


# ------------------------------------------------------------------------------------------ report


def per_record_us(cpu: float, records: int) -> float:
    return cpu / records * 1e6 if records else float("nan")


def summarize(runs: list[dict[str, Any]], hellos: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The figures and the targets, from the runs of each scale."""
    summary: dict[str, Any] = {}
    for scale, hello in hellos.items():
        mine = [r for r in runs if r["scale"] == scale and "error" not in r]
        default = [r for r in mine if r["kind"] == "default"]
        replays = [r for r in mine if r["kind"] == "replay"]
        budget = [r for r in mine if r["kind"] == "budget"]
        warm = [r for r in mine if r["kind"] == "warm-up"]
        failed = [r["kind"] for r in runs if r["scale"] == scale and "error" in r]
        expected = hello["expected_records"]
        model = hello["model"]
        figures: dict[str, Any] = {"failed": failed, "expected_records": expected, "model": model}
        reads = warm + default + budget
        figures["records_match"] = all(r.get("records_by_stream") == expected for r in reads)
        figures["records_mismatch"] = [
            {
                s: (r.get("records_by_stream", {}).get(s), n)
                for s, n in expected.items()
                if r.get("records_by_stream", {}).get(s) != n
            }
            for r in reads
            if r.get("records_by_stream") != expected
        ]
        if default:
            data = [r["data_requests"] for r in default]
            total_model = sum(model.values())
            figures["data_requests"] = data
            figures["model_total"] = total_model
            figures["requests_vs_model"] = [d / total_model - 1 for d in data]
            figures["token_requests"] = [r["token_requests"] for r in default]
            figures["requests_by_stream"] = default[0]["requests_by_stream"]
            figures["stream_spans"] = default[0].get("stream_spans", {})
            figures["wall"] = [r["wall"] for r in default]
            figures["peak_rss_mb"] = [r["peak_rss_mb"] for r in default]
            figures["cpu_s"] = [r["cpu_s"] for r in default]
            figures["records"] = [r["records"] for r in default]
            figures["cpu_us_per_record"] = [per_record_us(r["cpu_s"], r["records"]) for r in default]
            figures["most_in_1s"] = [r["most_in_1s"] for r in default]
            figures["other_load"] = max(r.get("other_load", 0.0) for r in default)
            for name in ("to_first_request_s", "requests_span_s", "after_last_answer_s", "mean_in_flight"):
                figures[name] = [r[name] for r in default if name in r]
        if replays:
            figures["replay_wall"] = [r["wall"] for r in replays]
            figures["replay_records"] = [r["records"] for r in replays]
            figures["replay_requests"] = [r["requests"] for r in replays]
            figures["replay_statuses"] = [r["by_status"] for r in replays]
            figures["replay_loop_cpu_us_per_record"] = [per_record_us(r["loop_cpu_s"], r["records"]) for r in replays]
            figures["replay_cpu_us_per_record"] = [per_record_us(r["cpu_s"], r["records"]) for r in replays]
            figures["replay_pairs"] = [r["vs_connector"] for r in replays]
            figures["replay_other_load"] = max(r.get("other_load", 0.0) for r in replays)
            if default:
                figures["speedup"] = bench.median(figures["replay_wall"]) / bench.median(figures["wall"])
                figures["cpu_vs_floor"] = bench.median(figures["cpu_us_per_record"]) / bench.median(
                    figures["replay_loop_cpu_us_per_record"]
                )
        if budget:
            b = budget[0]
            figures["budget"] = {
                "requests_per_second": b["budget"],
                "wall": b["wall"],
                "requests": b["requests"],
                "most_in_1s": b["most_in_1s"],
                "most_in_window": b["most_in_window"],
                "data_most_in_1s": b["data_most_in_1s"],
                "data_most_in_window": b["data_most_in_window"],
                "token_requests": b["token_requests"],
                "data_most_in": b.get("data_most_in", {}),
                "least_wall": (b["requests"] - b["token_requests"]) * LIMITER_WINDOW_S / b["budget"],
                "peak_rss_mb": b["peak_rss_mb"],
                "records": b["records"],
            }
        figures["server_rss_mb"] = hello.get("server_rss_mb")
        summary[scale] = figures
    return summary


def verdict(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def write_markdown(path: Path, summary: dict[str, Any], hellos: dict[str, Any], meta: dict[str, Any]) -> None:
    spread = bench.spread
    lines = [
        "# source-listrak and the Email API v1 at scale",
        "",
        *[f"`{command}`  " for command in meta["commands"]],
        "",
        f"{meta['date']}; {meta['machine']}; Python {meta['python']}; airbyte-cdk {meta['cdk']}; "
        f"{meta['latency_ms']:g} ms added to every request by the emulator (bench/email_server.py, answers "
        f"cached after an unmeasured warm-up read at no latency); {len(meta['streams'])} streams "
        f"({', '.join(meta['streams']) if len(meta['streams']) < 21 else 'all 21'}), incremental where they "
        "can be, no state."
        + (f" Connector environment: {meta['connector_env']}." if meta.get("connector_env") else "")
        + (f" **Settings changed from the defaults: {meta['settings']}.**" if meta.get("settings") else ""),
        "",
        "**default** = `source-listrak read` with config `{credentials (OAuth2 client credentials), base_url, "
        "token_url, start_date}` only: concurrency 8, no request budget, count 5000. **replay** = the "
        "requests that run made (token POSTs included), in the order they reached the emulator, one after "
        "another with a bare `requests.Session` + `orjson.loads` (`bench/run.py --job replay`). Wall time "
        "and CPU of the whole process (start-up included); peak RSS = largest sum of RSS over the process "
        "and its children (psutil, every 20 ms). Figures: min / **median** / max over the runs.",
        "",
    ]
    for scale, figures in summary.items():
        hello = hellos[scale]
        expected = figures["expected_records"]
        rows = expected.get("message_activity", 0)
        lines += [
            f"## {scale}: {rows:,} activity rows",
            "",
            f"Account: {meta['lists']} large lists (+ the emulator's list whose child routes answer 404), "
            f"{hello['messages_per_list']} messages per list over 400 days; `start_date` "
            f"{hello['start_date']} puts exactly {expected.get('messages', '?')} sent messages (over all "
            f"lists) in the window; {meta['recipients']:,} recipients and {meta['links']} links per message. "
            f"Records expected: {sum(expected.values()):,} in all. Emulator process: "
            f"{(figures.get('server_rss_mb') or 0):,.0f} MB with its cached answers.",
            "",
        ]
        if figures["failed"]:
            lines += [f"Failed runs: {', '.join(figures['failed'])}.", ""]
        if "wall" not in figures:
            continue
        records_ok = figures["records_match"]
        lines += [
            "| figure | measured | target | verdict |",
            "|---|---|---|---|",
            f"| records per stream = the emulator's oracle (every read) | "
            f"{'all equal' if records_ok else figures['records_mismatch']} | equal | {verdict(records_ok)} |",
        ]
        within = max(abs(x) for x in figures["requests_vs_model"])
        lines.append(
            f"| data requests vs the §3.6 model ({figures['model_total']:,}) | "
            f"{', '.join(f'{d:,}' for d in sorted(set(figures['data_requests'])))} "
            f"({', '.join(f'{x:+.1%}' for x in sorted(set(figures['requests_vs_model'])))}); "
            f"+ {', '.join(str(t) for t in sorted(set(figures['token_requests'])))} token requests | within ±10% | "
            f"{verdict(within <= TARGETS['requests_within'])} |"
        )
        mark = " †" if figures.get("other_load", 0) > bench.DISTURBED else ""
        lines.append(f"| default read, wall s | {spread(figures['wall'], 1)}{mark} | | |")
        if "replay_wall" in figures:
            mark = " †" if figures.get("replay_other_load", 0) > bench.DISTURBED else ""
            pairs = figures["replay_pairs"]
            lines += [
                f"| replay of the same requests, wall s | {spread(figures['replay_wall'], 1)}{mark} | | |",
                f"| replay ÷ default (ratio of the medians; each pair) | **{figures['speedup']:.1f}×** "
                f"({min(pairs):.1f}-{max(pairs):.1f}) | ≥ 3× | {verdict(figures['speedup'] >= TARGETS['speedup'])} |",
            ]
        peak = max(figures["peak_rss_mb"])
        if scale == "soak":  # judged against the other scale's peak, in the last section
            target, judged = "within 15% of the other scale's (below)", "-"
        else:
            target, judged = "< 200 (worst run)", verdict(peak < TARGETS["peak_rss_mb"])
        lines.append(f"| default read, peak RSS MB | {spread(figures['peak_rss_mb'], 0)} | {target} | {judged} |")
        if "budget" in figures:
            b = figures["budget"]
            limit = b["requests_per_second"]
            lines += [
                f"| budget read (`requests_per_second: {limit}`): most API requests in any 1 s [t, t + 1) of the "
                f"emulator's log (in any {LIMITER_WINDOW_S:g} s, the limiter's window) | {b['data_most_in_1s']} "
                f"({b['data_most_in_window']}) | ≤ {limit} | "
                f"{verdict(b['data_most_in_1s'] <= limit)} |",
                f"| the same with the token POSTs to the auth host, which the budget does not pace "
                f"({b['token_requests']} of {b['requests']:,}) | {b['most_in_1s']} ({b['most_in_window']}) | - | - |",
                "| the same, data requests in windows of "
                + ", ".join(f"{w} s" for w in b["data_most_in"])
                + " | "
                + ", ".join(str(n) for n in b["data_most_in"].values())
                + " | at the budget: "
                + ", ".join(str(math.ceil(float(w) / LIMITER_WINDOW_S - 1e-9) * limit) for w in b["data_most_in"])
                + " "
                "| - |",
                f"| budget read, wall s; peak RSS MB | {b['wall']:.1f} (≥ {b['least_wall']:.1f} s for "
                f"{b['requests'] - b['token_requests']:,} data requests at the budget); {b['peak_rss_mb']:.0f} | | |",
            ]
        lines.append(
            f"| default read, most requests in any 1 s (no budget) | {spread(figures['most_in_1s'], 0)} | - | - |"
        )
        if figures.get("mean_in_flight"):
            lines.append(
                f"| default read: start-up to the first request s; first request to last answer s; after it to "
                f"the exit s; requests in flight on average (8 at most) | {spread(figures['to_first_request_s'], 2)}; "
                f"{spread(figures['requests_span_s'], 1)}; {spread(figures['after_last_answer_s'], 2)}; "
                f"{spread(figures['mean_in_flight'], 1)} | | |"
            )
        lines.append(
            f"| default read, CPU s (whole process) | {spread(figures['cpu_s'], 1)} for "
            f"{', '.join(f'{r:,}' for r in sorted(set(figures['records'])))} records | | |"
        )
        if "replay_wall" in figures:
            lines += [
                f"| CPU per record: default read (process CPU ÷ records emitted) | "
                f"{spread(figures['cpu_us_per_record'], 1, ' µs')} | | |",
                f"| CPU per record: floor (replay loop: fetch + orjson of the same pages ÷ records in them) | "
                f"{spread(figures['replay_loop_cpu_us_per_record'], 2, ' µs')} (whole replay process: "
                f"{spread(figures['replay_cpu_us_per_record'], 2, ' µs')}) | | |",
                f"| CPU per record, default read ÷ floor | **{figures['cpu_vs_floor']:.1f}×** | report | - |",
            ]
        lines += [
            "",
            "Data requests per stream (first default read) against the model, and when that read made them "
            "(seconds after its start: first arrival, last answer; a stream's requests include those its "
            "children's partition routers make to read it as a parent):",
            "",
        ]
        lines += [
            "| stream | records | requests | model | difference | from s | to s |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        made, spans = figures["requests_by_stream"], figures.get("stream_spans", {})
        for stream, count in figures["model"].items():
            first, last, _ = spans.get(stream, [float("nan"), float("nan"), 0])
            lines.append(
                f"| {stream} | {expected.get(stream, 0):,} | {made.get(stream, 0):,} | {count:,} | "
                f"{made.get(stream, 0) - count:+,} | {first:.1f} | {last:.1f} |"
            )
        if "token" in spans:
            first, last, count = spans["token"]
            lines.append(f"| (token POSTs) | | {count:,} | | | {first:.1f} | {last:.1f} |")
        lines.append("")
    main_scale = next((scale for scale in summary if scale != "soak"), None)
    if "soak" in summary and main_scale and "peak_rss_mb" in summary["soak"] and "peak_rss_mb" in summary[main_scale]:
        soak, main = summary["soak"], summary[main_scale]
        growth = max(soak["peak_rss_mb"]) / max(main["peak_rss_mb"]) - 1
        lines += [
            f"## Soak: memory flat from {main_scale} to the soak",
            "",
            f"| figure | {main_scale} | soak | change | target | verdict |",
            "|---|---:|---:|---:|---|---|",
            f"| peak RSS MB (worst default read) | {max(main['peak_rss_mb']):.0f} | {max(soak['peak_rss_mb']):.0f} | "
            f"{growth:+.1%} | within 15% | {verdict(abs(growth) <= TARGETS['soak_growth'])} |",
            f"| CPU per record µs (median) | {bench.median(main['cpu_us_per_record']):.1f} | "
            f"{bench.median(soak['cpu_us_per_record']):.1f} | | | |",
            "",
        ]
    if any(
        s.get("other_load", 0) > bench.DISTURBED or s.get("replay_other_load", 0) > bench.DISTURBED
        for s in summary.values()
    ):
        lines += [
            f"† Other processes on the machine used more than {bench.DISTURBED:.0%} of a CPU during at least one "
            "of these runs: those wall times may be slower than the code is.",
            "",
        ]
    path.write_text("\n".join(lines))


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
    parser.add_argument("--budget", type=int, default=20, help="requests_per_second of the budget read (0: none)")
    parser.add_argument(
        "--streams", default="all", help="all (the 21), engagement (messages and its 5 children), or a list"
    )
    parser.add_argument("--soak", action="store_true", help="then the soak: --soak-messages in the window")
    parser.add_argument("--soak-only", action="store_true", help="only the soak; the 1M figures from results.json")
    parser.add_argument("--soak-messages", type=int, default=None, help="default 10x --messages (10M rows)")
    parser.add_argument("--profile", action="store_true", help="py-spy over one default read instead")
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
        from listrak_emulators.email_v1 import STREAMS

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
    if not bench.CONNECTOR.exists():
        print(f"{bench.CONNECTOR} not found: run scripts/bench --help once to set up .venv", file=sys.stderr)
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
    summary = summarize(runs, hellos)
    meta = {
        **bench.run_meta(commands),
        "latency_ms": args.latency,
        "streams": args.stream_list,
        "lists": args.lists,
        "recipients": args.recipients,
        "links": args.links,
        "connector_env": EXTRA_ENV,
        "settings": EXTRA_SETTINGS,
        **bench.versions(None),
    }
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "hellos": hellos, "summary": summary, "runs": runs}, indent=1, default=str)
    )
    write_markdown(out / "results.md", summary, hellos, meta)
    print((out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
