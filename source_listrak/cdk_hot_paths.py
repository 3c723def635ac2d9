"""Per-record costs inside the CDK that this connector removes, each measured with py-spy (bench/README.md).

Applied when the source is built; each keeps the CDK's results and only skips repeated work.
"""

from __future__ import annotations

from airbyte_cdk.sources.types import StreamSlice

_slice_hash = StreamSlice.__hash__


def _cached_slice_hash(self: StreamSlice) -> int:
    try:
        return self._listrak_hash  # type: ignore[attr-defined]
    except AttributeError:
        value = _slice_hash(self)
        self._listrak_hash = value  # type: ignore[attr-defined]
        return value


def cache_stream_slice_hashes() -> None:
    """The concurrent cursor looks each record's slice up in a dict twice, and ``StreamSlice.__hash__``
    JSON-encodes and SHA-256s the slice every time: 7% of a sync's CPU. A slice is immutable (its
    ``__setitem__`` raises; the merged mapping is a private copy), so its hash can be kept."""
    StreamSlice.__hash__ = _cached_slice_hash  # type: ignore[method-assign]
