"""The connector as it ships: metadata.yaml, the Dockerfile, the user docs, and a wheel that works
installed on its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import uuid
import xml.etree.ElementTree as ElementTree
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from airbyte_cdk.models.connector_metadata import MetadataFile

import listrak_emulators
import listrak_testkit
from listrak_testkit.catalogue import APIS, EMAIL_API_STREAMS, SDK_EXAMPLE_STREAMS, streams_of

REPO = Path(__file__).resolve().parent.parent
UV = REPO / ".uv" / "bin" / "uv"  # installed by scripts/bootstrap.sh
BASE_IMAGE_ARG = re.compile(r"ARG BASE_IMAGE=(docker\.io/airbyte/python-connector-base:4\.0\.2@sha256:[0-9a-f]{64})")


def package_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def dockerfile_lines() -> list[str]:
    return (REPO / "Dockerfile").read_text().splitlines()


def dockerfile_run_step(marker: str) -> str:
    """The RUN instruction (continuation lines joined) that contains `marker`."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    (step,) = [line for line in text.splitlines() if line.startswith("RUN ") and marker in line]
    return " ".join(step.split())


def bootstrap_uv_version() -> str:
    match = re.search(r"^UV_VERSION=(\S+)$", (REPO / "scripts" / "bootstrap.sh").read_text(), re.MULTILINE)
    assert match, "scripts/bootstrap.sh pins uv"
    return match.group(1)


def locked_packages() -> dict[str, dict[str, Any]]:
    return {package["name"]: package for package in tomllib.loads((REPO / "uv.lock").read_text())["package"]}


def metadata() -> dict[str, Any]:
    return yaml.safe_load((REPO / "metadata.yaml").read_text())


def manifest() -> dict[str, Any]:
    return yaml.safe_load((REPO / "source_listrak" / "manifest.yaml").read_text())


def manifest_spec_properties() -> dict[str, Any]:
    return manifest()["spec"]["connection_specification"]["properties"]


def test_metadata_parses_with_the_cdk_model_and_tags_the_package_version() -> None:
    data = MetadataFile.from_file(REPO / "metadata.yaml").data

    assert data.dockerRepository == "airbyte/source-listrak"
    assert data.dockerImageTag == package_version()
    assert {"language:python", "cdk:low-code"} <= set(data.tags)


def test_metadata_base_image_is_the_dockerfile_default() -> None:
    data = MetadataFile.from_file(REPO / "metadata.yaml").data
    match = BASE_IMAGE_ARG.fullmatch(dockerfile_lines()[0])

    assert match, "the Dockerfile's first line pins python-connector-base 4.0.2 by digest"
    assert data.connectorBuildOptions is not None
    assert data.connectorBuildOptions.baseImage == match.group(1)


def test_metadata_has_the_values_the_airbyte_registry_expects() -> None:
    document = metadata()
    data = document["data"]

    assert document["metadataSpecVersion"] == "1.0"
    assert uuid.UUID(data["definitionId"]).version == 4
    assert data["name"] == "Listrak"
    assert (data["connectorType"], data["connectorSubtype"]) == ("source", "api")
    assert (data["releaseStage"], data["supportLevel"], data["license"]) == ("alpha", "community", "MIT")
    assert "documentationUrl" not in data  # no published page yet: docs/listrak.md is in the repository only
    assert data["githubIssueLabel"] == "source-listrak"
    assert data["icon"] == "icon.svg" and (REPO / data["icon"]).is_file()
    assert [suite["suite"] for suite in data["connectorTestSuitesOptions"]] == [
        "unitTests",
        "integrationTests",
        "acceptanceTests",
    ]
    # The platform substitutes ${base_url} with the host of the configured Base URL.
    assert data["allowedHosts"]["hosts"] == ["api.listrak.com", "auth.listrak.com", "${base_url}"]
    assert "base_url" in manifest_spec_properties()
    assert data["registryOverrides"] == {"cloud": {"enabled": True}, "oss": {"enabled": True}}
    # The registry's PyPi model requires both keys.
    assert set(data["remoteRegistries"]["pypi"]) == {"enabled", "packageName"}


def test_dockerfile_takes_its_base_from_the_base_image_argument() -> None:
    lines = dockerfile_lines()

    assert BASE_IMAGE_ARG.fullmatch(lines[0])
    assert lines[1] == "FROM ${BASE_IMAGE}"


