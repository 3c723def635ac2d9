"""Contract: event ``metadata`` is output as a JSON string of the flattened object: nested objects
joined with ``.``, everything else kept as it is, keys sorted, compact separators; absent or null ->
``"{}"``; a value that is not an object -> ``{"value": <it>}``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from source_listrak.components import FlattenEventMetadata, flatten_metadata


def test_nested_objects_are_joined_with_dots() -> None:
    assert flatten_metadata({"device": {"os": "iOS"}}) == '{"device.os":"iOS"}'


def test_flattening_is_recursive_and_keys_are_sorted() -> None:
    metadata = {"device": {"os": "iOS", "version": {"major": 17, "minor": 4}}, "campaign": "spring", "a": 1}
    assert flatten_metadata(metadata) == (
        '{"a":1,"campaign":"spring","device.os":"iOS","device.version.major":17,"device.version.minor":4}'
    )


def test_arrays_including_arrays_of_objects_are_kept_as_they_are() -> None:
    metadata = {
        "links": [{"url": "https://x.test/a", "n": 1}, {"url": "https://x.test/b"}],
        "tags": ["a", "b"],
    }
    flattened = flatten_metadata(metadata)
    assert json.loads(flattened) == metadata
    assert flattened.startswith('{"links":[{')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", '"text"'),
        (7, "7"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ([], "[]"),
    ],
)
def test_scalar_null_and_array_values_are_kept_under_their_key(value: Any, expected: str) -> None:
    assert flatten_metadata({"outer": {"inner": value}}) == '{"outer.inner":' + expected + "}"


@pytest.mark.parametrize("metadata", [None, {}])
def test_null_or_empty_metadata_is_an_empty_object(metadata: Any) -> None:
    assert flatten_metadata(metadata) == "{}"


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ([1, 2], '{"value":[1,2]}'),
        ([{"a": {"b": 1}}], '{"value":[{"a":{"b":1}}]}'),
        ("opened on mobile", '{"value":"opened on mobile"}'),
        (42, '{"value":42}'),
        (False, '{"value":false}'),
    ],
)
def test_metadata_that_is_not_an_object_is_kept_under_value(metadata: Any, expected: str) -> None:
    assert flatten_metadata(metadata) == expected


def test_separators_are_compact() -> None:
    flattened = flatten_metadata({"a": {"b": [1, 2, {"c": 3}]}, "d": "x y"})
    assert flattened == '{"a.b":[1,2,{"c":3}],"d":"x y"}'


def test_non_ascii_text_is_kept_not_escaped() -> None:
    flattened = flatten_metadata({"city": "Zürich", "greeting": {"ja": "こんにちは"}, "icon": "📧"})
    assert flattened == '{"city":"Zürich","greeting.ja":"こんにちは","icon":"📧"}'


def test_integers_beyond_64_bits_are_written_exactly() -> None:
    assert flatten_metadata({"n": {"big": 2**70}}) == '{"n.big":1180591620717411303424}'


def test_five_thousand_levels_of_nesting_do_not_crash() -> None:
    depth = 5000
    metadata: Any = "bottom"
    for _ in range(depth):
        metadata = {"k": metadata}
    assert flatten_metadata(metadata) == '{"' + ".".join(["k"] * depth) + '":"bottom"}'


def test_flatten_event_metadata_replaces_the_field_and_treats_absent_as_empty() -> None:
    transformation = FlattenEventMetadata(parameters={}, field="metadata")
    with_metadata = {"event_id": 1, "metadata": {"device": {"os": "iOS"}}}
    without_metadata = {"event_id": 2}
    transformation.transform(with_metadata)
    transformation.transform(without_metadata)
    assert with_metadata == {"event_id": 1, "metadata": '{"device.os":"iOS"}'}
    assert without_metadata == {"event_id": 2, "metadata": "{}"}


# --- property: the flattened string is the reference flattening, sorted and compact -------------------

_keys = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="."), min_size=1, max_size=6)
_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
)  # floats are left out: "1e16" and "1e+16" are the same number spelled two ways
_json = st.recursive(
    _leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, min_size=1, max_size=3),
    max_leaves=20,
)


def reference_flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            flat.update(reference_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@given(metadata=st.dictionaries(_keys, _json, max_size=5))
def test_flattened_metadata_matches_the_reference_flattening(metadata: dict[str, Any]) -> None:
    flattened = flatten_metadata(metadata)
    parsed = json.loads(flattened)
    assert parsed == reference_flatten(metadata)
    assert list(parsed) == sorted(parsed)
    assert all(not isinstance(value, dict) for value in parsed.values())
    assert flattened == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
