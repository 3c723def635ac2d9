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

_schema: list[bytes] = []
_resolved: dict[bytes, bytes] = {}
_valid: set[bytes] = set()


def _key(manifest: Any) -> bytes:
    return orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS)


def _component_schema(load: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    def remembered() -> dict[str, Any]:
        if not _schema:
            _schema.append(orjson.dumps(load()))
        return orjson.loads(_schema[0])

    return remembered


def _pre_process(process: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    def remembered(source: Any, manifest: dict[str, Any]) -> dict[str, Any]:
        key = _key(manifest)
        if key not in _resolved:
            _resolved[key] = orjson.dumps(process(source, manifest))
        return orjson.loads(_resolved[key])

    return remembered


def _validate(validate: Callable[..., None]) -> Callable[..., None]:
    def remembered(manifest: dict[str, Any], schema: dict[str, Any]) -> None:
        key = _key([manifest, schema])
        if key not in _valid:
            validate(manifest, schema)  # raises for an invalid manifest: nothing is remembered
            _valid.add(key)

    return remembered


def _cdk_functions() -> list[tuple[Any, str, Any]]:
    source_class = cdk_source.ConcurrentDeclarativeSource
    return [
        (cdk_source, "get_declarative_component_schema", cdk_source.get_declarative_component_schema),
        (source_class, "_pre_process_manifest", source_class.__dict__["_pre_process_manifest"]),
        (cdk_source, "validate_manifest", cdk_source.validate_manifest),
    ]


_CDK_FUNCTIONS = _cdk_functions()  # as the CDK has them, before anything here replaces them
_REMEMBERING = {"get_declarative_component_schema": _component_schema, "_pre_process_manifest": _pre_process,
                "validate_manifest": _validate}


@contextmanager
def remember_manifest_processing() -> Iterator[None]:
    """For a session fixture; `raising` (the default) fails loudly if the CDK renamed what is wrapped."""
    with pytest.MonkeyPatch.context() as patch:
        for owner, name, function in _CDK_FUNCTIONS:
            patch.setattr(owner, name, _REMEMBERING[name](function))
        yield


@contextmanager
def processed_by_the_cdk_itself() -> Iterator[None]:
    """The CDK's own functions back in place, for a test that compares them with what is remembered."""
    with pytest.MonkeyPatch.context() as patch:
        for owner, name, function in _CDK_FUNCTIONS:
            patch.setattr(owner, name, function)
        yield
