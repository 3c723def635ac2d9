"""Imported before anything from the CDK, to cut what every connector start pays (bench/README.md).

``airbyte_cdk.models`` builds its protocol serializers on import, and serpyco-rs reads each protocol
class's source code with ``inspect`` and ``ast`` to collect attribute docstrings for JSON-schema
descriptions: 0.45 s of a 1.2 s start, paid by every spec, check, discover and read (three times per
PyAirbyte sync). Serialising and validating messages never uses those descriptions, so the
connector skips collecting them.
"""

from __future__ import annotations

from typing import Any


def _no_attribute_docs(cls: type) -> dict[str, Any]:
    return {}


try:
    import attributes_doc
except ImportError:  # a future serpyco-rs without it: nothing to skip
    pass
else:
    attributes_doc.get_attributes_doc = _no_attribute_docs
