"""The stream's JSON schema decides how each record column is checked and how timestamps are written.

Plugged into each stream's record selector as the CDK's schema normalization (``CustomSchemaNormalization``),
which receives the stream's schema with every record, after the transformations: so a schema that
says ``format: date-time`` is all a column needs, and no field list is repeated in the manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any

from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.extractors.type_transformer import TypeTransformer
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.types import Config
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_listrak.listrak_time import UtcConverter, zone_of

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


@dataclass
class NormalizeBySchema(TypeTransformer):
    """Checks each record against its stream's schema and writes its date-time columns in UTC.

    - A column whose value has a type its schema does not allow fails the stream, naming stream and
      column: the CDK's own normalization only logs, and a destination would then fail or silently
      coerce the column (an API answer like ``"eventType": []``).
    - A ``format: date-time`` column becomes the same instant in UTC ending in ``Z`` with the API's
      fraction digits; values without an offset are read in ``api_timezone`` (UTC if unset).
      The CDK's ``format_datetime`` always prints six fraction digits and knows no time zones.

    Top-level columns only; columns the record leaves out stay out (null).
    """

    parameters: InitVar[Mapping[str, Any]]
    config: Config = field(default_factory=dict)
    api_timezone: str = ""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._stream = str(parameters.get("name", ""))
        zone = str(InterpolatedString.create(str(self.api_timezone), parameters=parameters).eval(self.config) or "")
        self._to_utc = UtcConverter(zone_of(zone))
        self._plan: tuple[_Column, ...] | None = None

    def transform(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        plan = self._plan
        if plan is None:  # the schema is the stream's and does not change during a sync
            plan = self._plan = _plan_for(schema)
        for column, exact_types, is_datetime in plan:
            value = record.get(column, _ABSENT)
            if type(value) not in exact_types:  # JSON parses to exactly these types; anything else is looked at
                if value is _ABSENT:
                    continue
                self._check_type(column, value, schema)
            if is_datetime and isinstance(value, str):
                try:
                    record[column] = self._to_utc(value)
                except ValueError as error:
                    raise self._error(f"field {column!r} of a Listrak record is invalid: {error}") from None

    def _check_type(self, column: str, value: Any, schema: Mapping[str, Any]) -> None:
        """A value whose exact type is not one JSON parses to for the column: a subclass, or a type refused."""
        names = _type_names(schema["properties"][column])
        allowed = tuple(python_type for name in names for python_type in _JSON_TYPES[name])
        if not isinstance(value, allowed) or (isinstance(value, bool) and "boolean" not in names):
            raise self._error(
                f"Listrak sent {column!r} as a JSON {_json_type(value)}, which its schema does not allow "
                f"({' or '.join(names)})"
            )

    def _error(self, problem: str) -> AirbyteTracedException:
        message = f"Stream {self._stream}: {problem}."
        return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.system_error)


_ABSENT = object()  # a column the record leaves out

# (column, the exact Python types its declared JSON types parse to, whether it is a date-time)
_Column = tuple[str, frozenset[type], bool]


def _plan_for(schema: Mapping[str, Any]) -> tuple[_Column, ...]:
    """Compiled once per stream: each typed top-level column, what it accepts, whether it is a date-time."""
    plan = []
    for column, spec in schema.get("properties", {}).items():
        names = _type_names(spec)
        if names:
            exact = frozenset(python_type for name in names for python_type in _JSON_TYPES[name])
            plan.append((column, exact, spec.get("format") == "date-time"))
    return tuple(plan)


def _type_names(spec: Mapping[str, Any]) -> tuple[str, ...]:
    declared = spec.get("type")
    return tuple(declared) if isinstance(declared, list) else (declared,) if declared else ()


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
