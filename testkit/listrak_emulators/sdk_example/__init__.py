"""An emulator of the REST contract of the Fivetran Connector SDK's Listrak example, on loopback.

That contract: /contacts, /campaigns and /events, paged with `page`/`perPage` and windowed by their
cursor fields; the HAL collections /custom-fields, /interests, /segments and offset-paged /sources;
/webhook-events; a Bearer API key or Basic account id + key (the connector's API-key configurations).

- `contract`: the streams, their paths and cursor fields, and the expected output: what the connector
  must emit for each record, from the contract's mapping, independently of the connector;
- `dataset`: the generator (knobs: `Sizes`): every record a pure function of the knobs, its stream and
  its index, so a million events cost no memory; cursor instants never decrease with the index, so a
  time window is a binary search;
- `server`: the contract's rules (auth, page and offset paging, time windows, parameter errors,
  faults; knobs: `Faults`) and the `Emulator`.

    python -m listrak_emulators.sdk_example --port 8765 --events 10000

Standard library only.
"""

from listrak_emulators.sdk_example.contract import (
    BASE_PATH,
    HAL_PATHS,
    HAL_STREAMS,
    RENAMES,
    STREAMS,
    TIMESTAMP_FIELDS,
    WINDOWED,
    expected_output,
    flatten,
    to_utc,
)
from listrak_emulators.sdk_example.dataset import Dataset, Sizes
from listrak_emulators.sdk_example.server import Emulator, Faults, RenderedPage

__all__ = [
    "BASE_PATH",
    "HAL_PATHS",
    "HAL_STREAMS",
    "RENAMES",
    "STREAMS",
    "TIMESTAMP_FIELDS",
    "WINDOWED",
    "Dataset",
    "Emulator",
    "Faults",
    "RenderedPage",
    "Sizes",
    "expected_output",
    "flatten",
    "to_utc",
]