def test_dockerfile_installs_the_locked_runtime_then_the_package_and_runs_source_listrak_as_airbyte() -> None:
    lines = dockerfile_lines()
    install = dockerfile_run_step("uv export")

    assert "COPY pyproject.toml uv.lock README.md main.py ./" in lines
    assert "COPY source_listrak ./source_listrak" in lines
    # the runtime set of uv.lock (no extras), hash-checked, then the connector without resolving anything
    assert f"pip install --no-cache-dir --disable-pip-version-check uv=={bootstrap_uv_version()}" in install
    assert "uv export --locked --no-dev --no-emit-project $(printf -- '--no-emit-package %s ' $LEFT_OUT)" in install
    assert "--format requirements.txt -o /tmp/requirements.txt" in install
    assert "--extra" not in install
    assert "--require-hashes --no-deps -r /tmp/requirements.txt" in install
    assert install.rstrip().endswith("--no-deps . && rm -rf /tmp/requirements.txt /root/.cache")
    assert "pip uninstall -y -q uv" in install
    assert "USER airbyte" in lines
    assert 'ENV AIRBYTE_ENTRYPOINT="source-listrak"' in lines
    assert "ENV MALLOC_ARENA_MAX=2" in lines  # bounded malloc arenas: memory under 429 waits (bench/README.md)
    assert lines[-1] == 'ENTRYPOINT ["source-listrak"]'


def test_airbyte_cdk_is_pinned_exactly_in_pyproject_and_the_lock() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    locked = locked_packages()

    assert "airbyte-cdk==7.39.1" in project["dependencies"]
    assert locked["airbyte-cdk"]["version"] == "7.39.1"
    assert locked["airbyte"]["version"] == "0.71.3"  # PyAirbyte, as the e2e extra pins it


def test_lock_was_made_from_this_pyproject() -> None:
    # What `uv sync --locked` (scripts/bootstrap.sh) and `uv export --locked` (Dockerfile) enforce,
    # as a test: every requirement and extra of pyproject.toml is the one the lock was resolved for.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    locked = locked_packages()["source-listrak"]
    requires = {(r["name"], r.get("specifier", ""), r.get("marker", "")) for r in locked["metadata"]["requires-dist"]}
    declared = {(r, "") for r in project["dependencies"]} | {
        (r, f"extra == '{extra}'") for extra, reqs in project["optional-dependencies"].items() for r in reqs
    }

    def split(requirement: str) -> tuple[str, str]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement)
        assert match, requirement
        return re.sub(r"[-_.]+", "-", match.group(1)).lower(), match.group(2)

    assert {(*split(r), marker) for r, marker in declared} == requires
    extras = set(project["optional-dependencies"])
    assert set(locked["metadata"]["provides-extras"]) == extras == {"dev", "e2e", "bench"}


def test_scripts_install_from_the_lock_tests_without_the_benchmark_extra() -> None:
    bootstrap = (REPO / "scripts" / "bootstrap.sh").read_text()
    bench = (REPO / "scripts" / "bench").read_text()

    assert '"$UV" sync --quiet --locked' in bootstrap
    assert "EXTRAS=${EXTRAS:-dev e2e}" in bootstrap  # scripts/test and scripts/demo
    assert 'EXTRAS="dev e2e bench"' in bench
    assert "EXTRAS" not in (REPO / "scripts" / "test").read_text()
    assert "bash scripts/test" in (REPO / ".ci" / "run").read_text()


def test_the_test_kit_is_installed_for_development_and_left_out_of_the_image() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())

    assert project["tool"]["uv"]["workspace"]["members"] == ["testkit"]
    assert project["dependency-groups"]["dev"] == ["listrak-testkit"]  # uv's default group: every `uv sync`
    assert locked_packages()["listrak-testkit"]["source"] == {"editable": "testkit"}
    assert "--no-dev" in dockerfile_run_step("uv export")
    for package in (listrak_emulators, listrak_testkit):  # from the installed kit, not the working directory
        assert Path(package.__file__).resolve().is_relative_to(REPO / "testkit" / package.__name__)


def test_dockerignore_keeps_secrets_and_local_environments_out_of_the_build_context() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())

    assert {"secrets", ".venv", ".git"} <= ignored


def test_top_level_manifest_is_the_packaged_one() -> None:
    assert (REPO / "manifest.yaml").resolve() == (REPO / "source_listrak" / "manifest.yaml").resolve()


