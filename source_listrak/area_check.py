"""Which of Listrak's API areas the integration was granted, found by reading one cheap page per area.

An admin creates a Listrak integration with a chosen subset of API areas; a missing area makes every
endpoint that needs it answer 401, exactly like a bad token. ``check`` and ``source-listrak probe``
read, for each area, the first page of a stream that needs it (with one record per page), and tell
the user which areas are missing and which streams need them. What each stream needs is stated once,
in the manifest (each Email API stream's ``api_areas``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from airbyte_cdk.sources.streams.concurrent.abstract_stream import AbstractStream

from source_listrak.api_session import ApiSession, AreaRefused

AREAS = ("List", "Contact", "Event", "Segmentation", "Message", "Report")
# The streams that can prove an area, cheapest first: each needs the area and reads one page.
PROBES: dict[str, tuple[str, ...]] = {
    "List": ("lists",),
    "Contact": ("contacts",),
    "Event": ("event_groups",),
    "Segmentation": ("segmentation_field_groups",),
    "Message": ("campaigns", "messages"),
    "Report": ("message_summary", "conversation_summary"),
}
# Partitions tried per stream before an area is called unknown (an empty or deleted list proves nothing).
PARTITIONS_TRIED = 5


@dataclass(frozen=True)
class AreaFinding:
    area: str
    state: str  # "granted", "missing" or "unknown"
    detail: str = ""


def stream_areas(resolved_manifest: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each Email API stream and the API areas it needs, from the manifest's ``api_areas``."""
    found: dict[str, tuple[str, ...]] = {}
    pending: list[Any] = list(resolved_manifest.get("streams", []))
    while pending:
        item = pending.pop(0)
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "ConditionalStreams":
            pending[:0] = list(item.get("streams", []))
            continue
        parameters = item.get("$parameters") or {}
        areas = str(parameters.get("api_areas") or "")
        if areas:
            found[str(item.get("name"))] = tuple(area.strip() for area in areas.split(",") if area.strip())
    return found


def stream_parents(resolved_manifest: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each Email API stream and the streams it reads as parents, nearest first (a refused parent ends its
    children). The API-key contract has streams of the same names, without areas: they are left out."""
    found: dict[str, tuple[str, ...]] = {}
    pending: list[Any] = list(resolved_manifest.get("streams", []))
    while pending:
        item = pending.pop(0)
        if isinstance(item, Mapping) and item.get("type") == "ConditionalStreams":
            pending[:0] = list(item.get("streams", []))
        elif isinstance(item, Mapping) and (item.get("$parameters") or {}).get("api_areas"):
            found[str(item["name"])] = tuple(_ancestors(item))
    return found


def _ancestors(stream: Mapping[str, Any]) -> list[str]:
    routers = (stream.get("retriever") or {}).get("partition_router") or []
    names = []
    pending = list(routers) if isinstance(routers, list) else [routers]
    while pending:
        router = pending.pop(0) or {}
        pending[:0] = router.get("partition_routers") or []  # a router made of routers (EveryCombination)
        for parent in router.get("parent_stream_configs") or []:
            names.append(str(parent["stream"]["name"]))
            names.extend(_ancestors(parent["stream"]))
    return names


def areas_needed(resolved_manifest: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each Email API stream and every API area it needs, its parents' included, in Listrak's order."""
    own, parents = stream_areas(resolved_manifest), stream_parents(resolved_manifest)
    needed = {}
    for name, areas in own.items():
        union = set(areas).union(*(own.get(parent, ()) for parent in parents.get(name, ())))
        needed[name] = tuple(area for area in AREAS if area in union)
    return needed


def areas_table(resolved_manifest: Mapping[str, Any]) -> str:
    """The docs' table of streams and areas (Markdown), from the manifest."""
    rows = ["| Stream | API areas it needs |", "|---|---|"]
    rows += [f"| `{name}` | {', '.join(areas)} |" for name, areas in areas_needed(resolved_manifest).items()]
    return "\n".join(rows)


def check_areas(streams: Iterable[AbstractStream], session: ApiSession) -> list[AreaFinding]:
    """Reads the first page of each area's probe stream; a ``CredentialsRejected`` propagates."""
    by_name = {stream.name: stream for stream in streams}
    findings = []
    for area in AREAS:
        finding = AreaFinding(area, "unknown", "nothing to read it with: no stream of this area has data yet")
        for name in PROBES[area]:
            stream = by_name.get(name)
            if stream is None:
                continue
            finding = _probe(area, stream, session)
            if finding.state != "unknown":
                break
        findings.append(finding)
    return findings


def _probe(area: str, stream: AbstractStream, session: ApiSession) -> AreaFinding:
    try:
        for partition in islice(stream.generate_partitions(), PARTITIONS_TRIED):
            for _ in islice(partition.read(), 1):
                pass
            if area in session.granted_areas:
                return AreaFinding(area, "granted")
    except AreaRefused as refused:
        return AreaFinding(area, "missing", refused.message or "")
    if area in session.granted_areas:
        return AreaFinding(area, "granted")
    what = "a message sent in the engagement window" if stream.name == "message_summary" else "data"
    return AreaFinding(area, "unknown", f"the account has no {what} to read it with")


def describe(findings: list[AreaFinding], needs: Mapping[str, tuple[str, ...]]) -> tuple[str, bool]:
    """A sentence for the user, and whether any area is missing or unknown."""
    missing = [finding.area for finding in findings if finding.state == "missing"]
    unknown = [finding for finding in findings if finding.state == "unknown"]
    parts = []
    if missing:
        streams = sorted({name for name, areas in needs.items() if set(areas) & set(missing)})
        parts.append(
            f"The Listrak integration lacks the API area(s) {', '.join(missing)}: these streams will fail until "
            f"your Listrak admin grants them under Integrations > Integration Management: {', '.join(streams)}. "
            "The other streams sync."
        )
    for finding in unknown:
        parts.append(f"The API area {finding.area} could not be checked ({finding.detail}).")
    return " ".join(parts), bool(missing or unknown)
