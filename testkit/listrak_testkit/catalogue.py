"""The connector's streams, as `discover` lists them: the one stream catalogue of the tests.

Every test, the harnesses (listrak_testkit/harness.py, unit_tests/connector.py) and the scripts take
stream names, primary keys and cursor fields from here; none restates them. The credentials choose the
API, so there are two catalogues, each discovered in-process from ``SourceListrak(config=...)`` with the
least config that chooses it:

- ``EMAIL_API``: OAuth2 client credentials, Listrak's Email API v1 (schemas in source_listrak/schemas/v1);
- ``SDK_EXAMPLE``: an API key (Bearer or Basic), the REST contract of the Fivetran Connector SDK's
  Listrak example (schemas in source_listrak/schemas).

Discovery runs once per process (``functools.cache``). Mappings keep discover's order. What an API
itself calls things (paths, records keys, window parameters) is the emulators' contract knowledge and
stays with them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import source_listrak
from source_listrak import SourceListrak
from source_listrak.config_errors import uses_email_api

EMAIL_API = "email_api"
SDK_EXAMPLE = "sdk_example"
APIS = (EMAIL_API, SDK_EXAMPLE)

# The least config that chooses each API; its values are registered as secrets, so nothing that looks
# like real output.
DISCOVERY_CONFIGS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        EMAIL_API: {
            "credentials": {
                "auth_type": "oauth2_client_credentials",
                "client_id": "catalogue-discovery-client",
                "client_secret": "catalogue-discovery-secret-6c1e",
            }
        },
        SDK_EXAMPLE: {"credentials": {"auth_type": "api_key", "api_key": "catalogue-discovery-key-6c1e"}},
    }
)
# Where each API's schemas are, inside the package.
SCHEMA_DIRECTORIES = MappingProxyType({EMAIL_API: "schemas/v1", SDK_EXAMPLE: "schemas"})
PACKAGE_DIRECTORY = Path(source_listrak.__file__).resolve().parent


@dataclass(frozen=True)
class Stream:
    name: str
    api: str  # EMAIL_API or SDK_EXAMPLE
    primary_key: tuple[str, ...]  # column names; () when the stream has none
    cursor_field: str | None  # None: full refresh only
    schema_path: str  # inside the package, e.g. "schemas/v1/lists.json"

    @property
    def incremental(self) -> bool:
        return self.cursor_field is not None

    @property
    def schema_file(self) -> Path:
        """The schema file of the imported package."""
        return PACKAGE_DIRECTORY / self.schema_path


Streams = Mapping[str, Stream]


@functools.cache
def streams_of(api: str) -> Streams:
    """The streams `discover` lists for ``api``, by name, in discover's order."""
    config = dict(DISCOVERY_CONFIGS[api])
    previously_disabled = logging.root.manager.disable
    logging.disable(logging.WARNING)  # the CDK's warnings about the manifest, not the tests' business
    try:
        catalog = SourceListrak(config=config).discover(logging.getLogger("airbyte"), config)
    finally:
        logging.disable(previously_disabled)
    found = {}
    for stream in catalog.streams:
        cursor = stream.default_cursor_field or []
        assert len(cursor) <= 1, (stream.name, cursor)
        found[stream.name] = Stream(
            name=stream.name,
            api=api,
            primary_key=tuple(".".join(path) for path in stream.source_defined_primary_key or []),
            cursor_field=cursor[0] if cursor else None,
            schema_path=f"{SCHEMA_DIRECTORIES[api]}/{stream.name}.json",
        )
    return MappingProxyType(found)


def api_of(config: Mapping[str, Any]) -> str:
    """The API a config's credentials choose, by the connector's own rule."""
    return EMAIL_API if uses_email_api(config) else SDK_EXAMPLE


def streams_for(config: Mapping[str, Any]) -> Streams:
    return streams_of(api_of(config))


def incremental(streams: Streams) -> Streams:
    """Those of ``streams`` with a cursor."""
    return MappingProxyType({name: stream for name, stream in streams.items() if stream.incremental})


def full_refresh(streams: Streams) -> Streams:
    """Those of ``streams`` without a cursor."""
    return MappingProxyType({name: stream for name, stream in streams.items() if not stream.incremental})


def keyed(streams: Streams) -> Streams:
    """Those of ``streams`` with a primary key."""
    return MappingProxyType({name: stream for name, stream in streams.items() if stream.primary_key})


def single_key(stream: Stream) -> str:
    """The one column of a one-column primary key."""
    (column,) = stream.primary_key
    return column


EMAIL_API_STREAMS = streams_of(EMAIL_API)
SDK_EXAMPLE_STREAMS = streams_of(SDK_EXAMPLE)
