"""The CDK's own declarative record path on the Email API v1: the connector's streams with none of its code.

    .venv/bin/python bench/cdk_email_baseline.py read --config config.json --catalog catalog.json

`bench/email_api.py` runs it beside the connector on the same emulator and catalog. The packaged manifest
keeps every stream's requests (paths, partition routers, request parameters, paginators, incremental
cursors), and every custom component is replaced by the CDK's own or removed: ``DpathExtractor`` on
``data`` and ``JsonDecoder`` instead of the envelope extractor and decoder, the CDK's
``OAuthAuthenticator`` (client credentials) instead of the token session, ``DefaultErrorHandler``
ignoring Listrak's 404s instead of ``ListrakErrorHandler``, the CDK's cartesian product instead of
``EveryCombination``; no transformations, no schema normalization, no state migration, no request
budget; the config's defaults filled here from the spec; none of ``source_listrak`` is imported, so
none of ``cdk_changes`` applies. The only addition is the ``to_api_time`` template function (a request
parameter, once per request), without which the windows sent to Listrak would differ.

Its records are the API's as sent: dates in Eastern wall time, no parent ids, no ``sync_timestamp``, so the
CDK's cursor finds no cursor value on a record (``messageSendDate`` is the connector's) and skips its
per-record update. What it takes per record is what any declarative connector reading these streams pays
before doing anything with a record.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from airbyte_cdk.entrypoint import launch
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.sources.declarative.interpolation import jinja

MANIFEST = Path(__file__).resolve().parent.parent / "source_listrak" / "manifest.yaml"

OAUTH = {
    "type": "OAuthAuthenticator",
    "token_refresh_endpoint": "{{ config['token_url'] }}",
    "client_id": "{{ config['credentials']['client_id'] }}",
    "client_secret": "{{ config['credentials']['client_secret'] }}",
    "grant_type": "client_credentials",
}
ERROR_HANDLER = {
    "type": "DefaultErrorHandler",
    "max_retries": 5,
    "response_filters": [{"type": "HttpResponseFilter", "http_codes": [404], "action": "IGNORE"}],
}


def stock(item: Any) -> Any:
    """``item`` with every custom component replaced by the CDK's own, or removed (see the docstring)."""
    if isinstance(item, list):
        return [stock(value) for value in item if not _dropped(value)]
    if not isinstance(item, dict):
        return item
    kind = item.get("type")
    if kind == "CustomRecordExtractor":
        return {"type": "DpathExtractor", "field_path": ["data"]}
    if kind == "CustomDecoder":
        return {"type": "JsonDecoder"}
    if kind == "CustomErrorHandler":
        return dict(ERROR_HANDLER)
    if kind == "CustomPartitionRouter":  # EveryCombination: the CDK's product of its routers
        return stock(item["partition_routers"])
    if kind == "SelectiveAuthenticator":
        return dict(OAUTH)
    drop = ("transformations", "state_migrations", "schema_normalization")
    return {key: stock(value) for key, value in item.items() if key not in drop}


def _dropped(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") in ("CustomConfigTransformation", "CustomBackoffStrategy")


def email_baseline_manifest() -> dict[str, Any]:
    manifest = yaml.safe_load(MANIFEST.read_text())
    manifest.pop("api_budget")
    return stock(manifest)


def with_defaults(config: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """The config with the spec's defaults filled in (what the connector's SpecDefaults does)."""
    options = manifest["spec"]["connection_specification"]["properties"]
    defaults = {name: option["default"] for name, option in options.items() if "default" in option}
    return {**defaults, **config}


def to_api_time(value: str, zone: str, round_up: bool = False) -> str:
    """A UTC slice bound as Listrak's wall time (source_listrak.listrak_time.to_api_time, restated)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if round_up and moment.microsecond:
        moment += timedelta(seconds=1)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def main(args: list[str]) -> None:
    manifest = email_baseline_manifest()
    config = with_defaults(json.loads(Path(args[args.index("--config") + 1]).read_text()), manifest)
    Path(args[args.index("--config") + 1]).write_text(json.dumps(config))
    jinja._ENVIRONMENT.globals["to_api_time"] = to_api_time
    catalog = ConcurrentDeclarativeSource.read_catalog(args[args.index("--catalog") + 1])
    source = ConcurrentDeclarativeSource(source_config=manifest, config=config, catalog=catalog)
    launch(source, args)


if __name__ == "__main__":
    main(sys.argv[1:])
