"""The CDK's own declarative pipeline, for comparison: source-listrak's events stream with none of its code.

    .venv/bin/python bench/cdk_baseline.py read --config config.json --catalog catalog.json

The packaged manifest with the CDK's ``DpathExtractor`` instead of ``EnvelopeExtractor``, no
transformations, no state migration, no request budget, the default error handler, an empty schema,
and none of ``source_listrak.cdk_changes`` (the cursor parser included). What it takes per record
is what any declarative connector pays before doing anything with a record (bench/README.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from airbyte_cdk.entrypoint import launch
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource

MANIFEST = Path(__file__).resolve().parent.parent / "source_listrak" / "manifest.yaml"


def baseline_manifest() -> dict:
    manifest = yaml.safe_load(MANIFEST.read_text())
    definitions = manifest["definitions"]
    manifest.pop("api_budget")
    definitions["record_selector"]["extractor"] = {"type": "DpathExtractor", "field_path": ["events"]}
    definitions["base_requester"]["error_handler"] = {"type": "DefaultErrorHandler"}
    definitions["events"]["transformations"] = []
    stream = definitions["windowed_stream"]
    stream["state_migrations"] = []
    stream["schema_loader"] = {"type": "InlineSchemaLoader", "schema": {"type": "object", "properties": {}}}
    # StartingCursor gave the initial window; without it the cursor starts there directly.
    definitions["window_cursor"]["start_datetime"]["datetime"] = (
        "{{ (now_utc() - duration('P' ~ config['initial_sync_days'] ~ 'D')).strftime('%Y-%m-%dT%H:%M:%S.%fZ') }}"
    )
    return manifest


def main(args: list[str]) -> None:
    config = json.loads(Path(args[args.index("--config") + 1]).read_text())
    catalog = ConcurrentDeclarativeSource.read_catalog(args[args.index("--catalog") + 1])
    source = ConcurrentDeclarativeSource(source_config=baseline_manifest(), config=config, catalog=catalog)
    launch(source, args)


if __name__ == "__main__":
    main(sys.argv[1:])
