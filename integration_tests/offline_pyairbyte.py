"""PyAirbyte as the tests use it: offline (no registry look-up), no telemetry, no live progress view;
and everything a PyAirbyte user could see, to look for secrets in.

PyAirbyte reads these settings when it is imported, so test modules import it from here.
"""

from __future__ import annotations

import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("NO_LIVE_PROGRESS", "1")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # google-* libraries PyAirbyte imports
    import airbyte as ab
    import airbyte.constants
    import airbyte.exceptions
    import airbyte.logs

__all__ = ["Exposure", "ab", "airbyte", "shown"]


def shown(secret: str, texts: Iterator[str]) -> list[str]:
    """The texts that contain the secret, as it is or URL-encoded (as in a token request's body)."""
    forms = {secret, quote_plus(secret), quote(secret, safe="")}
    return [text[:300] for text in texts if any(form in text for form in forms)]


class Exposure:
    """Every text a user or their logs could see during one test."""

    def __init__(self, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, cache_dir: Path) -> None:
        self._capfd, self._caplog, self._cache_dir = capfd, caplog, cache_dir
        self._started = time.time() - 1
        self.texts: list[str] = []

    def call(self, action: Callable[[], Any]) -> Any:
        """Runs a PyAirbyte call; an exception it raises is kept, as text, with its traceback."""
        try:
            return action()
        except Exception as error:  # noqa: BLE001 - every exception's text is what is checked
            self.texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
            context = getattr(error, "context", None)
            self.texts.append(repr(context))
            return error

    def everything(self) -> Iterator[str]:
        out, err = self._capfd.readouterr()
        yield from (out, err, self._caplog.text, *self.texts)
        roots = [self._cache_dir, *([airbyte.logs.AIRBYTE_LOGGING_ROOT] if airbyte.logs.AIRBYTE_LOGGING_ROOT else [])]
        for root in roots:
            for path in Path(root).rglob("*"):
                if path.is_file() and path.stat().st_mtime >= self._started:
                    yield path.read_bytes().decode("utf-8", errors="replace")
