"""Each option's default stated once, in the spec: a configuration normalisation rule that reads it there.

Configurations written for other tools leave options out, leave them empty, or write numbers and
booleans as strings (`"90"`, `"true"`). The CDK's `ConfigAddFields` would need each default written
again beside the spec; this rule takes them from the spec's own properties, which the manifest hands
it, and leaves anything it cannot read as it was, so that validation names the field and its range.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import InitVar, dataclass, field
from typing import Any

from airbyte_cdk.sources.declarative.transformations.config_transformations.config_transformation import (
    ConfigTransformation,
)

_INTEGER = re.compile(r"[-+]?\d+\Z")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _typed(value: str, kind: Any) -> Any:
    """``value`` (a trimmed string) as the spec's type says, or unchanged when it does not read as one."""
    if kind == "integer" and _INTEGER.match(value):
        return int(value)
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if _INTEGER.match(value) else number
    if kind == "boolean":
        return _BOOLEANS.get(value.lower(), value)
    return value


@dataclass
class SpecDefaults(ConfigTransformation):
    """Fills every option left out or empty with the spec's default; trims strings, and reads numbers and
    booleans written as strings. Its ``$parameters.options`` is the spec's ``connection_specification.properties``
    (the schema of a custom config transformation takes no other field)."""

    parameters: InitVar[Mapping[str, Any]]
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        options: Mapping[str, Any] = parameters["options"]
        self._defaults = {name: option["default"] for name, option in options.items() if "default" in option}
        self._types = {name: option.get("type") for name, option in options.items()}

    def transform(self, config: MutableMapping[str, Any]) -> None:
        for name, kind in self._types.items():
            value = config.get(name)
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                if name in self._defaults:
                    config[name] = self._defaults[name]
                continue
            config[name] = _typed(value, kind) if isinstance(value, str) else value
