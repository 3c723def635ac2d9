"""Responses the contract does not allow, generated with hypothesis, through the real entry point.

The connector either emits records that satisfy their stream's schema, or fails with an error that
names the stream or path; never a hang, never a bare traceback.
"""

from __future__ import annotations

import json
import re
import tempfile
from importlib import resources
from typing import Any

import jsonschema
import pytest
import requests_mock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from source_listrak.run import run

BASE_URL = "https://listrak.test/email/v1"
CONFIG = {
    "credentials": {"auth_type": "api_key", "api_key": "hostile-key-0c9d"},
    "base_url": BASE_URL,
    "requests_per_second": 0,
    "retry_attempts": 0,
    "initial_sync_days": 2,
    "window_days": 2,
}
CATALOG = {
    "streams": [
        {
            "stream": {"name": "events", "json_schema": {}, "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": "full_refresh",
            "destination_sync_mode": "append",
        }
    ]
}
SCHEMA = json.loads((resources.files("source_listrak") / "schemas" / "events.json").read_text())

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
timestamps = st.one_of(
    st.just("2026-11-21T10:00:00+02:00"),
    st.just("2026-11-21T10:00:00.1234567Z"),
    st.text(max_size=25),
    st.integers(),
    st.none(),
)
events = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(), st.text(max_size=12)), "timestamp": timestamps},
    optional={
        "metadata": json_values,
        "eventType": json_values,
        "email": st.text(max_size=2000),
        "unknownField": json_values,
        "contactId": st.one_of(st.integers(), st.text(max_size=5)),
    },
)
bodies = st.one_of(
    st.fixed_dictionaries({"events": st.lists(events, max_size=4)}).map(json.dumps),
    st.fixed_dictionaries({"data": st.lists(events, max_size=3)}).map(json.dumps),
    json_values.map(json.dumps),
    st.just("<html><body><h1>502 Bad Gateway</h1></body></html>"),
    st.fixed_dictionaries({"events": st.lists(events, min_size=1, max_size=2)}).map(lambda s: json.dumps(s)[:-7]),
    st.just(json.dumps({"events": [{"id": 1, "timestamp": "2026-11-21T10:00:00Z", "email": "x" * 200_000}]})),
)


def _outputs(
    capsys: pytest.CaptureFixture[str], body: str, **config: Any
) -> tuple[int, list[dict[str, Any]], str]:
    with requests_mock.Mocker() as mock, _config_file(config) as paths:
        mock.get(re.compile(re.escape(BASE_URL) + "/events.*"), text=body, headers={"Content-Type": "application/json"})
        try:
            run(["read", "--config", paths[0], "--catalog", paths[1]])
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    messages = [json.loads(line) for line in out.split("\n") if line.startswith("{")]
    return code, messages, out + err


class _config_file:  # noqa: N801 - used as a context manager
    def __init__(self, overrides: dict[str, Any]) -> None:
        self._overrides = overrides

    def __enter__(self) -> tuple[str, str]:
        self._dir = tempfile.TemporaryDirectory()
        config, catalog = f"{self._dir.name}/config.json", f"{self._dir.name}/catalog.json"
        with open(config, "w") as file:
            json.dump({**CONFIG, **self._overrides}, file)
        with open(catalog, "w") as file:
            json.dump(CATALOG, file)
        return config, catalog

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


# 40 bodies (~1 s each, a whole read in this process): every kind of body above several times over,
# within the suite's 15 minutes.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_a_hostile_events_page_gives_valid_records_or_a_clear_error(body: str, capsys) -> None:
    code, messages, output = _outputs(capsys, body)

    records = [m["record"]["data"] for m in messages if m["type"] == "RECORD"]
    for record in records:
        jsonschema.validate(record, SCHEMA)
    errors = [
        m["trace"]["error"]["message"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"
    ]
    if code != 0:
        assert errors, output[-2000:]
        assert any("events" in error for error in errors), errors
    assert "Traceback (most recent call last)" not in output
    assert "hostile-key-0c9d" not in output


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("depth", [3000, 100_000])
def test_deeply_nested_metadata_gives_the_same_records_at_any_concurrency(depth: int, concurrency: int, capsys) -> None:
    metadata = '{"k":' * depth + '{"leaf":1}' + "}" * depth  # too deep for json.dumps to build
    body = '{"events": [{"id": 1, "timestamp": "2026-11-21T10:00:00Z", "metadata": ' + metadata + "}]}"

    # Eight one-day windows read at once, each answered with the deep page.
    code, messages, output = _outputs(capsys, body, concurrency=concurrency, initial_sync_days=8, window_days=1)

    records = [m["record"]["data"] for m in messages if m["type"] == "RECORD"]
    assert code == 0, output[-2000:]
    assert len(records) >= 8
    expected_key = ".".join(["k"] * depth + ["leaf"])
    assert all(json.loads(record["metadata"]) == {expected_key: 1} for record in records)
