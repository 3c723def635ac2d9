"""Airbyte's standard source tests, in process, for every config in acceptance-test-config.yml.

The configs name a placeholder base_url; each test runs against a live emulator instead. The suite
does not run the `incremental` section: test_end_to_end.py and test_reliability.py cover state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

from integration_tests.acceptance_emulators import AcceptanceEmulators
from source_listrak import SourceListrak


class TestListrakStandardSuite(SourceTestSuiteBase):
    emulators: AcceptanceEmulators | None = None

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _emulators(cls) -> Iterator[None]:
        with AcceptanceEmulators() as emulators:
            cls.emulators = emulators
            yield
        cls.emulators = None

    @classmethod
    def create_connector(cls, scenario: ConnectorTestScenario | None) -> SourceListrak:
        config: dict[str, Any] | None = None
        if scenario is not None:
            config = scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True)
            if cls.emulators is not None:
                config = cls.emulators.point_at_live(config)
        return SourceListrak(config=config or None)
