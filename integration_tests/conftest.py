"""Fixtures of the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration_tests.offline_pyairbyte import Exposure


@pytest.fixture
def exposure(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path) -> Exposure:
    caplog.set_level("DEBUG")
    return Exposure(capfd, caplog, tmp_path)
