"""The manifest-only form (`scripts/manifest-only`: manifest.yaml + components.py) under airbyte-cdk's stock
runtime gives what `source-listrak` gives: the same spec in the image layout, the same records (the
emulators' expected output) and the same states, for every stream of both APIs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from integration_tests.test_email_api import as_multiset
from integration_tests.test_email_api import config as email_config
from integration_tests.test_end_to_end import expected as expected_output
from listrak_emulators.email_v1 import PRIMARY_KEYS, EmailV1Emulator, Sizes
from listrak_emulators.sdk_example import Emulator
from listrak_emulators.sdk_example import Sizes as SdkSizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS
from listrak_testkit.harness import Run, configured_catalog, configured_from_discovery, run_connector

ROOT = Path(__file__).resolve().parents[1]
SIZES = Sizes(contacts_per_list=60, messages_per_list=5, recipients_per_message=30)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pair as a manifest-only image holds it: a `source_declarative_manifest` package directory."""
    out = tmp_path_factory.mktemp("image") / "source_declarative_manifest"
    subprocess.run([sys.executable, "scripts/manifest_only.py", str(out)], check=True, cwd=ROOT, capture_output=True)
    (out / "__init__.py").write_text("")
    return out


def stock(bundle: Path, command: str, config: dict | None = None, catalog: dict | None = None,
          injected: bool = True) -> Run:
    """The stock runtime: `source-declarative-manifest` with the pair in the config (as the Connector
    Builder and Airbyte's platform pass it), or the image layout (the pair beside the runtime)."""
    with tempfile.TemporaryDirectory() as tmp:
        args: list[str] = [command]
        if config is not None:
            if injected:
                code = (bundle / "components.py").read_text()
                config = {
                    **config,
                    "__injected_declarative_manifest": yaml.safe_load((bundle / "manifest.yaml").read_text()),
                    "__injected_components_py": code,
                    "__injected_components_py_checksums": {"sha256": hashlib.sha256(code.encode()).hexdigest()},
                }
            Path(tmp, "config.json").write_text(json.dumps(config))
            args += ["--config", f"{tmp}/config.json"]
        if catalog is not None:
            Path(tmp, "catalog.json").write_text(json.dumps(catalog))
            args += ["--catalog", f"{tmp}/catalog.json"]
        env = {**os.environ, "AIRBYTE_ENABLE_UNSAFE_CODE": "true"}
        if injected:
            runtime = [str(Path(sys.executable).parent / "source-declarative-manifest")]
            cwd = tmp
        else:  # what the image's entrypoint runs when its manifest.yaml is present
            runtime = [sys.executable, "-c", "import sys; from airbyte_cdk.cli.source_declarative_manifest._run "
                       "import handle_local_manifest_command as run; run(sys.argv[1:])"]
            env["PYTHONPATH"] = os.pathsep.join([str(bundle.parent), env.get("PYTHONPATH", "")])
            cwd = str(bundle)
        completed = subprocess.run(runtime + args, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)
    run = Run(completed.returncode, completed.stdout, completed.stderr)
    for line in completed.stdout.split("\n"):
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                run.messages.append(json.loads(line))
    return run


def final_states(run: Run) -> dict[str, Any]:
    """Each stream's last state, without the seconds the CDK counts since the sync started (kept for
    look-backs, parents' states included): those depend on timing, not on the form."""

    def timeless(state: Any) -> Any:
        if isinstance(state, dict):
            return {key: timeless(value) for key, value in state.items() if key != "lookback_window"}
        return state

    return {m["stream"]["stream_descriptor"]["name"]: timeless(m["stream"]["stream_state"])
            for m in run.final_state_messages()}


def test_the_image_layout_serves_the_connectors_own_spec(bundle: Path) -> None:
    (ours,) = run_connector("spec").of_type("SPEC")
    (theirs,) = stock(bundle, "spec", injected=False).of_type("SPEC")
    assert theirs["spec"]["connectionSpecification"] == ours["spec"]["connectionSpecification"]


def catalog_of(run: Run) -> dict[str, Any]:
    (catalog,) = run.of_type("CATALOG")
    return configured_from_discovery(catalog)


def test_the_email_api_reads_the_same_under_the_stock_runtime(bundle: Path) -> None:
    with EmailV1Emulator(seed=31, sizes=SIZES) as api:
        config = email_config(api)
        assert stock(bundle, "check", config).connection_status() == {"status": "SUCCEEDED"}
        discovered = stock(bundle, "discover", config)
        assert discovered.of_type("CATALOG") == run_connector("discover", config).of_type("CATALOG")
        catalog = catalog_of(discovered)
        theirs = stock(bundle, "read", config, catalog)
        ours = run_connector("read", config, catalog)
        assert theirs.returncode == ours.returncode == 0, theirs.errors()
        for stream in PRIMARY_KEYS:
            expected = as_multiset(api.expected_records(stream))
            assert as_multiset(theirs.records(stream)) == expected == as_multiset(ours.records(stream)), stream
        assert final_states(theirs) == final_states(ours)


def test_the_api_key_contract_reads_the_same_in_the_image_layout(bundle: Path) -> None:
    sizes = SdkSizes(contacts=120, campaigns=30, events=400, custom_fields=5, interests=4, segments=3, sources=600)
    with Emulator(sizes=sizes) as api:
        config = {"credentials": {"auth_type": "api_key", "api_key": api.api_key}, "base_url": api.base_url}
        assert stock(bundle, "check", config, injected=False).connection_status() == {"status": "SUCCEEDED"}
        catalog = configured_catalog()
        theirs = stock(bundle, "read", config, catalog, injected=False)
        ours = run_connector("read", config, catalog)
        assert theirs.returncode == ours.returncode == 0, theirs.errors()
        for stream in SDK_EXAMPLE_STREAMS:
            expected = as_multiset(expected_output(api, stream))
            assert as_multiset(theirs.records(stream)) == expected == as_multiset(ours.records(stream)), stream
        assert final_states(theirs) == final_states(ours)
