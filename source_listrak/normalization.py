"""The stream's JSON schema decides how each record column is checked and how timestamps are written.

Plugged into each stream's record selector as the CDK's schema normalization (``CustomSchemaNormalization``),
which receives the stream's schema with every record, after the transformations: so a schema that
says ``format: date-time`` is all a column needs, and no field list is repeated in the manifest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from operator import itemgetter
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

    Top-level columns only; columns the record leaves out stay out (null). ``written_in_utc`` names
    date-time columns the connector writes itself, already in UTC (``sync_timestamp``): only their type
    is checked.
    """

    parameters: InitVar[Mapping[str, Any]]
    config: Config = field(default_factory=dict)
    api_timezone: str = ""
    written_in_utc: list[str] = field(default_factory=list)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._stream = str(parameters.get("name", ""))
        zone = str(InterpolatedString.create(str(self.api_timezone), parameters=parameters).eval(self.config) or "")
        self._to_utc = UtcConverter(zone_of(zone))
        self._plan: _Plan | None = None

    def transform(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        plan = self._plan
        if plan is None:  # the schema is the stream's and does not change during a sync
            plan = self._plan = _Plan(schema, frozenset(self.written_in_utc))
        try:
            values = plan.values_of(record)
        except KeyError:  # a column left out
            values = tuple(map(record.get, plan.columns, plan.absent))
        kinds = tuple(map(type, values))
        if kinds not in plan.accepted:  # types not seen together before in this stream: each column checked
            for column, exact_types, value in zip(plan.columns, plan.exact_types, values, strict=True):
                if type(value) not in exact_types and value is not _ABSENT:
                    self._check_type(column, value, schema)
            plan.accept(kinds)
        for index in plan.datetimes:
            value = values[index]
            if isinstance(value, str):
                try:
                    record[plan.columns[index]] = self._to_utc(value)
                except ValueError as error:
                    column = plan.columns[index]
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


_ABSENT = object()  # a column the record leaves out: its type, object, is no JSON type


class _Plan:
    """What a stream's schema asks of each record, compiled once: each typed top-level column, the exact
    Python types its JSON types parse to, which columns are date-times, and the combinations of value types
    already found acceptable (records of a stream come in few: one check of a tuple of types, not a
    check per column)."""

    _ACCEPTED = 1_024  # combinations remembered, at most

    def __init__(self, schema: Mapping[str, Any], written_in_utc: frozenset[str]) -> None:
        typed = [(column, _type_names(spec), spec) for column, spec in schema.get("properties", {}).items()]
        typed = [(column, names, spec) for column, names, spec in typed if names]
        self.columns = tuple(column for column, _, _ in typed)
        self.values_of = _values_getter(self.columns)
        self.absent = (_ABSENT,) * len(self.columns)
        self.exact_types = tuple(
            frozenset(python_type for name in names for python_type in _JSON_TYPES[name]) for _, names, _ in typed
        )
        self.datetimes = tuple(
            i
            for i, (column, _, spec) in enumerate(typed)
            if spec.get("format") == "date-time" and column not in written_in_utc
        )
        self.accepted: set[tuple[type, ...]] = set()

    def accept(self, kinds: tuple[type, ...]) -> None:
        if len(self.accepted) < self._ACCEPTED:
            self.accepted.add(kinds)


def _values_getter(columns: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The record's values of ``columns`` as a tuple, in one call; KeyError when one is left out."""
    if len(columns) == 1:  # itemgetter of one key gives the value itself
        column = columns[0]
        return lambda record: (record[column],)
    if not columns:
        return lambda record: ()
    return itemgetter(*columns)


def _type_names(spec: Mapping[str, Any]) -> tuple[str, ...]:
    declared = spec.get("type")
    return tuple(declared) if isinstance(declared, list) else (declared,) if declared else ()


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
