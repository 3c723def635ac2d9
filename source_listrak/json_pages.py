"""Reads a response body as JSON exactly as sent, at any nesting depth, without touching process state.

orjson is fast but changes data in one case and refuses another: it reads an integer beyond 64 bits
as a float without a word, and it refuses nesting deeper than 1024 levels. The standard library keeps
big integers but recurses, so a deep page would depend on the interpreter's recursion limit, which is
process-wide and must not be raised from a worker thread. Pages that orjson cannot read exactly go to
``parse_iteratively``, which keeps an explicit stack: same values, any depth, any thread.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# 19 digits may already be past -2**63. translate() finds a run of them ~15x cheaper than a regular
# expression over a 350 kB page; the expression then checks that the run is a number, not a string
# such as a hashed e-mail address.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19
_LONG_NUMBER = re.compile(rb"(?:\A|[\[:,])\s*-?\d{19}")

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_LITERALS = (("true", True), ("false", False), ("null", None))
_scan_string = json.decoder.scanstring  # type: ignore[attr-defined]  # the C scanner, strict as json.loads


def loads(content: bytes) -> Any:
    """The body's JSON value; ValueError when it is not JSON."""
    if _LONG_DIGIT_RUN in content.translate(_DIGITS_TO_ZERO) and _LONG_NUMBER.search(content):
        return parse_iteratively(content.decode("utf-8"))
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass  # nested deeper than orjson allows, or not JSON: the iterative reader tells them apart
    return parse_iteratively(content.decode("utf-8"))


def parse_iteratively(text: str) -> Any:
    """``json.loads`` without recursion: containers are kept on an explicit stack."""
    frames: list[list[Any]] = []  # [open container, key waiting for its value]
    position = _skip(text, 0)
    while True:
        opener = text[position : position + 1]
        if opener in ("{", "["):
            container: dict[str, Any] | list[Any] = {} if opener == "{" else []
            position = _skip(text, position + 1)
            if text[position : position + 1] != ("}" if opener == "{" else "]"):
                frames.append([container, None])
                if opener == "{":
                    frames[-1][1], position = _key(text, position)
                continue
            value: Any = container
            position += 1
        else:
            value, position = _scalar(text, position)
        while True:  # give the value to its container; close every container that ends here
            if not frames:
                if _skip(text, position) != len(text):
                    raise ValueError(f"extra data after the JSON value at character {position}")
                return value
            container, key = frames[-1]
            if isinstance(container, dict):
                container[key] = value
            else:
                container.append(value)
            position = _skip(text, position)
            separator = text[position : position + 1]
            if separator == ",":
                position = _skip(text, position + 1)
                if isinstance(container, dict):
                    frames[-1][1], position = _key(text, position)
                break
            if separator != ("}" if isinstance(container, dict) else "]"):
                raise ValueError(f"expected ',' or the end of the container at character {position}")
            frames.pop()
            value, position = container, position + 1


def _skip(text: str, position: int) -> int:
    return _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]  # matches the empty string


def _key(text: str, position: int) -> tuple[str, int]:
    if text[position : position + 1] != '"':
        raise ValueError(f"expected a string key at character {position}")
    key, position = _scan_string(text, position + 1)
    position = _skip(text, position)
    if text[position : position + 1] != ":":
        raise ValueError(f"expected ':' at character {position}")
    return key, _skip(text, position + 1)


def _scalar(text: str, position: int) -> tuple[Any, int]:
    if text[position : position + 1] == '"':
        return _scan_string(text, position + 1)
    number = _NUMBER.match(text, position)
    if number is not None:
        fraction, exponent = number.groups()
        return (float(number.group()) if fraction or exponent else int(number.group())), number.end()
    for literal, value in _LITERALS:
        if text.startswith(literal, position):
            return value, position + len(literal)
    raise ValueError(f"expected a JSON value at character {position}")
