"""The connector is built from the manifest and schemas packaged with it, whatever directory it runs in:
a ``manifest.yaml`` (or a ``source_listrak/schemas``) in the user's working directory must not win."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS
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
