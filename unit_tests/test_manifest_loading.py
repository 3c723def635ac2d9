"""The connector is built from the manifest and schemas packaged with it, whatever directory it runs in:
a ``manifest.yaml`` (or a ``source_listrak/schemas``) in the user's working directory must not win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from airbyte_cdk.sources.declarative import concurrent_declarative_source as cdk_source
from jsonschema import ValidationError

from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS
from listrak_testkit.manifest_memo import processed_by_the_cdk_itself
from source_listrak import SourceListrak
from source_listrak.source import MANIFEST_PATH
from unit_tests.connector import bearer_config, read_streams, records
from unit_tests.fake_listrak import FakeListrak, hal_collection

BOGUS_MANIFEST = """\
version: 0.0.1
type: DeclarativeSource
check: {type: CheckStream, stream_names: [bogus]}
streams: []
spec:
  type: Spec
  connection_specification: {title: Bogus, type: object, properties: {}}
"""


@pytest.fixture
def stray_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "manifest.yaml").write_text(BOGUS_MANIFEST)
    schemas = tmp_path / "source_listrak" / "schemas"
    schemas.mkdir(parents=True)
    (schemas / "segments.json").write_text(json.dumps({"type": "object", "properties": {"bogus": {}}}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_manifest_path_points_into_the_installed_package() -> None:
    manifest = Path(MANIFEST_PATH)
    assert manifest.is_absolute() and manifest.is_file()
    assert manifest.parent.name == "source_listrak"
    assert (manifest.parent / "components.py").is_file()


def test_discover_uses_the_packaged_manifest_when_the_cwd_has_another(stray_files: Path, api_key: str) -> None:
    config = bearer_config(api_key)
    streams = SourceListrak(config=config).streams(config)

    assert sorted(stream.name for stream in streams) == sorted(SDK_EXAMPLE_STREAMS)
    segments = next(stream for stream in streams if stream.name == "segments")
    assert "number_of_contacts" in segments.get_json_schema()["properties"]


def test_spec_uses_the_packaged_manifest_when_the_cwd_has_another(stray_files: Path, cli) -> None:
    [spec] = cli("spec").of_type("SPEC")
    assert spec["spec"]["connectionSpecification"]["title"] != "Bogus"
    assert "credentials" in spec["spec"]["connectionSpecification"]["properties"]


def test_read_works_when_the_cwd_has_another_manifest(stray_files: Path, listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("segments", {"json": hal_collection([{"id": 1, "name": "VIP"}])})

    output = read_streams(bearer_config(api_key), "segments")

    assert [r["id"] for r in records(output, "segments")] == [1]


def test_the_test_processes_memory_of_manifests_gives_what_the_cdk_gives_and_never_remembers_a_refusal() -> None:
    """The root conftest keeps each manifest's processing (listrak_testkit/manifest_memo.py)."""
    assert cdk_source.validate_manifest.__name__ == "remembered", "the memory is not in place"
    invalid = yaml.safe_load(BOGUS_MANIFEST) | {"streams": [{"type": "DeclarativeStream", "retriever": 7}]}
    for _ in range(2):
        with pytest.raises(ValidationError):
            cdk_source.ConcurrentDeclarativeSource(source_config=dict(invalid))

    config = bearer_config("k")
    remembered = [SourceListrak(config=config).resolved_manifest for _ in range(2)]
    with processed_by_the_cdk_itself():
        assert SourceListrak(config=config).resolved_manifest == remembered[0] == remembered[1]
        with pytest.raises(ValidationError):
            cdk_source.ConcurrentDeclarativeSource(source_config=dict(invalid))
    assert remembered[0] is not remembered[1]  # each build edits its own copy
