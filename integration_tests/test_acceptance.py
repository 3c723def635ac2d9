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

from listrak_emulators.sdk_example import Emulator, Sizes
from source_listrak import SourceListrak

API_KEY = "acceptance-key-5b1e0f"  # the key in integration_tests/acceptance/*.json
ACCOUNT_ID = "acceptance-account"


class TestListrakStandardSuite(SourceTestSuiteBase):
    emulator: Emulator | None = None

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _emulator(cls) -> Iterator[None]:
        sizes = Sizes(contacts=60, campaigns=10, events=300, custom_fields=3, interests=3, segments=2, sources=600)
        with Emulator(seed=21, sizes=sizes, api_key=API_KEY, account_id=ACCOUNT_ID) as emulator:
            cls.emulator = emulator
            yield
        cls.emulator = None

    @classmethod
    def create_connector(cls, scenario: ConnectorTestScenario | None) -> SourceListrak:
        config: dict[str, Any] | None = None
        if scenario is not None:
            config = scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True)
            if config and cls.emulator is not None:
                config = {**config, "base_url": cls.emulator.base_url}
        return SourceListrak(config=config or None)
