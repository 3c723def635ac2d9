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

Only the standard library is imported at module level: the same file runs the dlt job inside
bench/.venv-dlt (`--job dlt`), which has neither psutil nor matplotlib.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
CONNECTOR = REPO / ".venv" / "bin" / "source-listrak"
DLT_VENV = BENCH / ".venv-dlt"
DLT_REQUIREMENT = "dlt[duckdb,parquet]>=1.5,<2"
API_KEY = "bench-key-0123456789"
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
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
DISTURBED = 0.15  # share of a CPU used by processes outside the benchmark that marks a run as disturbed


# ------------------------------------------------------------------------------------------ jobs
# Each job runs in its own process (`run.py --job NAME --spec JSON`) and writes its result as JSON to
# spec["result_file"], so nothing it prints can be mistaken for the result.


def _window(spec: dict[str, Any]) -> tuple[str, str]:
    now = datetime.now(UTC)
    start = now - timedelta(days=spec["initial_sync_days"])
    return start.strftime(TIME_FORMAT), now.strftime(TIME_FORMAT)


def job_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The least any client must do: fetch every page of the window and parse its JSON."""
    import orjson
    import requests

    start, end = _window(spec)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {spec['api_key']}"
    records = pages = 0
    page = 1
    began = time.perf_counter()
    while True:
        params: dict[str, str | int] = {"timestampAfter": start, "timestampBefore": end, "page": page}
        params["perPage"] = spec["per_page"]
        response = session.get(f"{spec['base_url']}/events", params=params, timeout=60)
        response.raise_for_status()
        batch = orjson.loads(response.content)["events"]
        pages += 1
        records += len(batch)
        if len(batch) < spec["per_page"]:
            break
        page += 1
    return {"records": records, "pages": pages, "loop_s": time.perf_counter() - began}


def job_pyairbyte(spec: dict[str, Any]) -> dict[str, Any]:
    import airbyte
    from airbyte.caches import DuckDBCache

    work = Path(spec["work_dir"])
    source = airbyte.get_source(
        "source-listrak", local_executable=spec["connector"], config=spec["config"], streams=["events"]
    )
    cache = DuckDBCache(db_path=work / "pyairbyte.duckdb", cache_dir=work / "pyairbyte-cache")
    result = source.read(cache=cache, write_strategy="append")
    return {"records": len(result["events"]), "processed": result.processed_records}


def job_dlt(spec: dict[str, Any]) -> dict[str, Any]:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    work = Path(spec["work_dir"])
    start, end = _window(spec)
    source = rest_api_source(
        {
            "client": {
                "base_url": spec["base_url"] + "/",
                "auth": {"type": "bearer", "token": spec["api_key"]},
                "paginator": {
                    "type": "page_number",
                    "base_page": 1,
                    "page_param": "page",
                    "total_path": None,
                    "stop_after_empty_page": True,
                },
            },
            "resource_defaults": {"write_disposition": "append"},
            "resources": [
                {
                    "name": "events",
                    "primary_key": "id",
                    "endpoint": {
                        "path": "events",
                        "params": {"perPage": spec["per_page"], "timestampAfter": start, "timestampBefore": end},
                        "data_selector": "events",
                    },
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_listrak",
        pipelines_dir=str(work / "dlt-pipelines"),
        destination=dlt.destinations.duckdb(str(work / "dlt.duckdb")),
        dataset_name="listrak",
    )
    pipeline.run(source, loader_file_format=spec.get("dlt_format", "parquet"))
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT count(*) FROM events")
    return {"records": int(rows[0][0]), "dlt_version": dlt.__version__}


def job_replay(spec: dict[str, Any]) -> dict[str, Any]:
    """A bare sequential client making the requests a connector made (from the emulator's log), one after
    another, in the order they arrived: a `requests.Session` and `orjson.loads` of every answer, nothing else.

    spec["requests"]: [[method, url, form or null], ...]. A POST is a token request: its form is sent
    form-encoded without an Authorization header, and the access token it returns is sent as
    `Bearer` with the GETs after it. spec["authorization"]: the header of every GET otherwise (API key).
    Records: the length of the answer's `events` or `data` list, 1 for a `data` object.
    """
    import orjson
    import requests

    session = requests.Session()
    if spec.get("authorization"):
        session.headers["Authorization"] = spec["authorization"]
    records = nbytes = 0
    statuses: dict[str, int] = {}
    began, cpu_began = time.perf_counter(), time.process_time()
    for method, url, form in spec["requests"]:
        if method == "POST":
            response = session.post(url, data=form, headers={"Authorization": None}, timeout=60)
            body = orjson.loads(response.content)
            if response.status_code == 200:
                session.headers["Authorization"] = f"Bearer {body['access_token']}"
        else:
            response = session.get(url, timeout=60)
            body = orjson.loads(response.content)
            if response.status_code == 200 and isinstance(body, dict):
                found = body.get("events", body.get("data"))
                records += len(found) if isinstance(found, list) else 1 if isinstance(found, dict) else 0
        nbytes += len(response.content)
        statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
    return {
        "records": records,
        "requests": len(spec["requests"]),
        "bytes": nbytes,
        "by_status": statuses,
        "loop_s": time.perf_counter() - began,
        "loop_cpu_s": time.process_time() - cpu_began,
    }


JOBS = {"floor": job_floor, "pyairbyte": job_pyairbyte, "dlt": job_dlt, "replay": job_replay}


def run_job(name: str, spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    result = JOBS[name](spec)
    Path(spec["result_file"]).write_text(json.dumps(result))
    return 0


# ----------------------------------------------------------------------------------- measuring


class Server:
    """bench/server.py in its own process, driven over stdin."""

    def __init__(self, events: int, plain: bool) -> None:
        args = [str(VENV_PYTHON), str(BENCH / "server.py"), "--events", str(events), "--api-key", API_KEY]
        self.process = subprocess.Popen(
            args + (["--plain"] if plain else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        hello = json.loads(self._readline())
        self.base_url: str = hello["base_url"]
        self.render_seconds: float = hello["render_seconds"]

    def _readline(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the bench server stopped (see its output above)")
        return line

    def command(self, text: str) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return json.loads(self._readline())

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class RssMonitor(threading.Thread):
    """Polls the resident set size of a process plus all its descendants; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        import psutil

        self._psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        psutil = self._psutil
        while not self._halt.is_set():
            total = 0
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            if total:
                self.peak = max(self.peak, total)
                self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def measure_job(command: list[str], work: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Measures a `--job` process and adds the figures it wrote to `work`/result.json."""
    result = measure(command, work, env, count_records=False, timeout=timeout)
    result_file = work / "result.json"
    if result_file.exists():
        result.update(json.loads(result_file.read_text()))
    elif "error" not in result:
        result["error"] = "the job wrote no result"
    return result


def measure(
    command: list[str], cwd: Path, env: dict[str, str], count_records: bool, timeout: float, by_stream: bool = False
) -> dict[str, Any]:
    """Runs one command; wall time, peak RSS of its process tree, and (for the connector) its records
    (with `by_stream`, also per stream)."""
    stderr_path = cwd / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, cwd=cwd, env=env)
        monitor = RssMonitor(process.pid)
        monitor.start()
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        records = states = 0
        streams: dict[str, int] = {}
        first_record = None
        tail: list[bytes] = []
        assert process.stdout is not None
        for line in process.stdout:  # the null sink: count and discard
            if count_records and line.startswith(b'{"type":"RECORD"'):
                records += 1
                if by_stream:
                    at = line.find(b'"stream":"') + 10
                    name = line[at : line.find(b'"', at)].decode()
                    streams[name] = streams.get(name, 0) + 1
                if first_record is None:
                    first_record = time.perf_counter() - started
            elif count_records and line.startswith(b'{"type":"STATE"'):
                states += 1
            else:
                tail = (tail + [line])[-20:]
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        timer.cancel()
        monitor.stop()
    result: dict[str, Any] = {
        "wall": wall,
        "peak_rss_mb": monitor.peak / 2**20,
        "maxrss_mb": usage.ru_maxrss / 1024,  # the top process alone (Linux: kilobytes)
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "returncode": process.returncode,
        "started_at": started,  # time.perf_counter(): the same clock as the emulators' time.monotonic() on Linux
    }
    if count_records:
        result.update(records=records, states=states, first_record_s=first_record)
        if by_stream:
            result["records_by_stream"] = streams
    errors = [line.decode(errors="replace")[:500] for line in tail if b'"trace":{"type":"ERROR"' in line]
    if process.returncode != 0 or errors:
        stderr_tail = stderr_path.read_text(errors="replace")[-2000:]
        result["error"] = "\n".join(errors[-3:]) or stderr_tail or f"exit code {process.returncode}"
    return result


def connector_config(base_url: str, concurrency: int, window_days: int, requests_per_second: float = 0) -> dict:
    return {
        "credentials": {"auth_type": "api_key", "api_key": API_KEY},
        "base_url": base_url,
        "requests_per_second": requests_per_second,
        "max_records_per_page": PER_PAGE,
        "initial_sync_days": INITIAL_SYNC_DAYS,
        "concurrency": concurrency,
        "window_days": window_days,
    }


EVENTS_CATALOG: dict[str, Any] = {}  # set by main(): the events stream, incremental


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
        (work / "config.json").write_text(json.dumps(connector_config(server.base_url, concurrency, window_days)))
        (work / "catalog.json").write_text(json.dumps(EVENTS_CATALOG))
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
        "config": connector_config(server.base_url, args.concurrency, args.window_days),
        "dlt_format": args.dlt_format,
        "per_page": PER_PAGE,
    }
    (work / "spec.json").write_text(json.dumps(spec))
    python = dlt_python if method == "dlt" else VENV_PYTHON
    command = [str(python), str(Path(__file__).resolve()), "--job", method, "--spec", str(work / "spec.json")]
    if method == "dlt":
        env["DLT_DATA_DIR"] = str(work / "dlt-data")
    return measure_job(command, work, env, args.timeout)


def cpu_snapshot(server: Server) -> tuple[float, float, float]:
    """(CPU seconds busy on the whole machine, of the bench server, of this process)."""
    import resource

    import psutil

    # Process time only: irq / softirq time is mostly the kernel carrying the benchmark's own loopback
    # traffic, which no process is charged for.
    machine = psutil.cpu_times()
    busy = machine.user + machine.system + getattr(machine, "nice", 0.0)
    try:
        times = psutil.Process(server.process.pid).cpu_times()
        server_cpu = times.user + times.system
    except psutil.Error:
        server_cpu = 0.0
    own = resource.getrusage(resource.RUSAGE_SELF)
    return busy, server_cpu, own.ru_utime + own.ru_stime


def other_cpu_seconds(before: tuple[float, float, float], after: tuple[float, float, float], measured: float) -> float:
    """CPU seconds that processes outside the benchmark used during one run (others' tests, say)."""
    busy, server_cpu, own = (a - b for a, b in zip(after, before, strict=True))
    return max(0.0, busy - server_cpu - own - measured)


def wait_for_quiet(server: Server, longest: float) -> None:
    """Waits (at most `longest` seconds) for a second in which other processes use < 10% of a CPU."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        before = cpu_snapshot(server)
        time.sleep(1.0)
        if other_cpu_seconds(before, cpu_snapshot(server), 0.0) < 0.1:
            return


def replay(requests_made: list[list[Any]], authorization: str | None, work: Path, timeout: float) -> dict[str, Any]:
    """`job_replay` in its own process over `requests_made`; wall time and peak RSS as for any method."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    spec = {"requests": requests_made, "authorization": authorization, "result_file": str(work / "result.json")}
    (work / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ}
    command = [str(VENV_PYTHON), str(Path(__file__).resolve()), "--job", "replay", "--spec", str(work / "spec.json")]
    return measure_job(command, work, env, timeout)


def most_in_window(times: list[float], seconds: float) -> int:
    """The largest number of `times` (seconds) in any window [t, t + `seconds`)."""
    ordered, most, first = sorted(times), 0, 0
    for last, moment in enumerate(ordered):
        while moment - ordered[first] >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def timeline(started_at: float, wall: float, arrivals: list[float], answers: list[float | None]) -> dict[str, float]:
    """When a run's requests happened, from the emulator's log (its clock is the benchmark's on Linux): the
    time to the first request, the span from it to the last answer, the time from that to the exit, and
    the requests in flight on average over the span (each from its arrival to its answer)."""
    done = [(start, end) for start, end in zip(arrivals, answers, strict=True) if end is not None]
    if not done:
        return {}
    first, last = min(start for start, _ in done), max(end for _, end in done)
    span = max(last - first, 1e-9)
    return {
        "to_first_request_s": first - started_at,
        "requests_span_s": span,
        "after_last_answer_s": started_at + wall - last,
        "mean_in_flight": sum(end - start for start, end in done) / span,
    }


def spread(values: list[float], digits: int = 1, unit: str = "") -> str:
    """min / median / max, as the report shows them."""
    if not values:
        return "-"
    low, mid, high = min(values), median(values), max(values)
    return f"{low:.{digits}f} / **{mid:.{digits}f}** / {high:.{digits}f}{unit}"


# ------------------------------------------------------------------------------------- reports


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


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


def _fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def _size(events: int) -> str:
    if events >= 1_000_000 and events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events >= 1000 and events % 1000 == 0:
        return f"{events // 1000:,}k"
    return f"{events:,}"


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
        measured = ", ".join(f"{_size(s)}: {p:.0f} MB" for s, p in peaks)
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
                    f"{method} read: peak RSS flat from {_size(sizes[0])} to {_size(sizes[-1])} events "
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
                            f"; without start-up, from the first record on: {_fmt_int(rate)} vs "
                            f"{_fmt_int(floor_rate)} records/s, {rate / floor_rate:.2f}x"
                        )
                    out.append(
                        (
                            f"{method} null-sink read >= 0.2x floor, {_size(size)} events, no latency",
                            f"{row['vs_floor']:.2f}x ({_fmt_int(row['records_per_s'])} vs "
                            f"{_fmt_int(row['records_per_s'] / row['vs_floor'])} records/s{steady})",
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
                        f"(reference) the CDK alone, {_size(size)} events, no latency: source-listrak / CDK alone",
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
                        f"concurrent >= 5x faster than sequential, {latency:g} ms latency, {_size(size)} events",
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
                        f"PyAirbyte -> DuckDB faster than dlt, {latency:g} ms latency, {_size(size)} events",
                        f"{pa['wall']:.1f} s vs {dl['wall']:.1f} s ({dl['wall'] / pa['wall']:.2f}x)",
                        "met" if pa["wall"] < dl["wall"] else "NOT met",
                    )
                )
    return out


def heading(title: str, meta: dict[str, Any]) -> list[str]:
    """A results file's title and the commands behind it."""
    return [f"# {title}", "", *[f"`{command}`  " for command in meta.get("commands", [meta["command"]])], ""]


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
                f"{_size(r['size'])}/{r['latency_ms']:g} ms/{r['method']} {r['other_load']:.0%}" for r in disturbed
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
            records = ", ".join(_fmt_int(r) for r in row["records"])
            if row.get("records_match") is False:
                records += " ≠ floor"
            if row["failed"]:
                records += f" ({row['failed']} failed)"
            first = f"{row['first_record_s']:.2f}" if row.get("first_record_s") is not None else ""
            mark = " †" if row.get("other_load", 0.0) > DISTURBED else ""
            lines.append(
                f"| {row['size']:,} | {LABELS[row['method']]} | {row['runs']} | {records} | {row['wall']:.2f}{mark} | "
                f"{_fmt_int(row['records_per_s'])} | {row.get('vs_floor', float('nan')):.2f} | "
                f"{_fmt_int(row['requests'])} | {row['peak_rss_mb']:.0f} | {row['cpu_s']:.1f} | {first} |"
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


def run_meta(commands: list[str]) -> dict[str, Any]:
    """The commands behind a results file, when and where they ran."""
    return {
        "command": " && ".join(commands),
        "commands": commands,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
    }


def versions(dlt_python: Path | None) -> dict[str, str]:
    from importlib.metadata import version

    found = {"cdk": version("airbyte-cdk"), "pyairbyte": version("airbyte"), "dlt": "-"}
    if dlt_python:
        completed = subprocess.run(
            [str(dlt_python), "-c", "import importlib.metadata as m; print(m.version('dlt'))"],
            capture_output=True,
            text=True,
        )
        found["dlt"] = completed.stdout.strip() or "?"
    return found


# ------------------------------------------------------------------------------------- profile


IDLE_FRAMES = ("Condition.wait", "_leak_task_sync", "Event.wait", "Thread.join", "select (", "sleep")


def profile(args: argparse.Namespace) -> int:
    """py-spy over `source-listrak read` (sequential and concurrent, latency 0, first size)."""
    py_spy = REPO / ".venv" / "bin" / "py-spy"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = args.sizes[0]
    server = Server(size, args.server == "plain")
    try:
        for method in ("sequential", "concurrent"):
            concurrency, window_days = (1, 365) if method == "sequential" else (args.concurrency, args.window_days)
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                (work / "config.json").write_text(
                    json.dumps(connector_config(server.base_url, concurrency, window_days))
                )
                (work / "catalog.json").write_text(json.dumps(EVENTS_CATALOG))
                raw = out / f"profile-{method}.raw.txt"
                command = [
                    str(py_spy),
                    "record",
                    "-f",
                    "raw",
                    "-r",
                    "250",
                    "-o",
                    str(raw),
                    "--",
                    str(CONNECTOR),
                    "read",
                    "--config",
                    "config.json",
                    "--catalog",
                    "catalog.json",
                ]
                started = time.perf_counter()
                subprocess.run(command, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                wall = time.perf_counter() - started
            report = aggregate_profile(raw, f"{method} read of {size:,} events under py-spy ({wall:.1f} s)")
            (out / f"profile-{method}.txt").write_text(report)
            print(report)
    finally:
        server.stop()
    return 0


def aggregate_profile(raw: Path, title: str, top: int = 25) -> str:
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        if any(marker in frames[-1] for marker in IDLE_FRAMES):
            idle += count
            continue
        total += count
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + count
        for frame in set(frames[1:]):
            inclusive[frame] = inclusive.get(frame, 0) + count
    lines = [title, f"{total} busy samples ({idle} idle samples left out: waits and sleeps)", "", "self:"]
    for frame, count in sorted(self_time.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {count / total:6.1%}  {frame}")
    lines += ["", "inclusive:"]
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[: top * 2]:
        lines.append(f"  {count / total:6.1%}  {frame}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------- defaults vs a sequential replay

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
                    (work / "catalog.json").write_text(json.dumps(EVENTS_CATALOG))
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
    previous = out / "results.json"
    if args.merge and previous.exists():  # keep the sizes not run now
        old = json.loads(previous.read_text())
        kept = [r for r in old["runs"] if r["size"] not in args.sizes]
        if kept:
            runs = kept + runs
            commands = [c for c in old["meta"]["commands"] if c != command] + commands
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
        shown_records = ", ".join(_fmt_int(r) for r in records)
        if replay_records != records:
            shown_records += f" (replay: {', '.join(_fmt_int(r) for r in replay_records)})"
        lines.append(
            f"| {size:,} | {shown_records} | {', '.join(_fmt_int(r) for r in requests)} | {len(conn)} | "
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


# ---------------------------------------------------------------------------------------- main


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
    parser.add_argument("--job", choices=sorted(JOBS), help=argparse.SUPPRESS)
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
        return run_job(args.job, args.spec)
    if not CONNECTOR.exists():
        print(f"{CONNECTOR} not found: run scripts/test or scripts/demo once to set up .venv", file=sys.stderr)
        return 2
    global PER_PAGE
    PER_PAGE = args.per_page
    EVENTS_CATALOG.update(events_catalog())
    if args.profile:
        return profile(args)
    if args.defaults:
        return defaults_vs_replay(args)
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

    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    commands = [command]
    previous = out / "results.json"
    if args.merge and previous.exists():
        old = json.loads(previous.read_text())
        fresh = {(r["size"], r["latency_ms"], r["method"]) for r in runs}
        kept = [r for r in old["runs"] if (r["size"], r["latency_ms"], r["method"]) not in fresh]
        if kept:
            runs = kept + runs
            old_commands = old["meta"].get("commands") or [old["meta"]["command"]]
            commands = [c for c in old_commands if c != command] + [command]
    rows = summarize(runs)
    found = versions(dlt_python)
    meta = {
        **run_meta(commands),
        "server": args.server,
        "repeat": args.repeat,
        "concurrency": args.concurrency,
        "window_days": args.window_days,
        "per_page": PER_PAGE,
        **found,
    }
    (out / "results.json").write_text(json.dumps({"meta": meta, "summary": rows, "runs": runs}, indent=1))
    write_markdown(out / "results.md", rows, meta)
    write_chart(out / "chart.png", rows)
    print((out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
