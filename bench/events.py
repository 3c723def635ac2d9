"""The events benchmark (`scripts/bench`): every client reads the same 90-day initial sync of the API-key
contract's /events from one emulator process (bench/server.py), and the report holds them against a bare
`requests` floor and the issue's targets; writes bench/results/results.md, results.json and chart.png.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from measure import (
    API_KEY,
    BENCH,
    CONNECTOR,
    JOB_RUNNER,
    REPO,
    VENV_PYTHON,
    Server,
    cpu_snapshot,
    measure,
    measure_job,
    other_cpu_seconds,
    wait_for_quiet,
)
from report import DISTURBED, fmt_int, heading, median, merge_previous, run_meta, size_label, versions

DLT_VENV = BENCH / ".venv-dlt"
DLT_REQUIREMENT = "dlt[duckdb,parquet]>=1.5,<2"
PER_PAGE = 1000
INITIAL_SYNC_DAYS = 90
METHODS = ("floor", "cdk", "sequential", "concurrent", "pyairbyte", "dlt")
LABELS = {
    "floor": "floor: requests + orjson loop",
    "cdk": "CDK alone (bench/cdk_baseline.py), sequential",
    "sequential": "source-listrak read, sequential",
    "concurrent": "source-listrak read, concurrent",
    "pyairbyte": "PyAirbyte -> DuckDB",
    "dlt": "dlt rest_api -> DuckDB",
}


def connector_config(base_url: str, concurrency: int, window_days: int, per_page: int) -> dict:
    return {
        "credentials": {"auth_type": "api_key", "api_key": API_KEY},
        "base_url": base_url,
        "requests_per_second": 0,
        "max_records_per_page": per_page,
        "initial_sync_days": INITIAL_SYNC_DAYS,
        "concurrency": concurrency,
        "window_days": window_days,
    }


@functools.cache
def events_catalog() -> dict[str, Any]:
    """The configured catalog of the events stream, incremental, from the tests' stream catalogue (it imports
    the connector: call it before anything is measured)."""
    from listrak_testkit.harness import configured_catalog

    return configured_catalog(["events"])


def ensure_dlt_venv() -> Path:
    python = DLT_VENV / "bin" / "python"
    stamp = DLT_VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != DLT_REQUIREMENT:
        print(f"setting up {DLT_VENV.relative_to(REPO)} with {DLT_REQUIREMENT} (first use only)...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(DLT_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", DLT_REQUIREMENT],
            check=True,
        )
        stamp.write_text(DLT_REQUIREMENT)
    return python


def run_method(
    method: str, server: Server, args: argparse.Namespace, dlt_python: Path | None, work: Path
) -> dict[str, Any]:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    env = {**os.environ, "AIRBYTE_OFFLINE_MODE": "1", "DO_NOT_TRACK": "1", "RUNTIME__DLTHUB_TELEMETRY": "false"}
    if method in ("cdk", "sequential", "concurrent"):
        concurrency, window_days = (args.concurrency, args.window_days) if method == "concurrent" else (1, 365)
        config = connector_config(server.base_url, concurrency, window_days, args.per_page)
        (work / "config.json").write_text(json.dumps(config))
        (work / "catalog.json").write_text(json.dumps(events_catalog()))
        command = [str(CONNECTOR), "read", "--config", "config.json", "--catalog", "catalog.json"]
        if method == "cdk":
            command[:1] = [str(VENV_PYTHON), str(BENCH / "cdk_baseline.py")]
        return measure(command, work, env, count_records=True, timeout=args.timeout)
    spec = {
        "base_url": server.base_url,
        "api_key": API_KEY,
        "initial_sync_days": INITIAL_SYNC_DAYS,
        "work_dir": str(work),
        "result_file": str(work / "result.json"),
        "connector": str(CONNECTOR),
        "config": connector_config(server.base_url, args.concurrency, args.window_days, args.per_page),
        "dlt_format": args.dlt_format,
        "per_page": args.per_page,
    }
    (work / "spec.json").write_text(json.dumps(spec))
    python = dlt_python if method == "dlt" else VENV_PYTHON
    command = [str(python), str(JOB_RUNNER), "--job", method, "--spec", str(work / "spec.json")]
    if method == "dlt":
        env["DLT_DATA_DIR"] = str(work / "dlt-data")
    return measure_job(command, work, env, args.timeout)


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians per (size, latency, method)."""
    groups: dict[tuple[int, float, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["size"], run["latency_ms"], run["method"]), []).append(run)
    rows = []
    for (size, latency, method), group in groups.items():
        ok = [r for r in group if "error" not in r]
        row: dict[str, Any] = {"size": size, "latency_ms": latency, "method": method, "runs": len(group)}
        row["repeats"] = len(group)
        row["failed"] = len(group) - len(ok)
        if ok:
            row["records"] = sorted({r.get("records") for r in ok})
            row["wall"] = median([r["wall"] for r in ok])
            row["records_per_s"] = median([r["records"] / r["wall"] for r in ok])
            row["requests"] = median([r["requests"] for r in ok])
            row["peak_rss_mb"] = median([r["peak_rss_mb"] for r in ok])
            row["peak_rss_max_mb"] = max(r["peak_rss_mb"] for r in ok)
            row["cpu_s"] = median([r["cpu_s"] for r in ok])
            row["other_load"] = max(r.get("other_load", 0.0) for r in ok)
            loops = [r["loop_s"] for r in ok if r.get("loop_s") is not None]
            row["loop_s"] = median(loops) if loops else None
            firsts = [r["first_record_s"] for r in ok if r.get("first_record_s") is not None]
            row["first_record_s"] = median(firsts) if firsts else None
        rows.append(row)
    for row in rows:
        floor = next(
            (r for r in rows if (r["size"], r["latency_ms"], r["method"]) == (row["size"], row["latency_ms"], "floor")),
            None,
        )
        if floor and "wall" in floor and "wall" in row:
            row["vs_floor"] = row["records_per_s"] / floor["records_per_s"]
            row["records_match"] = row["records"] == floor["records"]
    order = {m: i for i, m in enumerate(METHODS)}
    return sorted(rows, key=lambda r: (r["latency_ms"], r["size"], order[r["method"]]))


