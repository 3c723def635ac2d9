"""Shared by every test: Airbyte's standard test hooks, the emulators for Airbyte's own runner, each
manifest processed once per test process, and the logging configuration each test module found."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

# Airbyte's in-process standard test suite (integration_tests/test_acceptance.py) needs its hooks
# registered at the root of the test tree.
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]


# Airbyte's own runner (`airbyte-cdk connector test`) writes its tests under .tmp/ and reads the configs
# of acceptance-test-config.yml, which name a placeholder API. They run against the emulators instead,
# on free ports, started for the first such test and stopped at the end of the session.
_STANDARD_TESTS = ".tmp/integration_tests/"


@pytest.fixture(autouse=True)
def _standard_tests_use_the_emulators(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if _STANDARD_TESTS not in request.node.nodeid:
        return
    from airbyte_cdk.test.models import ConnectorTestScenario

    emulators = request.getfixturevalue("_acceptance_emulators")
    read_config = ConnectorTestScenario.get_config_dict

    def live_config(self: ConnectorTestScenario, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return emulators.point_at_live(read_config(self, *args, **kwargs))

    monkeypatch.setattr(ConnectorTestScenario, "get_config_dict", live_config)


@pytest.fixture(scope="session")
def _acceptance_emulators() -> Iterator[Any]:
    from integration_tests.acceptance_emulators import AcceptanceEmulators

    with AcceptanceEmulators() as emulators:
        yield emulators


@pytest.fixture(scope="session", autouse=True)
def _each_manifest_processed_once() -> Iterator[None]:
    """Sources built in the test process share the CDK's processing of each distinct manifest
    (listrak_testkit/manifest_memo.py): a build takes a third of the time."""
    from listrak_testkit.manifest_memo import remember_manifest_processing

    with remember_manifest_processing():
        yield


@pytest.fixture(scope="module", autouse=True)
def _logging_as_the_module_found_it() -> Iterator[None]:
    """Put every named logger back as it was before the module, and the root logger's level (pytest
    manages the root's handlers). PyAirbyte run in the test process takes over the `airbyte` logger, which
    the CDK logs to as well (no propagation, its own file handler): a later module on the same worker
    would otherwise log nowhere it can see (test_secrets.py reads `--debug` output)."""
    root_level = logging.root.level
    before = {logger: _settings_of(logger) for logger in _named_loggers()}
    yield
    logging.root.setLevel(root_level)
    for logger in _named_loggers():
        level, propagate, disabled, handlers = before.get(logger, (logging.NOTSET, True, False, []))
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.setLevel(level)
        logger.propagate, logger.disabled, logger.handlers = propagate, disabled, list(handlers)
    pyairbyte_logs = sys.modules.get("airbyte.logs")
    if pyairbyte_logs is not None:  # its loggers are made once per process: the next module gets them anew
        pyairbyte_logs.get_global_file_logger.cache_clear()
        pyairbyte_logs.get_global_stats_logger.cache_clear()


def _named_loggers() -> list[logging.Logger]:
    return [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]


def _settings_of(logger: logging.Logger) -> tuple[int, bool, bool, list[logging.Handler]]:
    return logger.level, logger.propagate, logger.disabled, list(logger.handlers)