def test_docs_page_documents_every_config_field_and_every_stream() -> None:
    page = (REPO / "docs" / "listrak.md").read_text()

    for field in manifest_spec_properties():
        assert f"`{field}`" in page, field
    for api in APIS:
        for stream in streams_of(api):
            assert f"| `{stream}` |" in page, (api, stream)


def test_the_version_is_the_same_in_the_four_places() -> None:
    """pyproject.toml, metadata.yaml's image tag, and the newest entry of both changelogs, with one date."""
    version = package_version()
    changelog = re.findall(r"^## (\S+)(?: \((\d{4}-\d{2}-\d{2})\))?$", (REPO / "CHANGELOG.md").read_text(), re.M)
    docs = (REPO / "docs" / "listrak.md").read_text()
    table = re.search(r"\| Version \| Date \|.*?\n\|[-|]+\|\n(.*?)\n\n", docs, re.S)
    assert table is not None, "docs/listrak.md lost its changelog table"
    docs_rows = [tuple(cell.strip() for cell in row.split("|")[1:3]) for row in table.group(1).splitlines()]

    assert MetadataFile.from_file(REPO / "metadata.yaml").data.dockerImageTag == version
    assert changelog[0][0] == version, "CHANGELOG.md's newest entry is not the package version"
    assert changelog[0][1], "the released version has a date"
    assert docs_rows[0] == (version, changelog[0][1]), "docs/listrak.md's changelog table disagrees"
    assert [row[0] for row in docs_rows] == [entry[0] for entry in changelog]


def test_the_build_backend_and_its_requirements_are_pinned_exactly() -> None:
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]

    assert any(requirement.startswith("hatchling==") for requirement in requires)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", requirement) for requirement in requires), requires


def test_icon_is_an_svg_document() -> None:
    root = ElementTree.parse(REPO / "icon.svg").getroot()

    assert root.tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_prints_the_spec(tmp_path: Path) -> None:
    """Offline, from uv's cache that scripts/bootstrap.sh filled: the wheel built by its pinned backend,
    installed with uv.lock's versions of what it declares, into a venv that sees nothing of .venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["UV_PYTHON_DOWNLOADS"] = "never"

    def uv(*args: str) -> None:
        completed = subprocess.run([str(UV), *args], capture_output=True, text=True, env=env)
        assert completed.returncode == 0, completed.stderr[-2000:]

    wheels = tmp_path / "wheels"
    uv("build", "--wheel", "--offline", "--quiet", "--out-dir", str(wheels), str(REPO))
    (wheel,) = wheels.glob("source_listrak-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert all(name.startswith(("source_listrak/", "source_listrak-")) for name in names)  # no test kit
    package = REPO / "source_listrak"
    schemas = {f"source_listrak/{path.relative_to(package)}" for path in (package / "schemas").rglob("*.json")}
    assert "source_listrak/manifest.yaml" in names
    assert schemas <= names
    for stream in EMAIL_API_STREAMS.values():
        assert f"source_listrak/schemas/v1/{stream.name}.json" in names, stream
    for stream in SDK_EXAMPLE_STREAMS.values():
        assert f"source_listrak/schemas/{stream.name}.json" in names, stream

    locked = tmp_path / "pylock.toml"  # uv.lock's packages for the connector alone: no extras, no test kit
    uv("export", "--frozen", "--quiet", "--format", "pylock.toml", "--no-emit-workspace", "--project", str(REPO),
       "--output-file", str(locked))
    venv = tmp_path / "venv"
    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    python = str(venv / "bin" / "python")
    uv("pip", "install", "--offline", "--quiet", "--python", python, "-r", str(locked))
    uv("pip", "install", "--offline", "--quiet", "--python", python, str(wheel))  # its dependencies: satisfied
    uv("pip", "check", "--quiet", "--python", python)
    leaked = subprocess.run([python, "-c", "import listrak_emulators"], capture_output=True, env=env)
    assert leaked.returncode != 0, "the fresh venv sees the test kit"

    # A stray manifest.yaml in the working directory must not replace the packaged one.
    (tmp_path / "manifest.yaml").write_text("not: the connector's manifest\n")
    spec = subprocess.run(
        [str(venv / "bin" / "source-listrak"), "spec"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    messages = [json.loads(line) for line in spec.stdout.splitlines() if line.startswith("{")]
    (spec_message,) = [message for message in messages if message["type"] == "SPEC"]
    properties = spec_message["spec"]["connectionSpecification"]["properties"]
    assert "credentials" in properties
    assert set(properties) == set(manifest_spec_properties())
