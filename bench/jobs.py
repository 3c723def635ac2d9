"""The clients whose cost the benchmarks measure, each run in its own process by `bench/run.py --job NAME
--spec FILE`; a job writes its result as JSON to spec["result_file"], so nothing it prints can be
mistaken for the result.

Only the standard library is imported at module level: the dlt job runs inside bench/.venv-dlt, which
has neither the connector's packages nor psutil.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


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
