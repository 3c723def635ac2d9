"""How a benchmark run is measured: the bench servers in their own processes (driven over stdin), the wall
time, CPU time and peak resident memory of a process tree, the CPU other processes took meanwhile, and
when the requests happened, from an emulator's log."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
CONNECTOR = REPO / ".venv" / "bin" / "source-listrak"
JOB_RUNNER = BENCH / "run.py"  # `run.py --job NAME --spec FILE` runs a job of jobs.py in its own process
API_KEY = "bench-key-0123456789"  # what bench/server.py's emulator accepts


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
    command = [str(VENV_PYTHON), str(JOB_RUNNER), "--job", "replay", "--spec", str(work / "spec.json")]
    return measure_job(command, work, dict(os.environ), timeout)


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
