"""A secret given to PyAirbyte never shows: not in what the process prints, not in a log record, not in
PyAirbyte's log files, not in the text of an exception, not in the DuckDB cache.

A distinctive client secret (with `+`, `/` and `=`, so its URL-encoded forms differ) goes through every
PyAirbyte path: `get_source`, `check`, `get_records` and `read` into DuckDB, in the nested form and in the
flat one (which the spec accepts and the connector nests). The failures a user meets first go through
the same paths: a wrong client secret at `check` and at `read`, and a flat configuration written with
numbers as strings, which PyAirbyte's validation refuses before the connector runs. An API key takes
the same paths in `test_pyairbyte.py` (`test_a_flat_config_passes_validation_and_reads_the_exact_rows`).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from integration_tests.offline_pyairbyte import Exposure, ab, airbyte, shown
from listrak_emulators.email_v1 import EmailV1Emulator, Integration
from listrak_emulators.email_v1 import Sizes as EmailSizes
from listrak_testkit.harness import connector_command

pytestmark = pytest.mark.slow

EMAIL_SIZES = EmailSizes(
    lists=1, contacts_per_list=10, messages_per_list=2, recipients_per_message=3, deleted_list=False
)


def distinctive_secret() -> str:
    return f"Sec+ret/{uuid.uuid4().hex}="


def every_path(config: dict[str, Any], streams: list[str], exposure: Exposure, cache_dir: Path) -> dict[str, Any]:
    source = exposure.call(
        lambda: ab.get_source("source-listrak", local_executable=connector_command()[0], config=config, streams=streams)
    )
    assert not isinstance(source, Exception), exposure.texts
    exposure.call(source.check)
    records = exposure.call(lambda: list(source.get_records(streams[0])))
    cache = ab.DuckDBCache(db_path=cache_dir / "listrak.duckdb", cache_dir=cache_dir / "cache")
    result = exposure.call(lambda: source.read(cache=cache))
    assert not isinstance(records, Exception) and not isinstance(result, Exception), exposure.texts
    return {"records": records, "rows": {name: len(dataset) for name, dataset in result.streams.items()}}


def email_config(api: EmailV1Emulator, form: str, secret: str) -> dict[str, Any]:
    place = {"base_url": api.base_url, "token_url": api.token_url, "start_date": "2000-01-01"}
    if form == "flat":
        return {"client_id": api.client_id, "client_secret": secret, **place}
    credentials = {"auth_type": "oauth2_client_credentials", "client_id": api.client_id, "client_secret": secret}
    return {"credentials": credentials, **place}


def test_a_client_secret_never_shows_on_any_pyairbyte_path(exposure: Exposure, tmp_path: Path) -> None:
    secret = distinctive_secret()
    with EmailV1Emulator(seed=19, sizes=EMAIL_SIZES, integration=Integration(client_secret=secret)) as api:
        seen = {
            form: every_path(email_config(api, form, secret), ["lists", "messages"], exposure, tmp_path / form)
            for form in ("nested", "flat")
        }
        expected = {stream: len(api.expected_records(stream)) for stream in ("lists", "messages")}

    for form in ("nested", "flat"):  # the paths really ran
        assert seen[form]["rows"] == expected and len(seen[form]["records"]) == expected["lists"], form
    assert shown(secret, exposure.everything()) == []


def test_a_wrong_client_secret_and_a_refused_configuration_never_show_it(exposure: Exposure, tmp_path: Path) -> None:
    secret = distinctive_secret()
    with EmailV1Emulator(seed=19, sizes=EMAIL_SIZES) as api:  # the emulator's own secret is another one
        source = ab.get_source(
            "source-listrak",
            local_executable=connector_command()[0],
            config=email_config(api, "flat", secret),
            streams=["lists"],
        )
        refused_check = exposure.call(source.check)
        refused_read = exposure.call(lambda: source.read(cache=ab.DuckDBCache(db_path=tmp_path / "wrong.duckdb")))
        # As configurations written for other tools have it: flat, numbers as strings.
        source.set_config({**email_config(api, "flat", secret), "initial_sync_days": "90"}, validate=False)
        refused_config = exposure.call(lambda: source.read(cache=ab.DuckDBCache(db_path=tmp_path / "strings.duckdb")))

    assert isinstance(refused_check, airbyte.exceptions.AirbyteConnectorCheckFailedError)
    assert isinstance(refused_read, airbyte.exceptions.AirbyteConnectorFailedError)
    assert isinstance(refused_config, airbyte.exceptions.AirbyteConnectorValidationFailedError)
    assert list(refused_config.context["error_path"]) == ["initial_sync_days"]  # named, without the rest
    assert shown(secret, exposure.everything()) == []
