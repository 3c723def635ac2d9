"""`scripts/bench --defaults`: the connector at default settings against a sequential client making the
same requests (its requests replayed from the emulator's log), both against the same server and latency;
writes bench/results/defaults/results.md."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import events
from measure import (
    API_KEY,
    CONNECTOR,
    Server,
    cpu_snapshot,
    measure,
    other_cpu_seconds,
    replay,
    timeline,
    wait_for_quiet,
)
from report import DISTURBED, fmt_int, heading, median, merge_previous, run_meta, spread, versions

DEFAULTS_TARGET = 3.0  # at default settings, at least this many times faster than the same requests in a row


def defaults_vs_replay(args: argparse.Namespace) -> int:
    """`--defaults`: the connector at DEFAULT settings (credentials and base_url only: concurrency 8, no
    request budget, perPage 100, 7-day windows, 90-day initial sync) reading the events stream, then the
    exact requests it made (from the emulator's log) replayed one after another by `job_replay`; in turn
    (connector, replay, connector, replay, ...), against the same server and latency."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="listrak-bench-defaults-"))
    env = {**os.environ, "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1"}
    runs: list[dict[str, Any]] = []
    latency = args.latencies[0]
    try:
        for size in args.sizes:
            server = Server(size, args.server == "plain")
            server.command(f"latency {latency}")
            print(f"{size:,} events, {latency:g} ms: server ready at {server.base_url}", flush=True)
            try:
                for repeat in range(args.repeat):
                    work = scratch / "connector"
                    shutil.rmtree(work, ignore_errors=True)
                    work.mkdir(parents=True)
                    config = {"credentials": {"auth_type": "api_key", "api_key": API_KEY}, "base_url": server.base_url}
                    (work / "config.json").write_text(json.dumps(config))
                    (work / "catalog.json").write_text(json.dumps(events.events_catalog()))
                    command = [str(CONNECTOR), "read", "--config", "config.json", "--catalog", "catalog.json"]
                    wait_for_quiet(server, args.quiet_wait)
                    server.command("clear")
                    before = cpu_snapshot(server)
                    result = measure(command, work, env, count_records=True, timeout=args.timeout)
                    other = other_cpu_seconds(before, cpu_snapshot(server), result.get("cpu_s", 0.0))
                    made = sorted(server.command("requests"))
                    arrivals, answers = [r[0] for r in made], [r[6] for r in made]
                    result.update(timeline(result["started_at"], result["wall"], arrivals, answers))
                    result.update(
                        kind="connector",
                        size=size,
                        latency_ms=latency,
                        repeat=repeat,
                        requests=len(made),
                        statuses=sorted({str(r[4]) for r in made}),
                        other_load=other / result["wall"],
                    )
                    runs.append(result)
                    print(
                        f"  #{repeat + 1} connector {result.get('records', '?'):>8} records {result['wall']:7.2f} s "
                        f"{result['peak_rss_mb']:5.0f} MB {len(made):>5} requests"
                        + (f"  FAILED: {result['error'].strip().splitlines()[-1][:300]}" if "error" in result else ""),
                        flush=True,
                    )
                    if repeat >= args.replay_repeat or "error" in result:
                        continue
                    requests_made = [
                        ["GET", server.base_url + path + (f"?{query}" if query else ""), None]
                        for _, _, path, query, _, _, _ in made
                    ]
                    wait_for_quiet(server, args.quiet_wait)
                    server.command("clear")
                    before = cpu_snapshot(server)
                    again = replay(requests_made, f"Bearer {API_KEY}", scratch / "replay", args.timeout)
                    other = other_cpu_seconds(before, cpu_snapshot(server), again.get("cpu_s", 0.0))
                    again.update(
                        kind="replay",
                        size=size,
                        latency_ms=latency,
                        repeat=repeat,
                        served=server.command("stats")["requests"],
                        other_load=other / again["wall"],
                        vs_connector=again["wall"] / result["wall"],
                    )
                    runs.append(again)
                    print(
                        f"  #{repeat + 1} replay    {again.get('records', '?'):>8} records {again['wall']:7.2f} s "
                        f"{again['peak_rss_mb']:5.0f} MB {again.get('requests', '?'):>5} requests: "
                        f"{again['vs_connector']:.2f}x the connector's wall time"
                        + (f"  FAILED: {again['error'].strip().splitlines()[-1][:300]}" if "error" in again else ""),
                        flush=True,
                    )
            except (OSError, RuntimeError, ValueError) as error:  # the server died: report the sizes done
                code = server.process.poll()
                print(f"  {size:,} events: stopped ({error!r}; server exit code {code})", flush=True)
                runs.append({"kind": "connector", "size": size, "error": f"{error!r}, server exit code {code}"})
            finally:
                server.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    command = "python bench/run.py " + " ".join(args.argv)
    commands = [command]
    if args.merge:  # keep the sizes not run now
        runs, commands = merge_previous(out / "results.json", command, runs, lambda r: r["size"] in args.sizes)
    meta = {
        **run_meta(commands),
        "server": args.server,
        "latency_ms": latency,
        **versions(None),
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    write_defaults_markdown(out / "results.md", runs, meta)
    print((out / "results.md").read_text())
    return 0


def write_defaults_markdown(path: Path, runs: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    lines = [
        *heading(
            "Defaults do not throttle: source-listrak at default settings vs the same requests made one by one", meta
        ),
        f"{meta['date']}; {meta['machine']}; Python {meta['python']}; airbyte-cdk {meta['cdk']}; "
        f"{meta['latency_ms']:g} ms added to every request by the emulator (`bench/server.py`, {meta['server']}).",
        "",
        "connector: `source-listrak read`, config `{credentials (api_key), base_url}` only, so every setting is "
        "its default (concurrency 8, requests_per_second 0, max_records_per_page 100, window_days 7, "
        "initial_sync_days 90); the events stream, incremental catalog, no state. replay: the requests the "
        "connector made in the run before it, from the emulator's log, in the order they arrived, one after "
        "another with a bare `requests.Session` and `orjson.loads` of each answer (`run.py --job replay`). "
        "Wall time: the whole process, start to exit (start-up and imports included). Figures are "
        "min / **median** / max over the runs; × = replay wall ÷ connector wall (ratio of the medians; "
        "in brackets min-max of the ratios of each connector run and the replay after it).",
        "",
        "| events | records | requests | connector runs | connector wall s | connector peak RSS MB | "
        "connector CPU s | replay runs | replay wall s | × (target ≥ 3) | verdict |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    disturbed = False
    for size in sorted({r["size"] for r in runs}):
        conn = [r for r in runs if r["size"] == size and r["kind"] == "connector" and "error" not in r]
        reps = [r for r in runs if r["size"] == size and r["kind"] == "replay" and "error" not in r]
        failed = sum(1 for r in runs if r["size"] == size and "error" in r)
        if not conn or not reps:
            lines.append(f"| {size:,} | | | {len(conn)} | | | | {len(reps)} | | | failed ({failed}) |")
            continue
        records = sorted({r["records"] for r in conn})
        replay_records = sorted({r["records"] for r in reps})
        requests = sorted({r["requests"] for r in conn})
        ratio = median([r["wall"] for r in reps]) / median([r["wall"] for r in conn])
        pairs = [r["vs_connector"] for r in reps]
        mark = any(r.get("other_load", 0.0) > DISTURBED for r in conn + reps)
        disturbed |= mark
        shown_records = ", ".join(fmt_int(r) for r in records)
        if replay_records != records:
            shown_records += f" (replay: {', '.join(fmt_int(r) for r in replay_records)})"
        lines.append(
            f"| {size:,} | {shown_records} | {', '.join(fmt_int(r) for r in requests)} | {len(conn)} | "
            f"{spread([r['wall'] for r in conn], 2)}{' †' if mark else ''} | "
            f"{spread([r['peak_rss_mb'] for r in conn], 0)} | {spread([r['cpu_s'] for r in conn], 1)} | "
            f"{len(reps)} | {spread([r['wall'] for r in reps], 1)} | **{ratio:.1f}×** "
            f"({min(pairs):.1f}-{max(pairs):.1f}) | {'met' if ratio >= DEFAULTS_TARGET else 'NOT met'}"
            f"{f' ({failed} failed)' if failed else ''} |"
        )
    lines += [
        "",
        "Where the connector's wall time goes (from the emulator's log, medians over the connector runs): "
        "start-up to the first request; from it to the last answer; after it to the exit; requests in "
        "flight on average over that span (8 at most: `concurrency`).",
        "",
        "| events | to first request s | requests span s | after last answer s | mean in flight |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in sorted({r["size"] for r in runs}):
        conn = [r for r in runs if r["size"] == size and r["kind"] == "connector" and "mean_in_flight" in r]
        if conn:
            lines.append(
                f"| {size:,} | {median([r['to_first_request_s'] for r in conn]):.2f} | "
                f"{median([r['requests_span_s'] for r in conn]):.2f} | "
                f"{median([r['after_last_answer_s'] for r in conn]):.2f} | "
                f"{median([r['mean_in_flight'] for r in conn]):.1f} |"
            )
    lines.append("")
    if disturbed:
        lines += [
            f"† Other processes used more than {DISTURBED:.0%} of a CPU during at least one of these runs.",
            "",
        ]
    path.write_text("\n".join(lines))
