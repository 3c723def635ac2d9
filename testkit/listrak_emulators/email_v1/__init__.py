"""An emulator of the Listrak Email REST API v1 on loopback, strict where the real API is unknown.

    with EmailV1Emulator(seed=3, sizes=Sizes(contacts_per_list=150)) as api:
        ...  # a connector reads api.base_url and api.token_url with api.client_id and api.client_secret
        api.expected_records("contacts")  # what it must emit; api.request_counts(STREAMS): what it needs

    python -m listrak_emulators.email_v1 --port 8766 --fault-rate 0.05 --latency-ms 20

One table says what each stream is, and the modules read it, each with one role:

- `streams`: the table: each stream's route, parent, primary key, envelope (paging), API areas and
  incremental field; the routes no stream reads;
- `plan`, `account`, `activity`: the generated account (knobs: `Sizes`): its lists and what each holds,
  their records, and what recipients did with each send; every record a pure function of the seed and
  its place, plus the overlays that the mutations (`advance`, `subscribe`, `engage`, ...) write;
- `eastern_time`: naive America/New_York wall time with 0, 1, 2, 3 or 7 fraction digits, the sentinel
  `0001-01-01T00:00:00`, and `to_utc`, the conversion a connector must apply;
- `server`: the token endpoint, Bearer tokens and API areas (knobs: `Integration`), the mutations;
  `routes`: the data API's rules (strict parameters, HMAC-signed cursors, date filters, envelopes;
  knobs: `Paging`) and what each route answers; `answers`: responses and error bodies;
- `faults`: 429, 500, IIS 502/503 pages, 200 with an HTML body, dropped connections, slow answers, and
  500/429 on the token endpoint, deterministic per request (knobs: `Faults`);
- `oracle`: what a connector must emit per stream (`expected_records`) and the requests one sync needs
  (`request_counts`, contract §3.6).

Standard library only; nothing of the connector is imported.
"""

from listrak_emulators.email_v1.eastern_time import SENTINEL, to_utc
from listrak_emulators.email_v1.faults import RETRY_AFTER_MODES, Faults
from listrak_emulators.email_v1.oracle import DATETIME_FIELDS, ExpectedOutput, RequestModel, SendWindow
from listrak_emulators.email_v1.plan import Sizes
from listrak_emulators.email_v1.routes import Paging, find_route
from listrak_emulators.email_v1.server import TOKEN_PATH, UNAUTHORIZED_BODIES, EmailV1Emulator, Integration
from listrak_emulators.email_v1.streams import (
    AREAS,
    BASE_PATH,
    PRIMARY_KEYS,
    STREAM_TABLE,
    STREAMS,
    Envelope,
    Route,
    Stream,
    descendants,
    stream_named,
)

__all__ = [
    "AREAS",
    "BASE_PATH",
    "DATETIME_FIELDS",
    "PRIMARY_KEYS",
    "RETRY_AFTER_MODES",
    "SENTINEL",
    "STREAMS",
    "STREAM_TABLE",
    "TOKEN_PATH",
    "UNAUTHORIZED_BODIES",
    "EmailV1Emulator",
    "Envelope",
    "ExpectedOutput",
    "Faults",
    "Integration",
    "Paging",
    "RequestModel",
    "Route",
    "SendWindow",
    "Sizes",
    "Stream",
    "descendants",
    "find_route",
    "stream_named",
    "to_utc",
]
