"""PyAirbyte as the tests use it: offline (no registry look-up), no telemetry, no live progress view.

PyAirbyte reads these settings when it is imported, so test modules import it from here.
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("NO_LIVE_PROGRESS", "1")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # google-* libraries PyAirbyte imports
    import airbyte as ab
    import airbyte.constants
    import airbyte.exceptions

__all__ = ["ab", "airbyte"]
