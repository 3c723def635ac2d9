"""Each distinct manifest processed once per test process.

The CDK reads its component schema, resolves the manifest's references and validates the result every
time a source is built: about 1.1 s of the 1.65 s a build takes, for the same manifest each time. The
tests build the source in-process hundreds of times (each `run([...])` and each PyAirbyte-free
read), so `remember_manifest_processing` keeps each result by the manifest's content and hands out a
fresh copy (the source edits its resolved manifest after it is built). A manifest not seen before is
processed by the CDK itself, errors included; the connector's own processes are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from airbyte_cdk.sources.declarative import concurrent_declarative_source as cdk_source


def _key(*values: Any) -> bytes:
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def _remembering(function: Callable[..., Any], key_of: Callable[..., bytes]) -> Callable[..., Any]:
    """``function`` answered once per key, as JSON kept and read back: a fresh copy each call. An error is
    raised before anything is kept, so it is raised again the next time."""
    answers: dict[bytes, bytes] = {}

    def remembered(*args: Any) -> Any:
        key = key_of(*args)
        if key not in answers:
            answers[key] = orjson.dumps(function(*args))
        return orjson.loads(answers[key])

    return remembered


_source_class = cdk_source.ConcurrentDeclarativeSource
# (owner, name, the CDK's function as it is before anything here replaces it, the key of its arguments)
_CDK_FUNCTIONS: list[tuple[Any, str, Callable[..., Any], Callable[..., bytes]]] = [
    (cdk_source, "get_declarative_component_schema", cdk_source.get_declarative_component_schema, _key),
    (_source_class, "_pre_process_manifest", _source_class.__dict__["_pre_process_manifest"],
     lambda _source, manifest: _key(manifest)),
    (cdk_source, "validate_manifest", cdk_source.validate_manifest, _key),
]


@contextmanager
def remember_manifest_processing() -> Iterator[None]:
    """For a session fixture; `raising` (the default) fails loudly if the CDK renamed what is wrapped."""
    with pytest.MonkeyPatch.context() as patch:
        for owner, name, function, key_of in _CDK_FUNCTIONS:
            patch.setattr(owner, name, _remembering(function, key_of))
        yield


@contextmanager
def processed_by_the_cdk_itself() -> Iterator[None]:
    """The CDK's own functions back in place, for a test that compares them with what is remembered."""
    with pytest.MonkeyPatch.context() as patch:
        for owner, name, function, _ in _CDK_FUNCTIONS:
            patch.setattr(owner, name, function)
        yield
