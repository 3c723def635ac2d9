"""The package as users get it: a wheel installed in a fresh venv, the image files, the metadata."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from airbyte_cdk.models.connector_metadata import MetadataFile

REPO = Path(__file__).resolve().parent.parent


def test_metadata_parses_and_matches_the_package_and_the_dockerfile() -> None:
    metadata = MetadataFile.from_file(REPO / "metadata.yaml").data
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    base_image_arg = (REPO / "Dockerfile").read_text().splitlines()[0]

    assert metadata.dockerRepository == "airbyte/source-listrak"
    assert metadata.dockerImageTag == version
    assert base_image_arg == f"ARG BASE_IMAGE={metadata.connectorBuildOptions.baseImage}"
    assert {"language:python", "cdk:low-code"} <= set(metadata.tags)


def test_dockerfile_builds_from_the_base_image_argument() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    assert lines[0].startswith("ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:")
    assert "@sha256:" in lines[0]
    assert lines[1] == "FROM ${BASE_IMAGE}"
    assert 'ENTRYPOINT ["source-listrak"]' in lines


def test_top_level_manifest_is_the_packaged_one() -> None:
    assert (REPO / "manifest.yaml").read_text() == (REPO / "source_listrak" / "manifest.yaml").read_text()


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_prints_the_spec_from_any_directory(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True, capture_output=True,
    )
    (wheel,) = wheels.glob("source_listrak-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "source_listrak/manifest.yaml" in names
    assert {f"source_listrak/schemas/{s}.json" for s in ("contacts", "events", "webhook_events")} <= set(names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True, capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "manifest.yaml").write_text("not: the connector's manifest\n")
    spec = subprocess.run(
        [str(venv / "bin" / "source-listrak"), "spec"], cwd=elsewhere, check=True, capture_output=True, text=True
    )
    messages = [json.loads(line) for line in spec.stdout.splitlines() if line.startswith("{")]
    (spec_message,) = [m for m in messages if m["type"] == "SPEC"]
    assert "credentials" in spec_message["spec"]["connectionSpecification"]["properties"]
