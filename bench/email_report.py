"""The report of the Email API benchmark (bench/email_api.py): the figures of each scale against the
targets, written to bench/results/email-api/results.md."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import report
from measure import REPO

from listrak_emulators.email_v1 import STREAMS


def limiter_window_seconds() -> float:
    """The request budget's window, from the manifest (`interval: PT1.25S`)."""
    import yaml

    manifest = yaml.safe_load((REPO / "source_listrak" / "manifest.yaml").read_text())
    interval = manifest["api_budget"]["policies"][0]["rates"][0]["interval"]
    return float(interval.removeprefix("PT").removesuffix("S"))


LIMITER_WINDOW_S = limiter_window_seconds()
TARGETS = {
    "requests_within": 0.10,
    "speedup": 4.0,
    "peak_rss_mb": 200.0,
    "soak_growth": 0.15,
    "cpu_vs_cdk": 1.1,
    "cpu_us_per_record": 45.0,
}


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
        alone = [r for r in mine if r["kind"] == "cdk"]
        previous = [r for r in mine if r["kind"] == "previous"]
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
                figures["speedup"] = report.median(figures["replay_wall"]) / report.median(figures["wall"])
                figures["cpu_vs_floor"] = report.median(figures["cpu_us_per_record"]) / report.median(
                    figures["replay_loop_cpu_us_per_record"]
                )
        if alone:
            figures["cdk_records_match"] = all(r.get("records_by_stream") == expected for r in alone)
            figures["cdk_records"] = [r["records"] for r in alone]
            figures["cdk_requests"] = [r["requests"] for r in alone]
            figures["cdk_wall"] = [r["wall"] for r in alone]
            figures["cdk_peak_rss_mb"] = [r["peak_rss_mb"] for r in alone]
            figures["cdk_cpu_us_per_record"] = [per_record_us(r["cpu_s"], r["records"]) for r in alone]
            if default:
                figures["cpu_vs_cdk"] = report.median(figures["cpu_us_per_record"]) / report.median(
                    figures["cdk_cpu_us_per_record"]
                )
            if replays:
                figures["cdk_vs_floor"] = report.median(figures["cdk_cpu_us_per_record"]) / report.median(
                    figures["replay_loop_cpu_us_per_record"]
                )
        if previous:
            figures["previous_records_match"] = all(r.get("records_by_stream") == expected for r in previous)
            figures["previous_requests"] = [r["data_requests"] for r in previous]
            figures["previous_wall"] = [r["wall"] for r in previous]
            figures["previous_peak_rss_mb"] = [r["peak_rss_mb"] for r in previous]
            figures["previous_cpu_us_per_record"] = [per_record_us(r["cpu_s"], r["records"]) for r in previous]
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
    spread = report.spread
    lines = [
        "# source-listrak and the Email API v1 at scale",
        "",
        *[f"`{command}`  " for command in meta["commands"]],
        "",
        f"{meta['date']}; {meta['machine']}; Python {meta['python']}; airbyte-cdk {meta['cdk']}; "
        f"{meta['latency_ms']:g} ms added to every request by the emulator (bench/email_server.py, answers "
        f"cached after an unmeasured warm-up read at no latency); {len(meta['streams'])} streams "
        f"({'all' if set(meta['streams']) >= set(STREAMS) else ', '.join(meta['streams'])}), incremental where they "
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
        mark = " †" if figures.get("other_load", 0) > report.DISTURBED else ""
        lines.append(f"| default read, wall s | {spread(figures['wall'], 1)}{mark} | | |")
        if "replay_wall" in figures:
            mark = " †" if figures.get("replay_other_load", 0) > report.DISTURBED else ""
            pairs = figures["replay_pairs"]
            lines += [
                f"| replay of the same requests, wall s | {spread(figures['replay_wall'], 1)}{mark} | | |",
                f"| replay ÷ default (ratio of the medians; each pair) | **{figures['speedup']:.1f}×** "
                f"({min(pairs):.1f}-{max(pairs):.1f}) | ≥ {TARGETS['speedup']:g}× | "
                f"{verdict(figures['speedup'] >= TARGETS['speedup'])} |",
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
        if "cdk_cpu_us_per_record" in figures:
            floor_ratio = f"; ÷ floor **{figures['cdk_vs_floor']:.1f}×**" if "cdk_vs_floor" in figures else ""
            vs_cdk = figures.get("cpu_vs_cdk", float("nan"))
            lines += [
                f"| CDK alone (`bench/cdk_email_baseline.py`: the same streams with the CDK's own components, none "
                f"of the connector's): records per stream = the oracle; records; requests; wall s; peak RSS MB | "
                f"{verdict(figures['cdk_records_match'])}; "
                f"{', '.join(f'{r:,}' for r in sorted(set(figures['cdk_records'])))}; "
                f"{spread(figures['cdk_requests'], 0)}; {spread(figures['cdk_wall'], 1)}; "
                f"{spread(figures['cdk_peak_rss_mb'], 0)} | | |",
                f"| CPU per record: CDK alone (process CPU ÷ records emitted) | "
                f"{spread(figures['cdk_cpu_us_per_record'], 1, ' µs')}{floor_ratio} | | |",
                f"| CPU per record, default read ÷ CDK alone (medians) | **{vs_cdk:.2f}×** | ≤ 1.1× | "
                f"{verdict(vs_cdk <= TARGETS['cpu_vs_cdk'])} |",
            ]
            if "previous_cpu_us_per_record" in figures and "cpu_us_per_record" in figures:
                before = report.median(figures["previous_cpu_us_per_record"])
                lines.append(
                    f"| the previous connector (`--previous`: {meta.get('previous', '')}), read after each default "
                    f"read: records per stream = the oracle; data requests; wall s; peak RSS MB; CPU per record; "
                    f"default ÷ previous (CPU per record, medians) | {verdict(figures['previous_records_match'])}; "
                    f"{spread(figures['previous_requests'], 0)}; {spread(figures['previous_wall'], 1)}; "
                    f"{spread(figures['previous_peak_rss_mb'], 0)}; "
                    f"{spread(figures['previous_cpu_us_per_record'], 1, ' µs')}; "
                    f"**{report.median(figures['cpu_us_per_record']) / before:.2f}×** | | |"
                )
            if "cpu_us_per_record" in figures:
                per_record = report.median(figures["cpu_us_per_record"])
                lines.append(
                    f"| CPU per record, default read (median) | {per_record:.1f} µs | "
                    f"≤ {TARGETS['cpu_us_per_record']:g} µs | "
                    f"{verdict(per_record <= TARGETS['cpu_us_per_record'])} |"
                )
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
            f"| CPU per record µs (median) | {report.median(main['cpu_us_per_record']):.1f} | "
            f"{report.median(soak['cpu_us_per_record']):.1f} | | | |",
            "",
        ]
    if any(
        s.get("other_load", 0) > report.DISTURBED or s.get("replay_other_load", 0) > report.DISTURBED
        for s in summary.values()
    ):
        lines += [
            f"† Other processes on the machine used more than {report.DISTURBED:.0%} of a CPU during at least one "
            "of these runs: those wall times may be slower than the code is.",
            "",
        ]
    path.write_text("\n".join(lines))