def targets(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for the issue's targets."""

    def get(size: int, latency: float, method: str) -> dict[str, Any] | None:
        for row in rows:
            if (row["size"], row["latency_ms"], row["method"]) == (size, latency, method) and "wall" in row:
                return row
        return None

    out: list[tuple[str, str, str]] = []
    sizes = sorted({r["size"] for r in rows})
    latencies = sorted({r["latency_ms"] for r in rows})
    lat0 = latencies[0]
    for method in ("sequential", "concurrent"):
        found = [(s, get(s, lat0, method)) for s in sizes]
        peaks: list[tuple[int, float]] = [(s, r["peak_rss_max_mb"]) for s, r in found if r]
        if not peaks:
            continue
        worst = max(p for _, p in peaks)
        measured = ", ".join(f"{size_label(s)}: {p:.0f} MB" for s, p in peaks)
        out.append(
            (
                f"{method} read: peak RSS < 150 MB, worst run, {lat0:g} ms latency",
                measured,
                "met" if worst < 150 else "NOT met",
            )
        )
        if len(peaks) > 1:
            growth = peaks[-1][1] / peaks[0][1] - 1
            out.append(
                (
                    f"{method} read: peak RSS flat from {size_label(sizes[0])} to {size_label(sizes[-1])} events "
                    "(worst run, < +15%)",
                    f"{growth:+.0%}",
                    "met" if growth < 0.15 else "NOT met",
                )
            )
    if 0 in latencies:
        for method in ("sequential", "concurrent"):
            for size in sizes:
                row = get(size, 0, method)
                if row and "vs_floor" in row:
                    steady = ""
                    floor = get(size, 0, "floor")
                    if row.get("first_record_s") is not None and floor and floor.get("loop_s"):
                        floor_rate = floor["records"][0] / floor["loop_s"]
                        rate = row["records"][0] / (row["wall"] - row["first_record_s"])
                        steady = (
                            f"; without start-up, from the first record on: {fmt_int(rate)} vs "
                            f"{fmt_int(floor_rate)} records/s, {rate / floor_rate:.2f}x"
                        )
                    out.append(
                        (
                            f"{method} null-sink read >= 0.2x floor, {size_label(size)} events, no latency",
                            f"{row['vs_floor']:.2f}x ({fmt_int(row['records_per_s'])} vs "
                            f"{fmt_int(row['records_per_s'] / row['vs_floor'])} records/s{steady})",
                            "met" if row["vs_floor"] >= 0.2 else "NOT met",
                        )
                    )
        for size in sizes:
            cdk, seq = get(size, 0, "cdk"), get(size, 0, "sequential")
            if cdk and seq and "vs_floor" in cdk:
                steady = ""
                if cdk.get("first_record_s") is not None and seq.get("first_record_s") is not None:
                    per_record = [(r["wall"] - r["first_record_s"]) / r["records"][0] * 1e6 for r in (seq, cdk)]
                    steady = f"; after the first record {per_record[0]:.1f} vs {per_record[1]:.1f} µs per record"
                out.append(
                    (
                        f"(reference) the CDK alone, {size_label(size)} events, no latency: source-listrak / CDK alone",
                        f"CDK alone {cdk['vs_floor']:.2f}x floor; source-listrak {seq['wall']:.2f} s vs "
                        f"{cdk['wall']:.2f} s ({cdk['wall'] / seq['wall']:.2f}x as fast){steady}",
                        "-",
                    )
                )
    for latency in latencies:
        if latency < 100:
            continue
        for size in sizes:
            seq, conc = get(size, latency, "sequential"), get(size, latency, "concurrent")
            if seq and conc:
                speedup = seq["wall"] / conc["wall"]
                out.append(
                    (
                        f"concurrent >= 5x faster than sequential, {latency:g} ms latency, {size_label(size)} events",
                        f"{speedup:.1f}x ({seq['wall']:.1f} s -> {conc['wall']:.1f} s)",
                        "met" if speedup >= 5 else "NOT met",
                    )
                )
    for latency in latencies:
        for size in sizes:
            pa, dl = get(size, latency, "pyairbyte"), get(size, latency, "dlt")
            if pa and dl:
                out.append(
                    (
                        f"PyAirbyte -> DuckDB faster than dlt, {latency:g} ms latency, {size_label(size)} events",
                        f"{pa['wall']:.1f} s vs {dl['wall']:.1f} s ({dl['wall'] / pa['wall']:.2f}x)",
                        "met" if pa["wall"] < dl["wall"] else "NOT met",
                    )
                )
    return out


def write_markdown(path: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    lines = [
        *heading("source-listrak benchmark: events stream", meta),
        f"{meta['date']}; {meta['machine']}; Python {meta['python']}; airbyte-cdk {meta['cdk']}; "
        f"PyAirbyte {meta['pyairbyte']}; dlt {meta['dlt']}; server: {meta['server']}; "
        f"medians over the runs; perPage {meta.get('per_page', 1000)}; {INITIAL_SYNC_DAYS}-day initial sync; "
        f"concurrent = concurrency {meta['concurrency']}, window_days {meta['window_days']}.",
        "",
        "Wall time is the whole process from start to exit (interpreter start-up and imports included: "
        "about a second for the connector); records/s = records / wall; × floor = records/s ÷ the floor's; "
        "requests from the emulator's log; peak RSS = largest sum of RSS over the process and its children "
        "(polled every 20 ms), median over runs; CPU = user + system seconds of the process tree; "
        "1st record s = time until the connector's first record (its start-up).",
        "",
    ]
    disturbed = [r for r in rows if r.get("other_load", 0.0) > DISTURBED]
    if disturbed:
        lines += [
            f"† Other processes on the machine used more than {DISTURBED:.0%} of a CPU during at least one of "
            "these runs (worst: "
            + ", ".join(
                f"{size_label(r['size'])}/{r['latency_ms']:g} ms/{r['method']} {r['other_load']:.0%}" for r in disturbed
            )
            + "): those times may be slower than the code is.",
            "",
        ]
    for latency in sorted({r["latency_ms"] for r in rows}):
        lines += [
            f"## {latency:g} ms per request",
            "",
            "| events | method | runs | records | wall s | records/s | × floor | requests | peak RSS MB | CPU s "
            "| 1st record s |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows:
            if row["latency_ms"] != latency:
                continue
            if "wall" not in row:
                lines.append(f"| {row['size']:,} | {LABELS[row['method']]} | {row['runs']} | all failed ||||||||")
                continue
            records = ", ".join(fmt_int(r) for r in row["records"])
            if row.get("records_match") is False:
                records += " ≠ floor"
            if row["failed"]:
                records += f" ({row['failed']} failed)"
            first = f"{row['first_record_s']:.2f}" if row.get("first_record_s") is not None else ""
            mark = " †" if row.get("other_load", 0.0) > DISTURBED else ""
            lines.append(
                f"| {row['size']:,} | {LABELS[row['method']]} | {row['runs']} | {records} | {row['wall']:.2f}{mark} | "
                f"{fmt_int(row['records_per_s'])} | {row.get('vs_floor', float('nan')):.2f} | "
                f"{fmt_int(row['requests'])} | {row['peak_rss_mb']:.0f} | {row['cpu_s']:.1f} | {first} |"
            )
        lines.append("")
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in targets(rows)]
    # the chart is generated next to this file but not kept in git: name it, do not embed it
    lines += [
        "",
        "Chart of records/s and peak RSS by size: `chart.png` beside this file, written by `bench/run.py` "
        "(not kept in git).",
        "",
    ]
    path.write_text("\n".join(lines))


def write_chart(path: Path, rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latencies = sorted({r["latency_ms"] for r in rows})
    figure, axes = plt.subplots(len(latencies), 2, figsize=(12, 4.2 * len(latencies)), squeeze=False)
    markers = dict(zip(METHODS, "oxsD^v", strict=True))
    for line, latency in enumerate(latencies):
        for method in METHODS:
            points = sorted(
                (r["size"], r["records_per_s"], r["peak_rss_mb"])
                for r in rows
                if r["latency_ms"] == latency and r["method"] == method and "wall" in r
            )
            if not points:
                continue
            sizes = [p[0] for p in points]
            axes[line][0].plot(sizes, [p[1] for p in points], marker=markers[method], label=LABELS[method])
            axes[line][1].plot(sizes, [p[2] for p in points], marker=markers[method], label=LABELS[method])
        axes[line][0].set_title(f"records/s, {latency:g} ms per request (higher is better)")
        axes[line][1].set_title(f"peak RSS of the process tree (median), {latency:g} ms per request")
        axes[line][0].set_yscale("log")
        axes[line][1].set_ylabel("MB")
        axes[line][1].axhline(150, color="grey", linestyle=":", linewidth=1)
        axes[line][1].annotate(
            "150 MB target", (0.01, 150), xycoords=("axes fraction", "data"), color="grey", fontsize=8, va="bottom"
        )
        axes[line][1].set_ylim(bottom=0)
        for axis in axes[line]:
            axis.set_xscale("log")
            axis.set_xlabel("events")
            axis.grid(True, which="both", alpha=0.3)
        axes[line][0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    """Every method, size, latency and repeat against one server per size; then the report."""
    dlt_python = ensure_dlt_venv() if "dlt" in args.method_list else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="listrak-bench-"))
    runs: list[dict[str, Any]] = []
    try:
        for size in args.sizes:
            server = Server(size, args.server == "plain")
            print(
                f"{size:,} events: server ready at {server.base_url} (rendered in {server.render_seconds} s)",
                flush=True,
            )
            try:
                for latency in args.latencies:
                    server.command(f"latency {latency}")
                    for repeat in range(args.repeat):
                        for method in args.method_list:
                            wait_for_quiet(server, args.quiet_wait)
                            server.command("clear")
                            before = cpu_snapshot(server)
                            result = run_method(method, server, args, dlt_python, scratch / method)
                            other = other_cpu_seconds(before, cpu_snapshot(server), result.get("cpu_s", 0.0))
                            stats = server.command("stats")
                            result.update(
                                size=size,
                                latency_ms=latency,
                                method=method,
                                repeat=repeat,
                                requests=stats["requests"],
                                statuses=stats["by_status"],
                                other_load=other / result["wall"],
                            )
                            runs.append(result)
                            shown = (
                                f"  {latency:>5g} ms  #{repeat + 1}  {method:<10}  {result.get('records', '?'):>9} "
                                f"records  {result['wall']:7.2f} s  {result['peak_rss_mb']:6.0f} MB  "
                                f"{stats['requests']:>5} requests"
                            )
                            if "error" in result:
                                shown += "  FAILED: " + result["error"].strip().splitlines()[-1][:300]
                            print(shown, flush=True)
            finally:
                server.stop()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    command = "python bench/run.py " + " ".join(args.argv)
    commands = [command]
    if args.merge:  # keep the runs of the sizes, latencies and methods not run now
        fresh = {(r["size"], r["latency_ms"], r["method"]) for r in runs}
        runs, commands = merge_previous(
            out / "results.json", command, runs, lambda r: (r["size"], r["latency_ms"], r["method"]) in fresh
        )
    rows = summarize(runs)
    found = versions(dlt_python)
    meta = {
        **run_meta(commands),
        "server": args.server,
        "repeat": args.repeat,
        "concurrency": args.concurrency,
        "window_days": args.window_days,
        "per_page": args.per_page,
        **found,
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "summary": rows, "runs": runs}, indent=1))
    write_markdown(out / "results.md", rows, meta)
    write_chart(out / "chart.png", rows)
    print((out / "results.md").read_text())
    return 0
