"""The emulators behind the configs of acceptance-test-config.yml, which name a placeholder API: used by
the in-process standard suite (test_acceptance.py) and by Airbyte's own runner (the root conftest.py)."""

from __future__ import annotations

from contextlib import ExitStack
from types import TracebackType
from typing import Any

from listrak_emulators import email_v1
from listrak_emulators.sdk_example import Emulator, Sizes

API_KEY = "acceptance-key-5b1e0f"  # the key in integration_tests/acceptance/*.json
ACCOUNT_ID = "acceptance-account"


class AcceptanceEmulators:
    """Both APIs on free loopback ports, with the credentials the acceptance configs carry."""

    def __enter__(self) -> AcceptanceEmulators:
        sizes = Sizes(contacts=60, campaigns=10, events=300, custom_fields=3, interests=3, segments=2, sources=600)
        email_sizes = email_v1.Sizes(contacts_per_list=40, messages_per_list=4, recipients_per_message=20)
        self._stack = ExitStack()
        api_key_api = Emulator(seed=21, sizes=sizes, api_key=API_KEY, account_id=ACCOUNT_ID)
        self.api_key_api = self._stack.enter_context(api_key_api)
        self.email_api = self._stack.enter_context(email_v1.EmailV1Emulator(seed=21, sizes=email_sizes))
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stack.close()

    def point_at_live(self, config: dict[str, Any] | None) -> dict[str, Any] | None:
        """The config with the emulators' URLs: the Email API's for a config with a token URL."""
        if not config:
            return config
        if "token_url" in config:
            return {**config, "base_url": self.email_api.base_url, "token_url": self.email_api.token_url}
        return {**config, "base_url": self.api_key_api.base_url}
