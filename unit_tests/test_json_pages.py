"""A page is read as the standard library reads it, at any depth, in any thread, without touching the
interpreter's recursion limit."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from source_listrak.json_pages import loads, parse_iteratively

values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=values, indent=st.sampled_from([None, 0, 2]))
def test_the_iterative_parser_reads_what_the_standard_library_reads(value: Any, indent: int | None) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    assert parse_iteratively(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("depth", [1025, 3000, 100_000])
def test_nesting_of_any_depth_is_read_without_changing_the_recursion_limit(depth: int) -> None:
    limit = sys.getrecursionlimit()
    body = ('{"k":' * depth + "[1]" + "}" * depth).encode()

    value = loads(body)

    assert sys.getrecursionlimit() == limit
    for _ in range(depth):
        value = value["k"]
    assert value == [1]


def test_deep_pages_read_in_many_threads_at_once_give_the_same_value() -> None:
    body = ('{"k":' * 5000 + '"bottom"' + "}" * 5000).encode()
    results: list[tuple[int, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(_depth_and_leaf(loads(body)))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [(5000, "bottom")] * 8


def _depth_and_leaf(value: Any) -> tuple[int, Any]:
    depth = 0
    while isinstance(value, dict):
        value, depth = value["k"], depth + 1
    return depth, value


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30, -(10**40)])
def test_integers_beyond_64_bits_keep_every_digit(number: int) -> None:
    assert loads(f'{{"data": [{{"n": {number}}}]}}'.encode()) == {"data": [{"n": number}]}


def test_a_long_digit_run_inside_a_string_keeps_the_fast_reader() -> None:
    key = "1234567890123456789012345a"
    assert loads(f'{{"data": [{{"universalEmailKey": "{key}", "n": 5}}]}}'.encode()) == {
        "data": [{"universalEmailKey": key, "n": 5}]
    }


@pytest.mark.parametrize(
    "text",
    ['{"a": 1', '{"a" 1}', '[1,]', '{"a": 1} x', "[tru]", '{"a": NaN}', "", '["\x01"]', "[1 2]", "{,}"],
)
def test_what_is_not_json_is_refused_by_both_readers(text: str) -> None:
    deep = "[" * 2000 + text + "]" * 2000  # forces the iterative reader
    for body in (text, deep) if text else (text,):
        with pytest.raises(ValueError):
            loads(body.encode())
