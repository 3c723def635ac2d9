"""A full read of every Email API stream under each answer only a real Listrak account can give (the
contract's section 9): one line per behaviour, as issue 18 tabled them (not a test; the tests are
integration_tests/test_real_account_unknowns.py).

    .venv/bin/python bench/real_account_unknowns.py        # ~2 minutes

Each read runs the installed `source-listrak` at default settings against its own emulator (100 ms per
request) and is compared with the emulator's expected output, stream by stream.
"""

from __future__ import annotations

import json
import time

from listrak_emulators.email_v1 import AREAS, PRIMARY_KEYS, EmailV1Emulator, Faults, Integration, Sizes
from listrak_testkit.harness import comparable, run_connector

SIZES = Sizes(contacts_per_list=150, messages_per_list=8, recipients_per_message=40, history_days=400)
LATENCY = Faults(latency_ms=100)
BEHAVIOURS = {
    "as assumed": (Integration(), LATENCY),
    "a new token revokes the integration's older ones": (Integration(revoke_previous_tokens=True), LATENCY),
    "tokens die 2 s after issue although `expires_in` says 3599": (Integration(actual_ttl=2), LATENCY),
    "the 401 body has no `error` key (tokens dying at 2 s)": (
        Integration(actual_ttl=2, unauthorized_body="no-error-key"), LATENCY
    ),
    "the integration was created without the Report area": (Integration(areas=AREAS - {"Report"}), LATENCY),
    "the token endpoint answers 500/429 now and then while tokens expire": (
        Integration(actual_ttl=2), Faults(latency_ms=100, token_rate_500=0.25, token_rate_429=0.25)
    ),
}


def catalog(api: EmailV1Emulator) -> dict:
    (found,) = run_connector("discover", config(api)).of_type("CATALOG")
    return {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append"}
                        for stream in found["catalog"]["streams"]]}


def config(api: EmailV1Emulator) -> dict:
    credentials = {"auth_type": "oauth2_client_credentials", "client_id": api.client_id,
                   "client_secret": api.client_secret}
    return {
        "credentials": credentials, "base_url": api.base_url, "token_url": api.token_url, "start_date": "2000-01-01"
    }


def as_rows(records: list[dict]) -> list[str]:
    return sorted(json.dumps(comparable(record), sort_keys=True) for record in records)


def refused_twice_in_a_row(api: EmailV1Emulator) -> int:
    last: dict[tuple, tuple[int, str | None]] = {}
    twice = 0
    for entry in api.data_log():
        key = (entry.path, entry.raw_query)
        status, token = last.get(key, (0, None))
        twice += entry.status == 401 and status == 401 and entry.token != token
        last[key] = (entry.status, entry.token)
    return twice


def main() -> None:
    print("| the API behaves like this | exit | streams exact | tokens issued | token answers 429/500 "
          "| data 401s | refused twice in a row | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for behaviour, (integration, faults) in BEHAVIOURS.items():
        with EmailV1Emulator(seed=3, sizes=SIZES, integration=integration, faults=faults) as api:
            streams = catalog(api)
            api.clear_log()
            started = time.monotonic()
            run = run_connector("read", config(api), streams, timeout=600)
            seconds = time.monotonic() - started
            exact = sum(as_rows(run.records(name)) == as_rows(api.expected_records(name)) for name in PRIMARY_KEYS)
            tokens = api.token_requests()
            issued = sum(entry.status == 200 for entry in tokens)
            faults_seen = sum(entry.status in (429, 500) for entry in tokens)
            refused = sum(entry.status == 401 for entry in api.data_log())
            print(f"| {behaviour} | {run.returncode} | {exact}/{len(PRIMARY_KEYS)} | {issued} | {faults_seen} "
                  f"| {refused} | {refused_twice_in_a_row(api)} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
