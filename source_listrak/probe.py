"""`source-listrak probe --config config.json [--test-token-revocation]`: what a real Listrak account does
where the documentation is silent, as a report a user can paste into a bug report.

Read-only. It never prints a secret, a token or a record value: the token's advertised lifetime, which
API areas answer, the field names and JSON types of one page of each stream, whether Listrak sent a
429 or a Retry-After, and a few summer and winter send dates as Listrak wrote them beside the UTC
instant the connector emits for them (compare one with the send time Listrak's web UI shows). With
``--test-token-revocation`` it also asks for a second token and tells whether the first still works.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import requests
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_listrak.api_session import AreaRefused, end_session, start_session
from source_listrak.area_check import areas_needed, check_areas
from source_listrak.auth import ListrakOAuth, TokenEndpoint, _settings
from source_listrak.config_errors import uses_email_api
from source_listrak.listrak_time import to_utc_z

SHAPE_PAGE_SIZE = 50  # records read per stream for its shape
DATES_WANTED = 3  # summer and winter send dates shown, each
MESSAGE_PAGES = 4  # pages of messages read per list to find them


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def probe(config: Mapping[str, Any], test_revocation: bool) -> Iterator[str]:
    """The report, line by line (Markdown)."""
    from source_listrak.source import SourceListrak  # the source imports this module's neighbours

    if not uses_email_api(config):
        yield "The probe reads Listrak's Email API: configure OAuth2 client credentials (client_id, client_secret)."
        return
    source = SourceListrak(config={**config, "page_size": SHAPE_PAGE_SIZE})
    normalized = source.normalized_config
    session = start_session(normalized)
    timeout, retries, max_wait, factor = _settings(normalized)
    endpoint = TokenEndpoint(
        normalized["token_url"], normalized["credentials"]["client_id"], normalized["credentials"]["client_secret"],
        timeout, retries, max_wait, factor,
    )
    try:
        yield "# Listrak account probe (source-listrak)"
        yield ""
        token = session.token(endpoint.fetch)
        yield f"- Token endpoint: accepted the client credentials; `expires_in` = {token.expires_in:g} s."
        findings = check_areas(source.streams(normalized), session)
        yield ""
        yield "## API areas"
        yield ""
        yield "| area | answer | detail |"
        yield "|---|---|---|"
        for finding in findings:
            detail = finding.detail.replace("|", "/") if finding.state != "missing" else "refused with a fresh token"
            yield f"| {finding.area} | {finding.state} | {detail} |"
        yield ""
        yield "## Stream shapes (one page each; field names and JSON types, no values)"
        yield ""
        missing = {finding.area for finding in findings if finding.state == "missing"}
        needs = areas_needed(source.resolved_manifest)
        for stream in source.streams(normalized):  # new streams: a stream's partitions are read once
            yield from _shape(stream, missing & set(needs.get(stream.name, ())))
        yield ""
        yield "## Send dates: Listrak's wall time and the UTC instant the connector emits"
        yield ""
        authenticator = ListrakOAuth(config=normalized, parameters={"name": "probe"})
        yield from _dates(normalized, authenticator)
        if test_revocation:
            yield ""
            yield "## Does a new token revoke the older ones?"
            yield ""
            yield from _revocation(normalized, endpoint, session.token(endpoint.fetch).value)
        yield ""
        yield "## Rate limiting"
        yield ""
        yield f"- HTTP statuses answered: {dict(sorted(session.statuses.items()))}"
        yield f"- 429 answers: {session.statuses.get(429, 0)}; answers carrying Retry-After: {session.retry_after_seen}"
        yield f"- Token requests made: {session.token_requests}"
    except AirbyteTracedException as error:
        yield f"The probe stopped: {error.message}"
    finally:
        end_session(normalized)


def _shape(stream: Any, missing: set[str]) -> Iterator[str]:
    if missing:
        yield f"- `{stream.name}`: not read (the integration lacks {', '.join(sorted(missing))})"
        return
    fields: dict[str, set[str]] = {}
    read = 0
    try:
        for partition in islice(stream.generate_partitions(), 3):
            for record in islice(partition.read(), SHAPE_PAGE_SIZE - read):
                data = record.data if hasattr(record, "data") else record
                read += 1
                for name, value in data.items():
                    fields.setdefault(name, set()).add(_json_type(value))
            if read >= SHAPE_PAGE_SIZE:
                break
    except AreaRefused:
        yield f"- `{stream.name}`: refused (an API area is missing)"
        return
    except AirbyteTracedException as error:
        yield f"- `{stream.name}`: could not be read: {error.message}"
        return
    if not read:
        yield f"- `{stream.name}`: no records in the first partitions"
        return
    shape = ", ".join(f"{name}: {'|'.join(sorted(types))}" for name, types in sorted(fields.items()))
    yield f"- `{stream.name}` ({read} records): {shape}"


def _get(config: Mapping[str, Any], authenticator: ListrakOAuth, path: str, **params: Any) -> Any:
    timeout = float(config.get("request_timeout_seconds") or 30)
    response = requests.get(f"{config['base_url']}/{path}", params=params, auth=authenticator, timeout=timeout)
    response.raise_for_status()
    return response.json()


def _dates(config: Mapping[str, Any], authenticator: ListrakOAuth) -> Iterator[str]:
    zone = ZoneInfo(str(config["api_timezone"]))
    found: dict[bool, list[tuple[int, int, str]]] = {True: [], False: []}  # summer? -> (list, message, sendDate)
    try:
        for listed in _get(config, authenticator, "List").get("data", []):
            list_id = listed.get("listId")
            cursor = None
            for _ in range(MESSAGE_PAGES):
                params = {"count": 100, **({"cursor": cursor} if cursor else {})}
                try:
                    page = _get(config, authenticator, f"List/{list_id}/Message", **params)
                except requests.HTTPError:  # a list deleted meanwhile, or no Message area
                    break
                for message in page.get("data", []):
                    sent = message.get("sendDate")
                    if not isinstance(sent, str) or sent.startswith("0001"):
                        continue
                    local = datetime.fromisoformat(sent[:19]).replace(tzinfo=zone)
                    summer = bool(local.dst())
                    if len(found[summer]) < DATES_WANTED:
                        found[summer].append((list_id, message.get("messageId"), sent))
                cursor = page.get("nextPageCursor")
                if not cursor or all(len(dates) >= DATES_WANTED for dates in found.values()):
                    break
    except (requests.RequestException, ValueError) as error:
        yield f"- Messages could not be read for dates: {type(error).__name__}"
    if not any(found.values()):
        yield "- No message with a send date was found."
    yield "| season | list | message | Listrak sent | connector emits (UTC) |"
    yield "|---|---|---|---|---|"
    for summer in (True, False):
        for list_id, message_id, sent in found[summer]:
            season = f"summer ({zone.key} daylight time)" if summer else "winter (standard time)"
            yield f"| {season} | {list_id} | {message_id} | {sent} | {to_utc_z(sent, zone)} |"
    yield ""
    yield "Compare one message's send time in Listrak's web UI with the UTC column (converted to your zone)."


def _revocation(config: Mapping[str, Any], endpoint: TokenEndpoint, first: str) -> Iterator[str]:
    yield "This asked Listrak for a second token. If Listrak revokes older tokens, a sync running with these"
    yield "credentials at the same moment may have been cut short; run it again."
    yield ""

    def works(token: str) -> bool:
        timeout = float(config.get("request_timeout_seconds") or 30)
        response = requests.get(f"{config['base_url']}/List", headers={"Authorization": f"Bearer {token}"},
                                timeout=timeout)
        return response.status_code == 200

    before = works(first)
    second, _ = endpoint.fetch()
    after, second_works = works(first), works(second)
    yield f"- The first token worked before the second was issued: {'yes' if before else 'no'}"
    yield f"- The second token works: {'yes' if second_works else 'no'}"
    if before and second_works:
        verdict = "no: older tokens keep working" if after else "yes: a new token revokes the older ones"
        yield f"- A new token revokes the older ones: **{verdict}**"


def _log_warnings_to_stderr() -> None:
    """The report is the output: the CDK's log lines go to stderr, warnings and errors only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    for name in ("", "airbyte"):
        logger = logging.getLogger(name)
        logger.handlers = [handler] if name == "" else []
        logger.setLevel(logging.WARNING)
        logger.propagate = name != ""


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="source-listrak probe", description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, help="the connector's configuration file (JSON)")
    parser.add_argument(
        "--test-token-revocation",
        action="store_true",
        help="also ask for a second token and tell whether the first still works (may cut a running sync short)",
    )
    options = parser.parse_args(args)
    _log_warnings_to_stderr()
    with open(options.config) as file:
        config = json.load(file)
    for line in probe(config, options.test_token_revocation):
        print(filter_secrets(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
