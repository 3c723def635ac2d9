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

from listrak_emulators import email_v1
from listrak_emulators.sdk_example import Emulator, Sizes
from source_listrak import SourceListrak

API_KEY = "acceptance-key-5b1e0f"  # the key in integration_tests/acceptance/*.json
ACCOUNT_ID = "acceptance-account"


class TestListrakStandardSuite(SourceTestSuiteBase):
    emulator: Emulator | None = None
    email_api: email_v1.EmailV1Emulator | None = None

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _emulators(cls) -> Iterator[None]:
        sizes = Sizes(contacts=60, campaigns=10, events=300, custom_fields=3, interests=3, segments=2, sources=600)
        email_sizes = email_v1.Sizes(contacts_per_list=40, messages_per_list=4, recipients_per_message=20)
        with (
            Emulator(seed=21, sizes=sizes, api_key=API_KEY, account_id=ACCOUNT_ID) as emulator,
            email_v1.EmailV1Emulator(seed=21, sizes=email_sizes) as email_api,
        ):
            cls.emulator, cls.email_api = emulator, email_api
            yield
        cls.emulator = cls.email_api = None

    @classmethod
    def create_connector(cls, scenario: ConnectorTestScenario | None) -> SourceListrak:
        config: dict[str, Any] | None = None
        if scenario is not None:
            config = scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True)
            if config and "token_url" in config and cls.email_api is not None:
                config = {**config, "base_url": cls.email_api.base_url, "token_url": cls.email_api.token_url}
            elif config and cls.emulator is not None:
                config = {**config, "base_url": cls.emulator.base_url}
        return SourceListrak(config=config or None)
