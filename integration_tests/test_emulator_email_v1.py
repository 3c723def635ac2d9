"""The Listrak Email API v1 emulator's own rules, over real HTTP on loopback (contract §7).

Every v1 integration test trusts this emulator, so these tests pin it to the contract: the token
endpoint, tokens and API areas, routing, strict parameters, cursors and paging quirks, date filters,
the generated account, mutations, faults, the request log, the expected output and the request model.
No test times itself; each waits only for what it asked the emulator to do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import signal
import subprocess
import sys
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from listrak_emulators.email_v1 import (
    DATETIME_FIELDS,
    PRIMARY_KEYS,
    SENTINEL,
    STREAMS,
    EmailV1Emulator,
    Faults,
    Integration,
    Paging,
    Sizes,
    stream_named,
    to_utc,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
SIZES = Sizes(contacts_per_list=300, messages_per_list=12, recipients_per_message=120)
LARGE, SMALL, EMPTY, GONE = 300001, 300002, 300003, 300004
UNAUTHORIZED = {"status": 401, "error": "ERROR_UNAUTHORIZED", "message": "Authorization was denied for this request."}
INVALID_CREDENTIALS = {"error": "Invalid Credentials"}
FRACTION = re.compile(r"T\d\d:\d\d:\d\d(?:\.(\d+))?$")


class Client:
    """A requests session holding one access token of the emulator's integration."""

    def __init__(self, api: EmailV1Emulator) -> None:
        self.api, self.session = api, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token(api)}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.api.base_url + path, params=params, timeout=10)

    def data(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, (path, response.text)
        return response.json()["data"]

    def walk(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a paged route, following nextPageCursor until it is null or absent."""
        rows, body = [], self.get(path, **params).json()
        for _ in range(10_000):
            rows += body["data"]
            if not body.get("nextPageCursor"):
                return rows
            body = self.get(path, **params, cursor=body["nextPageCursor"]).json()
        raise AssertionError("paging never ended")


def token_response(api: EmailV1Emulator, **form: str) -> requests.Response:
    fields = {"grant_type": "client_credentials", "client_id": api.client_id, "client_secret": api.client_secret}
    return requests.post(api.token_url, data=fields | form, timeout=10)


def token(api: EmailV1Emulator) -> str:
    response = token_response(api)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def error_of(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    assert body["status"] == response.status_code and set(body) == {"status", "error", "message"}
    return response.status_code, body["error"], body["message"]


@pytest.fixture(scope="module")
def api() -> Iterator[EmailV1Emulator]:
    """One read-only emulator for the tests that change nothing."""
    with EmailV1Emulator(seed=5, now=NOW, sizes=SIZES) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def client(api: EmailV1Emulator) -> Client:
    return Client(api)


@pytest.fixture
def fresh() -> Iterator[EmailV1Emulator]:
    """An emulator of its own, for tests that mutate it."""
    with EmailV1Emulator(seed=5, now=NOW, sizes=SIZES) as emulator:
        yield emulator


def message_ids(client: Client, list_id: int = LARGE, **params: Any) -> list[int]:
    return [message["messageId"] for message in client.walk(f"/List/{list_id}/Message", **params)]


def sent_message(client: Client, index: int = 8) -> int:
    """A message of the large list that was sent and has engagement."""
    return message_ids(client)[index]


# ---------------------------------------------------------------- the token endpoint


def test_a_token_is_an_opaque_base64url_string_with_listraks_lifetime(api: EmailV1Emulator) -> None:
    response = token_response(api)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3599)
    assert 427 <= len(body["access_token"]) <= 448 and re.fullmatch(r"[A-Za-z0-9_-]+", body["access_token"])


def test_the_default_secret_needs_url_encoding(api: EmailV1Emulator) -> None:
    assert len(api.client_id) == 20 and re.fullmatch(r"[a-z0-9]+", api.client_id)
    assert len(api.client_secret) == 43 and "+" in api.client_secret
    raw = f"grant_type=client_credentials&client_id={api.client_id}&client_secret={api.client_secret}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    unencoded = requests.post(api.token_url, data=raw, headers=headers, timeout=10)
    assert (unencoded.status_code, unencoded.json()) == (400, INVALID_CREDENTIALS)  # "+" arrived as a space


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "wrong id", "other grant", "no grant", "json body", "basic auth", "basic and form"],
)
def test_anything_but_form_encoded_client_credentials_gets_400_invalid_credentials(
    api: EmailV1Emulator, how: str
) -> None:
    good = {"grant_type": "client_credentials", "client_id": api.client_id, "client_secret": api.client_secret}
    basic = (api.client_id, api.client_secret)
    kwargs: dict[str, Any] = {
        "wrong secret": {"data": good | {"client_secret": api.client_secret + "x"}},
        "wrong id": {"data": good | {"client_id": "someoneelse000000000"}},
        "other grant": {"data": good | {"grant_type": "password"}},
        "no grant": {"data": {k: v for k, v in good.items() if k != "grant_type"}},
        "json body": {"json": good},
        "basic auth": {"data": {"grant_type": "client_credentials"}, "auth": basic},
        "basic and form": {"data": good, "auth": basic},
    }[how]
    response = requests.post(api.token_url, timeout=10, **kwargs)
    assert (response.status_code, response.json()) == (400, INVALID_CREDENTIALS)
    assert response.headers["Connection"] == "close"


def test_token_requests_are_logged_with_the_form_but_never_the_secret(fresh: EmailV1Emulator) -> None:
    token_response(fresh)
    token_response(fresh, client_secret="nope")
    Client(fresh).data("/List")
    first, second = fresh.token_requests()[:2]
    assert (first.method, first.status, second.status) == ("POST", 200, 400)
    assert first.content_type == "application/x-www-form-urlencoded"
    assert first.query == {
        "grant_type": "client_credentials",
        "client_id": fresh.client_id,
        "client_secret": "<matches>",
    }
    assert second.query["client_secret"] == "<differs>"
    assert len(fresh.token_requests()) == 3 and len(fresh.data_log()) == 1
    assert fresh.client_secret not in repr(fresh.request_log)


def test_many_tokens_of_one_client_are_live_at_once(fresh: EmailV1Emulator) -> None:
    tokens = [token(fresh) for _ in range(5)]
    assert len(set(tokens)) == 5 and fresh.tokens.live() == 5
    for value in tokens:
        assert requests.get(fresh.base_url + "/List", headers={"Authorization": f"Bearer {value}"}, timeout=10).ok


def test_revoke_previous_tokens_leaves_only_the_newest_working() -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, integration=Integration(revoke_previous_tokens=True)) as api:
        older, newer = token(api), token(api)
        statuses = [
            requests.get(api.base_url + "/List", headers={"Authorization": f"Bearer {value}"}, timeout=10).status_code
            for value in (older, newer)
        ]
    assert statuses == [401, 200]


def test_expires_in_is_the_advertised_lifetime_and_the_actual_one_can_be_shorter() -> None:
    integration = Integration(advertised_ttl=1200, actual_ttl=0)
    with EmailV1Emulator(now=NOW, sizes=SIZES, integration=integration) as api:
        response = token_response(api)
        assert response.json()["expires_in"] == 1200
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        rejected = requests.get(api.base_url + "/List", headers=headers, timeout=10)
    assert (rejected.status_code, rejected.json()) == (401, UNAUTHORIZED)


def test_the_token_endpoint_takes_only_post(api: EmailV1Emulator) -> None:
    assert requests.get(api.token_url, timeout=10).status_code == 405


# ---------------------------------------------------------------- tokens, areas, pause, revocation


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer not-a-token", "bearer {token}", "Basic {token}", "Bearer {token} extra", "{token}"],
)
def test_a_missing_or_unknown_token_gets_401_with_the_specs_body(api: EmailV1Emulator, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header.format(token=token(api))}
    response = requests.get(api.base_url + "/List", headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_expire_all_tokens_rejects_every_token_until_a_new_one_is_fetched(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    assert client.get("/List").status_code == 200
    fresh.expire_all_tokens()
    assert client.get("/List").json() == UNAUTHORIZED
    assert Client(fresh).get("/List").status_code == 200


def test_each_route_needs_its_api_areas_and_contacts_need_contact(fresh: EmailV1Emulator) -> None:
    client, message = Client(fresh), sent_message(Client(fresh))
    fresh.set_scopes({"List", "Message", "Contact"})  # no Report
    assert client.get(f"/List/{LARGE}/Message/{message}").status_code == 200
    for path in ("Summary", "Activity", "Link", "Status"):
        assert client.get(f"/List/{LARGE}/Message/{message}/{path}").json() == UNAUTHORIZED, path
    fresh.set_scopes({"List", "Message", "Report", "Segmentation", "Event"})  # no Contact
    assert client.get(f"/List/{LARGE}/Contact").json() == UNAUTHORIZED
    assert client.get(f"/List/{LARGE}/SegmentationFieldGroup").status_code == 200
    fresh.set_scopes({"Contact"})
    assert client.get("/List").json() == UNAUTHORIZED
    assert client.get(f"/List/{LARGE}/Contact").status_code == 200
    assert client.get("/IpPool").status_code == 200  # declares no area
    with pytest.raises(ValueError):
        fresh.set_scopes({"Reporting"})


@pytest.mark.parametrize("flag", ["paused", "ip_blocked"])
def test_a_paused_or_blocked_integration_fails_token_and_data_requests(flag: str) -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES) as api:
        client = Client(api)
        setattr(api.integration, flag, True)
        assert (token_response(api).status_code, token_response(api).json()) == (400, INVALID_CREDENTIALS)
        assert client.get("/List").json() == UNAUTHORIZED
        setattr(api.integration, flag, False)
        assert client.get("/List").status_code == 200


def test_pause_is_a_mutation_too(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    fresh.pause()
    assert client.get("/List").status_code == 401
    fresh.pause(False)
    assert client.get("/List").status_code == 200


def test_revoke_after_n_data_requests_fails_every_later_one_and_every_token_request() -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, integration=Integration(revoke_after=3)) as api:
        client = Client(api)
        statuses = [client.get("/List").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 401, 401]
        assert token_response(api).status_code == 400


# ---------------------------------------------------------------- routing


@pytest.mark.parametrize(
    "path",
    [
        "/list",
        "/List/",
        f"/List/{LARGE}/contact",
        f"/List/{LARGE}/Contacts",
        "/v1/List",
        "/List/300001/Nothing",
        "/contacts",
        f"/List/{LARGE}/Message/1/Summary/Extra",
    ],
)
def test_only_canonical_paths_route_the_rest_is_unknown_route(client: Client, path: str) -> None:
    response = client.get(path)
    assert error_of(response)[:2] == (404, "ERROR_UNKNOWN_ROUTE")


def test_paths_outside_the_base_path_are_unknown_routes(api: EmailV1Emulator, client: Client) -> None:
    response = client.session.get(api.origin + "/v1/List", timeout=10)
    assert error_of(response)[:2] == (404, "ERROR_UNKNOWN_ROUTE")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_any_verb_but_get_on_a_data_route_gets_405(client: Client, method: str) -> None:
    response = client.session.request(method, client.api.base_url + f"/List/{LARGE}/Contact", json={}, timeout=10)
    assert error_of(response)[:2] == (405, "ERROR_UNSUPPORTED_METHOD")
    unknown = client.session.request(method, client.api.base_url + "/Nowhere", timeout=10)
    assert unknown.status_code == 404
    assert client.get("/List").status_code == 200  # the kept-alive connection still works


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/List/abc/Campaign", "listId"),
        ("/List/1.5/Campaign", "listId"),
        (f"/List/{LARGE}/Message/x/Summary", "messageId"),
        (f"/List/{LARGE}/Message/1/Link/%20/Clicker", "messageLinkId"),
        ("/List/99999999999/Campaign", "listId"),
    ],
)
def test_a_path_id_that_is_not_an_integer_gets_400_naming_it(client: Client, path: str, name: str) -> None:
    assert error_of(client.get(path)) == (400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {name}.")


def test_unknown_ids_get_404_naming_every_path_id_in_order(client: Client) -> None:
    message = sent_message(client)
    conversation = client.data(f"/List/{LARGE}/Conversation")[0]["conversationId"]
    conversation_message = client.walk(f"/List/{LARGE}/Conversation/{conversation}/Message")[0]["messageId"]
    cases = {
        "/List/999/Campaign": "the listId supplied",
        f"/List/{LARGE}/Message/5/Summary": "the listId and messageId supplied",
        f"/List/{LARGE}/Message/{message}/Link/7/Clicker": "the listId, messageId, and messageLinkId supplied",
        f"/List/{LARGE}/Conversation/{conversation}/Message/1/Activity": (
            "the listId, conversationId, and conversationMessageId supplied"
        ),
        f"/List/{LARGE}/SegmentationFieldGroup/1/SegmentationField": "the listId and segmentationFieldGroupId supplied",
        f"/List/{LARGE}/TransactionalMessage/1/Activity": "the listId and transactionalMessageId supplied",
        f"/List/{LARGE}/Conversation/{conversation}/Message/1/Link": (
            "the listId, conversationId, and conversationMessageId supplied"
        ),
        f"/List/{LARGE}/Conversation/{conversation}/Message/{conversation_message}/Link/7/Clicker": (
            "the listId, conversationId, conversationMessageId, and conversationMessageLinkId supplied"
        ),
        f"/List/{LARGE}/SplitTest/1/Message": "the listId and splitTestId supplied",
    }
    for path, named in cases.items():
        expected = (404, "ERROR_UNABLE_TO_LOCATE_RESOURCE", f"Unable to locate a resource associated with {named}.")
        assert error_of(client.get(path)) == expected, path


def test_the_fourth_list_is_listed_but_every_child_route_answers_404(client: Client) -> None:
    assert [record["listId"] for record in client.data("/List")] == [LARGE, SMALL, EMPTY, GONE]
    for child in (
        "",
        "/Campaign",
        "/Contact",
        "/SegmentationFieldGroup",
        "/SavedAudience",
        "/Event",
        "/EventGroup",
        "/Message",
        "/Conversation",
        "/TransactionalMessage",
        "/SplitTest",
    ):
        assert error_of(client.get(f"/List/{GONE}{child}"))[:2] == (404, "ERROR_UNABLE_TO_LOCATE_RESOURCE"), child


# ---------------------------------------------------------------- strict query parameters


UNDECLARED = [  # parameters the route does not declare (seed-contract leftovers among them)
    (f"/List/{LARGE}/Contact", {"perPage": "100"}, "perPage"),
    (f"/List/{LARGE}/Contact", {"updatedAfter": "2026-01-01T00:00:00Z"}, "updatedAfter"),
    (f"/List/{LARGE}/Message", {"page": "2"}, "page"),
    (f"/List/{LARGE}/Message", {"subscriptionState": "Subscribed"}, "subscriptionState"),
    (f"/List/{LARGE}/Campaign", {"count": "10"}, "count"),
    (f"/List/{LARGE}/Campaign", {"cursor": "Start"}, "cursor"),
    ("/List", {"count": "10"}, "count"),
    (f"/List/{LARGE}/SavedAudience", {"count": "10"}, "count"),
    (f"/List/{LARGE}/Conversation", {"includePreviousVersions": "true"}, "includePreviousVersions"),
    (f"/List/{LARGE}/Contact", {"subscriptionstate": "Subscribed"}, "subscriptionstate"),
]
BAD_VALUES = [
    (f"/List/{LARGE}/Contact", {"count": "0"}, "count"),
    (f"/List/{LARGE}/Contact", {"count": "5001"}, "count"),
    (f"/List/{LARGE}/Contact", {"count": "ten"}, "count"),
    (f"/List/{LARGE}/Contact", {"count": "-1"}, "count"),
    (f"/List/{LARGE}/Contact", {"count": ""}, "count"),
    (f"/List/{LARGE}/Contact", {"subscriptionState": "subscribed"}, "subscriptionState"),
    (f"/List/{LARGE}/Contact", {"useOriginalSubscribeDate": "no"}, "useOriginalSubscribeDate"),
    (f"/List/{LARGE}/Contact", {"segmentationFieldIds": "1,x"}, "segmentationFieldIds"),
    (f"/List/{LARGE}/Message", {"includeTestMessages": "1"}, "includeTestMessages"),
    (f"/List/{LARGE}/Message/<sent>/Activity", {"dateType": "Open"}, "dateType"),
]


@pytest.mark.parametrize(("path", "params", "name"), UNDECLARED + BAD_VALUES)
def test_an_undeclared_parameter_or_a_bad_value_gets_400_naming_the_parameter(
    client: Client, path: str, params: dict[str, str], name: str
) -> None:
    path = path.replace("<sent>", str(sent_message(client)))
    expected = (400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {name}.")
    assert error_of(client.get(path, **params)) == expected


def test_count_defaults_to_1000_and_takes_1_to_5000() -> None:
    with EmailV1Emulator(now=NOW, sizes=replace(SIZES, contacts_per_list=1500)) as api:
        client = Client(api)
        subscribed = client.walk(f"/List/{LARGE}/Contact", count=5000)
        assert len(subscribed) > 1000
        assert len(client.get(f"/List/{LARGE}/Contact").json()["data"]) == 1000
        assert len(client.get(f"/List/{LARGE}/Contact", count=1).json()["data"]) == 1
        assert client.get(f"/List/{LARGE}/Contact", count=5000).json()["nextPageCursor"] is None


def test_more_than_30_segmentation_field_ids_is_its_own_error(client: Client) -> None:
    ids = ",".join(str(40_000 + n) for n in range(31))
    status, error, _ = error_of(client.get(f"/List/{LARGE}/Contact", segmentationFieldIds=ids))
    assert (status, error) == (400, "ERROR_TOO_MANY_SEGMENTATION_FIELDS")
    thirty = ",".join(str(40_000 + n) for n in range(30))
    assert client.get(f"/List/{LARGE}/Contact", segmentationFieldIds=thirty).status_code == 200


# ---------------------------------------------------------------- cursors and pages


def test_cursors_are_standard_base64_with_plus_slash_and_padding(client: Client) -> None:
    body = client.get(f"/List/{LARGE}/Contact", count=7).json()
    cursor = body["nextPageCursor"]
    assert cursor.startswith("++++////") and cursor.endswith("==") and re.fullmatch(r"[A-Za-z0-9+/]+=*", cursor)
    assert list(body) == ["status", "nextPageCursor", "data"] and body["status"] == 200


def test_a_cursor_is_reusable_and_the_walk_covers_every_row_once_in_order(client: Client) -> None:
    first = client.get(f"/List/{LARGE}/Contact", count=40).json()
    again = [client.get(f"/List/{LARGE}/Contact", count=40, cursor=first["nextPageCursor"]).json() for _ in range(2)]
    assert again[0] == again[1] and again[0]["data"] != first["data"]
    walked = client.walk(f"/List/{LARGE}/Contact", count=40)
    whole = client.get(f"/List/{LARGE}/Contact", count=5000).json()["data"]
    assert walked == whole and len({row["emailAddress"] for row in walked}) == len(walked)
    start = client.get(f"/List/{LARGE}/Contact", count=40, cursor="Start").json()
    assert start == first


def test_the_last_page_has_a_null_cursor(client: Client) -> None:
    message = sent_message(client)
    body = client.get(f"/List/{LARGE}/Message/{message}/Activity", count=5000).json()
    assert body["nextPageCursor"] is None and len(body["data"]) == SIZES.recipients_per_message


@pytest.mark.parametrize(
    "change",
    [
        {"subscriptionState": "Unsubscribed"},
        {"startDate": "2020-01-01"},
        {"path": f"/List/{SMALL}/Contact"},
        {"tamper": True},
        {"unencoded": True},
        {"garbage": True},
    ],
)
def test_a_cursor_is_bound_to_its_path_and_filters(client: Client, change: dict[str, Any]) -> None:
    path, params = f"/List/{LARGE}/Contact", {"subscriptionState": "Subscribed", "count": "20"}
    cursor = client.get(path, **params).json()["nextPageCursor"]
    assert client.get(path, **params, cursor=cursor).status_code == 200
    assert client.get(path, **(params | {"count": "50"}), cursor=cursor).status_code == 200  # count may change
    if "tamper" in change:
        raw = bytearray(base64.b64decode(cursor))
        raw[-5] ^= 1
        cursor = base64.b64encode(bytes(raw)).decode()
    if "garbage" in change:
        cursor = "bm90IGEgY3Vyc29y"
    url = client.api.base_url + change.get("path", path)
    if "unencoded" in change:
        response = client.session.get(f"{url}?subscriptionState=Subscribed&count=20&cursor={cursor}", timeout=10)
    else:
        filters = {k: v for k, v in change.items() if k not in ("path", "tamper", "garbage")}
        response = client.session.get(url, params=params | filters | {"cursor": cursor}, timeout=10)
    assert error_of(response) == (400, "ERROR_INVALID_PARAMETER", "An invalid value was supplied for cursor.")


def test_short_non_final_pages_still_carry_a_cursor_and_the_walk_is_complete() -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, paging=Paging(short_pages=True)) as api:
        client, path = Client(api), f"/List/{LARGE}/Contact"
        sizes, body = [], client.get(path, count=20).json()
        while True:
            sizes.append(len(body["data"]))
            if body["nextPageCursor"] is None:
                break
            body = client.get(path, count=20, cursor=body["nextPageCursor"]).json()
        assert 10 in sizes[:-1] and sizes[0] == 20  # a short page that is not the last one
        assert client.walk(path, count=20) == client.get(path, count=5000).json()["data"]


def test_an_empty_final_page_can_follow_the_last_full_one() -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, paging=Paging(empty_final_page=True)) as api:
        client = Client(api)
        campaigns_are_unpaged = client.get(f"/List/{LARGE}/Campaign").json()
        assert set(campaigns_are_unpaged) == {"status", "data"}
        first = client.get(f"/List/{LARGE}/Message", count=5000).json()
        assert first["data"] and first["nextPageCursor"]
        last = client.get(f"/List/{LARGE}/Message", count=5000, cursor=first["nextPageCursor"]).json()
        assert last == {"status": 200, "nextPageCursor": None, "data": []}
        empty_list = client.get(f"/List/{EMPTY}/Message", count=5000).json()
        assert empty_list == {"status": 200, "nextPageCursor": None, "data": []}


def test_saved_audiences_page_by_two_with_cursor_only_and_the_last_page_has_no_cursor_key(client: Client) -> None:
    pages, body = [], client.get(f"/List/{LARGE}/SavedAudience").json()
    while True:
        pages.append(body)
        if "nextPageCursor" not in body:
            break
        assert body["nextPageCursor"]
        body = client.get(f"/List/{LARGE}/SavedAudience", cursor=body["nextPageCursor"]).json()
    assert [len(page["data"]) for page in pages] == [2, 2, 1]
    assert set(pages[-1]) == {"status", "data"}


def test_envelopes_collection_resource_and_ip_pool(client: Client) -> None:
    message = sent_message(client)
    assert set(client.get("/List").json()) == {"status", "data"}
    resource = client.get(f"/List/{LARGE}/Message/{message}/Summary").json()
    assert set(resource) == {"status", "data"} and isinstance(resource["data"], dict)
    ip_pools = client.get("/IpPool").json()
    assert list(ip_pools) == ["status", "nextPageCursor", "data"] and ip_pools["nextPageCursor"] is None
    response = client.get("/List")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Retry-After" not in response.headers


# ---------------------------------------------------------------- date filters


@pytest.mark.parametrize(
    "value",
    [
        "2025-06-01",
        "2025-06-01T10:00:00",
        "2025-06-01T10:00:00.5",
        "2025-06-01T10:00:00.1234567",
        "2025-06-01T14:00:00Z",
        "2025-06-01T10:00:00-04:00",
        "2025-06-01T16:00:00+02:00",
    ],
)
def test_date_parameters_accept_dates_naive_eastern_times_and_offsets(client: Client, value: str) -> None:
    assert client.get(f"/List/{LARGE}/Message", startDate=value).status_code == 200


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2025-13-01",
        "06-01-2025",
        "2025-06-01 10:00:00",
        "2025-06-01T10:00",
        "2025-06-01T10:00:00.12345678",
        "2025-06-01Z",
        "",
    ],
)
def test_other_date_shapes_get_400_naming_the_parameter(client: Client, value: str) -> None:
    for name in ("startDate", "endDate"):
        expected = (400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {name}.")
        assert error_of(client.get(f"/List/{LARGE}/Message", **{name: value})) == expected


def test_an_offset_is_converted_to_eastern_time(client: Client) -> None:
    sends = [m["sendDate"] for m in client.walk(f"/List/{LARGE}/Message") if m["sendDate"]]
    wall = sorted(sends)[3]
    utc = to_utc(wall)
    assert utc is not None
    same = client.walk(f"/List/{LARGE}/Message", startDate=wall, endDate=wall)
    converted = client.walk(f"/List/{LARGE}/Message", startDate=utc, endDate=utc)
    assert [m["sendDate"] for m in same] == [m["sendDate"] for m in converted] == [wall]


def test_message_dates_are_inclusive_and_leave_out_a_missing_send_date(client: Client) -> None:
    everything = client.walk(f"/List/{LARGE}/Message")
    assert any(m["sendDate"] is None for m in everything)
    dated = sorted((m for m in everything if m["sendDate"]), key=lambda m: m["sendDate"])
    low, high = dated[2]["sendDate"], dated[5]["sendDate"]
    inside = client.walk(f"/List/{LARGE}/Message", startDate=low, endDate=high)
    assert sorted(m["sendDate"] for m in inside) == sorted(m["sendDate"] for m in dated if low <= m["sendDate"] <= high)
    assert all(m["sendDate"] for m in client.walk(f"/List/{LARGE}/Message", startDate="2000-01-01"))


def _contacts(client: Client, **params: Any) -> list[dict[str, Any]]:
    return client.walk(f"/List/{LARGE}/Contact", count=5000, **params)


def test_subscribed_contacts_filter_the_original_subscribe_date_by_default(client: Client) -> None:
    resubscribed = next(c for c in _contacts(client) if c.get("resubscribeDate"))
    original, latest = resubscribed["subscribeDate"], resubscribed["resubscribeDate"]
    by_original = _contacts(client, startDate=original, endDate=original)
    assert resubscribed in by_original  # both bounds inclusive
    assert resubscribed not in _contacts(client, startDate=latest)
    by_latest = _contacts(client, startDate=latest, useOriginalSubscribeDate="false")
    assert any(c["emailAddress"] == resubscribed["emailAddress"] for c in by_latest)
    exclusive_end = _contacts(client, endDate=latest, useOriginalSubscribeDate="false")
    assert all(c["emailAddress"] != resubscribed["emailAddress"] for c in exclusive_end)


def test_unsubscribed_contacts_filter_the_unsubscribe_date_inclusively(client: Client) -> None:
    unsubscribed = _contacts(client, subscriptionState="Unsubscribed")
    assert unsubscribed and all(c["subscriptionState"] == "Unsubscribed" for c in unsubscribed)
    one = unsubscribed[0]
    found = _contacts(
        client,
        subscriptionState="Unsubscribed",
        startDate=one["unsubscribeDate"],
        endDate=one["unsubscribeDate"],
        useOriginalSubscribeDate="false",
    )
    assert one in found and all(c["unsubscribeDate"] == one["unsubscribeDate"] for c in found)


def test_activity_filters_by_send_date_or_by_first_activity_date(client: Client) -> None:
    message = sent_message(client)
    path = f"/List/{LARGE}/Message/{message}/Activity"
    rows = client.walk(path, count=5000)
    send = rows[0]["sendDate"]
    assert client.walk(path, count=5000, startDate=send, endDate=send) == rows  # dateType Send, inclusive
    assert client.walk(path, count=5000, startDate="2000-01-01", endDate="2000-01-02") == []
    active = sorted((r for r in rows if r["activityDate"]), key=lambda r: r["activityDate"])
    assert active and len(active) < len(rows)
    low = active[len(active) // 2]["activityDate"]
    by_activity = client.walk(path, count=5000, dateType="Activity", startDate=low)
    assert sorted(r["activityDate"] for r in by_activity) == [
        r["activityDate"] for r in active if r["activityDate"] >= low
    ]
    someone = rows[3]["emailAddress"]
    assert client.walk(path, emailAddress=someone) == [rows[3]]
    clicked = client.walk(path, count=5000, activityType="Click")
    assert clicked == [r for r in rows if r["click"]]


def test_clickers_filter_the_click_date_inclusively(client: Client) -> None:
    message = sent_message(client)
    links = client.walk(f"/List/{LARGE}/Message/{message}/Link")
    link = max(links, key=lambda link: link["clickCount"])
    path = f"/List/{LARGE}/Message/{message}/Link/{link['linkId']}/Clicker"
    clicks = client.walk(path)
    assert len(clicks) == link["clickCount"] > 0
    first = min(click["clickDate"] for click in clicks)
    assert [c for c in client.walk(path, startDate=first, endDate=first)] == [
        c for c in clicks if c["clickDate"] == first
    ]


def test_conversation_message_clickers_filter_the_click_date_inclusively_like_the_broadcast_ones(
    client: Client,
) -> None:
    conversation = client.data(f"/List/{LARGE}/Conversation")[0]["conversationId"]
    messages = client.walk(f"/List/{LARGE}/Conversation/{conversation}/Message")
    base = f"/List/{LARGE}/Conversation/{conversation}/Message"
    links = [(m["messageId"], link) for m in messages for link in client.walk(f"{base}/{m['messageId']}/Link")]
    message, link = max(links, key=lambda pair: pair[1]["clickCount"])
    path = f"{base}/{message}/Link/{link['linkId']}/Clicker"
    clicks = client.walk(path)
    assert len(clicks) == link["clickCount"] > 0
    first = min(click["clickDate"] for click in clicks)
    assert client.walk(path, startDate=first, endDate=first) == [c for c in clicks if c["clickDate"] == first]


def test_split_tests_filter_the_start_date_inclusively_and_leave_out_those_not_started(client: Client) -> None:
    tests = client.walk(f"/List/{LARGE}/SplitTest")
    started = [t for t in tests if t["startDate"] != SENTINEL]
    assert started and len(started) < len(tests)
    first = min(t["startDate"] for t in started)
    assert client.walk(f"/List/{LARGE}/SplitTest", startDate=first, endDate=first) == [
        t for t in started if t["startDate"] == first
    ]
    assert client.walk(f"/List/{LARGE}/SplitTest", startDate="2000-01-01") == started
    for test in tests:
        groups = client.data(f"/List/{LARGE}/SplitTest/{test['splitTestId']}/Message")
        assert [g["groupName"] for g in groups][:2] == ["A", "B"]


def test_conversation_and_transactional_activity_filter_each_rows_send_date(client: Client) -> None:
    conversation = client.data(f"/List/{LARGE}/Conversation")[0]["conversationId"]
    conversation_message = client.walk(f"/List/{LARGE}/Conversation/{conversation}/Message")[0]["messageId"]
    transactional = client.data(f"/List/{LARGE}/TransactionalMessage")[0]["transactionalMessageId"]
    for path in (
        f"/List/{LARGE}/Conversation/{conversation}/Message/{conversation_message}/Activity",
        f"/List/{LARGE}/TransactionalMessage/{transactional}/Activity",
    ):
        rows = client.walk(path, count=5000)
        sends = sorted(row["sendDate"] for row in rows)
        low, high = sends[len(sends) // 4], sends[len(sends) // 2]
        inside = client.walk(path, count=5000, startDate=low, endDate=high)
        assert sorted(row["sendDate"] for row in inside) == [s for s in sends if low <= s <= high], path


# ---------------------------------------------------------------- the account


def test_three_lists_large_small_and_empty_and_the_empty_one_has_nothing(client: Client) -> None:
    lists = client.data("/List")
    assert lists[1]["createDate"] == SENTINEL  # the sentinel on a non-nullable date
    assert "enableUniversalEmailKeySetting" not in lists[2] and "enableUniversalEmailKeySetting" in lists[0]
    assert lists[0]["newFieldFrom2027"] == "x" and lists[0]["bounceDomainAlias"] == ""
    for child in (
        "/Campaign",
        "/SegmentationFieldGroup",
        "/Event",
        "/EventGroup",
        "/Conversation",
        "/TransactionalMessage",
    ):
        assert client.get(f"/List/{EMPTY}{child}").json() == {"status": 200, "data": []}, child
    for child in ("/Contact", "/Message"):
        assert client.get(f"/List/{EMPTY}{child}").json() == {"status": 200, "nextPageCursor": None, "data": []}
    large, small = (len(_contacts_of(client, list_id)) for list_id in (LARGE, SMALL))
    assert large == SIZES.contacts_per_list and small == SIZES.contacts_per_list // 10


def _contacts_of(client: Client, list_id: int) -> list[dict[str, Any]]:
    return [
        c
        for state in ("Subscribed", "Unsubscribed")
        for c in client.walk(f"/List/{list_id}/Contact", count=5000, subscriptionState=state)
    ]


def test_campaigns_events_and_groups(client: Client) -> None:
    campaigns = client.data(f"/List/{LARGE}/Campaign")
    assert 5 <= len(campaigns) <= 10 and all(set(c) == {"campaignId", "campaignName"} for c in campaigns)
    events = client.data(f"/List/{LARGE}/Event")
    groups = {group["eventGroupId"] for group in client.data(f"/List/{LARGE}/EventGroup")}
    assert {e["eventGroupId"] for e in events} - {0} <= groups and any(e["eventGroupId"] == 0 for e in events)
    assert {e["status"] for e in events} == {"Active", "Blocked"}


def test_the_large_list_has_35_profile_fields_in_two_groups_with_every_data_type(client: Client) -> None:
    groups = client.data(f"/List/{LARGE}/SegmentationFieldGroup")
    assert len(groups) == 2
    fields = [
        f
        for g in groups
        for f in client.data(f"/List/{LARGE}/SegmentationFieldGroup/{g['segmentationFieldGroupId']}/SegmentationField")
    ]
    assert len(fields) == 35 and len({f["segmentationFieldId"] for f in fields}) == 35
    assert {f["dataType"] for f in fields} == {
        "Text",
        "Numeric",
        "RadioButton",
        "CheckBox",
        "CommentArea",
        "Date",
        "ContentBlock",
    }
    assert all(f["segmentationFieldGroupId"] in {g["segmentationFieldGroupId"] for g in groups} for f in fields)


def test_contacts_states_keys_and_missing_fields(client: Client) -> None:
    contacts = _contacts_of(client, LARGE)
    states = Counter(c["subscriptionState"] for c in contacts)
    assert 0.12 <= states["Unsubscribed"] / len(contacts) <= 0.28
    resubscribed = [c for c in contacts if c.get("resubscribeDate")]
    assert 0.02 <= len(resubscribed) / len(contacts) <= 0.09
    assert all(c["subscriptionState"] == "Subscribed" and c["unsubscribeDate"] for c in resubscribed)
    old = [c for c in contacts if "universalEmailKey" not in c]
    assert old and len(old) / len(contacts) <= 0.05
    assert all("resubscribeDate" not in c and "externalContactID" not in c for c in old)
    for contact in contacts:
        assert re.fullmatch(r"[0-9A-F]{26}", contact["emailKey"])
        if "universalEmailKey" in contact:
            assert contact["universalEmailKey"] == hashlib.sha256(contact["emailAddress"].lower().encode()).hexdigest()
        assert contact["segmentationFieldValues"] == []
    assert {c["subscribeMethod"] for c in contacts} >= {"Administrator", None}
    assert any(c.get("externalContactID") for c in contacts) and any(c.get("newFieldFrom2027") for c in contacts)


def test_profile_values_only_for_the_requested_fields_unknown_ids_ignored(client: Client) -> None:
    fields = [40_000 + n for n in (0, 5, 34)] + [123]
    contacts = client.walk(f"/List/{LARGE}/Contact", count=5000, segmentationFieldIds=",".join(map(str, fields)))
    values = [v for c in contacts for v in c["segmentationFieldValues"]]
    assert {v["segmentationFieldId"] for v in values} == set(fields[:3])
    assert all(set(v) == {"segmentationFieldGroupId", "segmentationFieldId", "value"} for v in values)
    assert 0.7 <= len(values) / (3 * len(contacts)) <= 0.95  # most contacts have most values


def test_messages_scheduled_test_null_send_date_and_campaign_zero(client: Client) -> None:
    messages = client.walk(f"/List/{LARGE}/Message")
    assert len(messages) == SIZES.messages_per_list
    assert any(m["messageStatus"] == "Scheduled" and to_utc(m["sendDate"]) > "2026-03-01T17:00:00Z" for m in messages)
    assert sum(m["sendDate"] is None for m in messages) == 1
    assert any(m["campaignId"] == 0 for m in messages) and any(m["campaignId"] for m in messages)
    with_tests = client.walk(f"/List/{LARGE}/Message", includeTestMessages="true")
    tests = [m for m in with_tests if m not in messages]
    assert len(tests) == 2 and all(m["subject"].startswith("[TEST]") for m in tests)


def test_message_details_carry_segments_and_one_body_is_about_50_kb(client: Client) -> None:
    details = [client.data(f"/List/{LARGE}/Message/{m}") for m in message_ids(client)]
    assert all(set(d["segmentsApplied"]) == {"includedSegments", "excludedSegments"} for d in details)
    sizes = sorted(len(d["bodyHtml"].encode()) for d in details)
    assert sizes[-1] >= 50_000 > sizes[-2]


def test_activity_is_one_row_per_recipient_with_first_activity_and_fractional_order_totals(client: Client) -> None:
    rows = [
        r for m in message_ids(client)[6:11] for r in client.walk(f"/List/{LARGE}/Message/{m}/Activity", count=5000)
    ]
    per_message = Counter((r["sendDate"], r["emailAddress"]) for r in rows)
    assert max(per_message.values()) == 1
    assert all(r["visitDate"] is None for r in rows)
    assert all((r["activityDate"] is None) == (not (r["open"] or r["bounce"] or r["click"])) for r in rows)
    assert all(r["activityDate"] is None or r["activityDate"] > r["sendDate"] for r in rows)
    assert any(r["orderTotal"] != int(r["orderTotal"]) for r in rows)
    opened = sum(r["open"] for r in rows) / len(rows)
    assert 0.1 <= opened <= 0.3 and any(r["bounce"] and r["bounceReason"] for r in rows)
    assert all(r["click"] == (r["clickCount"] > 0) for r in rows)


def test_summaries_agree_with_the_activity_rows_and_links_with_the_clickers(client: Client) -> None:
    for message in message_ids(client)[6:10]:
        base = f"/List/{LARGE}/Message/{message}"
        rows, summary = client.walk(f"{base}/Activity", count=5000), client.data(f"{base}/Summary")
        revenue = round(sum(r["orderTotal"] for r in rows), 2)
        assert summary["sentCount"] == len(rows)
        assert summary["openCount"] == sum(r["open"] for r in rows)
        assert summary["clickCount"] == summary["visitCount"] == sum(r["click"] for r in rows)
        assert summary["bounceCount"] == sum(r["bounce"] for r in rows)
        assert summary["readCount"] == sum(r["read"] for r in rows)
        assert summary["conversionCount"] == sum(r["orderTotal"] > 0 for r in rows)
        assert summary["revenue"] == revenue
        links = client.walk(f"{base}/Link")
        assert 5 <= len(links) <= 20
        clicks = [c for link in links for c in client.walk(f"{base}/Link/{link['linkId']}/Clicker")]
        assert [link["clickCount"] for link in links] == [
            len(client.walk(f"{base}/Link/{link['linkId']}/Clicker")) for link in links
        ]
        assert len(clicks) == sum(r["clickCount"] for r in rows)


def test_opens_decay_after_the_send_and_clicks_follow_the_open_on_a_few_popular_links() -> None:
    sizes = Sizes(
        lists=1, contacts_per_list=500, messages_per_list=4, recipients_per_message=20_000, links_per_message=10
    )
    with EmailV1Emulator(seed=5, now=NOW, sizes=sizes) as api:
        client = Client(api)
        base = f"/List/{LARGE}/Message/{message_ids(client)[0]}"
        rows = client.walk(f"{base}/Activity", count=5000)
        links = client.walk(f"{base}/Link")
        clickers = [c for link in links for c in client.walk(f"{base}/Link/{link['linkId']}/Clicker", count=5000)]

    def moment(text: str) -> datetime:
        return datetime.fromisoformat(to_utc(text).replace("Z", "+00:00"))  # type: ignore[union-attr]

    opened = {r["emailAddress"]: moment(r["activityDate"]) for r in rows if r["open"]}
    hours = sorted((at - moment(rows[0]["sendDate"])) / timedelta(hours=1) for at in opened.values())
    within = [sum(h <= limit for h in hours) / len(hours) for limit in (2, 24, 48)]
    assert len(hours) > 3000 and 0.35 < within[0] < 0.55 and within[1] > 0.85 and within[2] > 0.92
    assert sum(h > 5 * 24 for h in hours) > 0.005 * len(hours)  # a long tail
    minutes = [(moment(c["clickDate"]) - opened[c["emailAddress"]]) / timedelta(minutes=1) for c in clickers]
    assert min(minutes) > 0 and sum(m <= 60 for m in minutes) > 0.85 * len(minutes)
    shares = sorted((link["clickCount"] / len(clickers) for link in links), reverse=True)
    assert sum(link["clickCount"] for link in links) == len(clickers) > 1000
    assert shares[0] > 0.4 and sum(shares[:3]) > 0.7 and shares[-1] < 0.05


def test_clickers_are_events_an_address_can_click_several_times(client: Client) -> None:
    repeats = 0
    for message in message_ids(client)[6:11]:
        base = f"/List/{LARGE}/Message/{message}"
        for link in client.walk(f"{base}/Link"):
            addresses = Counter(c["emailAddress"] for c in client.walk(f"{base}/Link/{link['linkId']}/Clicker"))
            repeats += sum(count > 1 for count in addresses.values())
    assert repeats > 0


def test_conversations_have_three_messages_one_only_with_previous_versions(client: Client) -> None:
    conversations = client.data(f"/List/{LARGE}/Conversation")
    assert len(conversations) == 2 and any(c["expirationDate"] is None for c in conversations)
    for conversation in conversations:
        base = f"/List/{LARGE}/Conversation/{conversation['conversationId']}"
        current = client.walk(f"{base}/Message")
        every = client.walk(f"{base}/Message", includePreviousVersions="true")
        assert len(current) == 2 and len(every) == 3 and every[:2] == current
        sent = sum(client.data(f"{base}/Message/{m['messageId']}/Summary")["sentCount"] for m in every)
        summary = client.data(f"{base}/Summary")
        assert "passAlongCount" not in summary and summary["sentCount"] == sent
        assert summary["deliveredCount"] == summary["sentCount"] - summary["bounceCount"]
        rows = client.walk(f"{base}/Message/{every[0]['messageId']}/Activity", count=5000)
        assert len({(r["emailAddress"], r["sendDate"]) for r in rows}) == len(rows)
        assert max(Counter(r["emailAddress"] for r in rows).values()) > 1  # contacts re-enter the journey


def test_transactional_sends_repeat_addresses_with_a_unique_resend_key(client: Client) -> None:
    for message in client.data(f"/List/{LARGE}/TransactionalMessage"):
        rows = client.walk(
            f"/List/{LARGE}/TransactionalMessage/{message['transactionalMessageId']}/Activity", count=5000
        )
        assert len({r["resendKey"] for r in rows}) == len(rows)
        assert max(Counter(r["emailAddress"] for r in rows).values()) >= 3


def test_datetimes_are_naive_eastern_with_trimmed_fractions_dst_and_sentinels(
    api: EmailV1Emulator, client: Client
) -> None:
    texts = [m["sendDate"] for m in client.walk(f"/List/{LARGE}/Message")]
    texts += [
        r[name]
        for m in message_ids(client)[6:9]
        for r in client.walk(f"/List/{LARGE}/Message/{m}/Activity", count=5000)
        for name in ("sendDate", "activityDate")
    ]
    texts += [c["subscribeDate"] for c in _contacts_of(client, LARGE)]
    dated = [t for t in texts if t]
    assert all(FRACTION.search(t) and not t.endswith("Z") and "+" not in t for t in dated)
    digits = Counter(len(FRACTION.search(t)[1] or "") for t in dated)  # type: ignore[index]
    assert set(digits) == {0, 1, 2, 3, 7}
    assert not [t for t in dated if "." in t and t.endswith("0")]
    fall_back = [m["sendDate"] for m in client.walk(f"/List/{LARGE}/Message") if m["sendDate"] == "2025-11-02T01:30:00"]
    assert len(fall_back) == 2  # one sent in each fold
    assert {"2025-03-09T01:59:59.5", "2025-03-09T03:00:00.25"} <= set(texts)
    assert sum(c["subscribeDate"] == "2025-11-02T01:30:00" for c in _contacts_of(client, LARGE)) == 2
    audiences = client.walk(f"/List/{LARGE}/SavedAudience")
    assert any(a["lastModified"] == SENTINEL for a in audiences) and isinstance(audiences[0]["savedAudienceId"], int)
    assert audiences[0]["savedAudienceId"] > 2**31
    statuses = [client.data(f"/List/{LARGE}/Message/{m}/Status") for m in message_ids(client)]
    assert any(s["startDate"] == SENTINEL for s in statuses) and any(s["endDate"] == SENTINEL for s in statuses)


def test_the_same_seed_gives_the_same_account_and_another_seed_another() -> None:
    def snapshot(seed: int) -> str:
        with EmailV1Emulator(seed=seed, now=NOW, sizes=SIZES) as api:
            client = Client(api)
            message = message_ids(client)[8]
            parts = [
                client.data("/List"),
                _contacts_of(client, LARGE),
                client.walk(f"/List/{LARGE}/Message"),
                client.walk(f"/List/{LARGE}/Message/{message}/Activity", count=5000),
            ]
            return json.dumps(parts)

    assert snapshot(5) == snapshot(5) != snapshot(6)


def test_millions_of_activity_rows_cost_no_memory() -> None:
    sizes = Sizes(lists=1, contacts_per_list=1000, messages_per_list=3, recipients_per_message=2_000_000)
    tracemalloc.start()
    try:
        with EmailV1Emulator(now=NOW, sizes=sizes) as api:
            client = Client(api)
            message = message_ids(client)[1]
            body = client.get(f"/List/{LARGE}/Message/{message}/Activity", count=5000).json()
            deep = client.get(
                f"/List/{LARGE}/Message/{message}/Activity",
                count=5000,
                cursor=api.cursors.issue(f"/email/v1/List/{LARGE}/Message/{message}/Activity", {}, 1_995_000),
            ).json()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(body["data"]) == len(deep["data"]) == 5000 and deep["nextPageCursor"] is None
    assert peak < 60_000_000  # two million row dicts would take gigabytes


# ---------------------------------------------------------------- mutations between syncs


def test_advance_sends_scheduled_messages_and_lets_drawn_engagement_happen(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    scheduled = [m for m in client.walk(f"/List/{LARGE}/Message") if m["messageStatus"] == "Scheduled"]
    path = f"/List/{LARGE}/Message/{scheduled[0]['messageId']}/Activity"
    assert scheduled and client.walk(path) == []
    with pytest.raises(ValueError):
        fresh.advance(NOW - timedelta(days=1))
    fresh.advance(NOW + timedelta(days=30))
    after = {m["messageId"]: m for m in client.walk(f"/List/{LARGE}/Message")}
    assert after[scheduled[0]["messageId"]]["messageStatus"] == "Sent"
    rows = client.walk(path, count=5000)
    assert len(rows) == SIZES.recipients_per_message and any(r["open"] for r in rows)


def test_subscribe_unsubscribe_and_resubscribe_move_contacts_with_dates_of_now(fresh: EmailV1Emulator) -> None:
    client, today = Client(fresh), "2026-03-01T12:00:00"  # NOW in Eastern wall time
    added = fresh.subscribe(2)
    new = client.walk(f"/List/{LARGE}/Contact", startDate=today)
    assert [c["emailAddress"] for c in new] == added and all(c["subscribeDate"] == today for c in new)
    leaving = added[0]
    fresh.unsubscribe([leaving])
    gone = client.walk(f"/List/{LARGE}/Contact", subscriptionState="Unsubscribed", startDate=today)
    assert [c["emailAddress"] for c in gone] == [leaving] and gone[0]["unsubscribeDate"] == today
    fresh.advance(NOW + timedelta(hours=1))
    fresh.resubscribe([leaving])
    later = "2026-03-01T12:30:00"
    back = client.walk(f"/List/{LARGE}/Contact", startDate=later, useOriginalSubscribeDate="false")
    assert [c["emailAddress"] for c in back] == [leaving] and back[0]["resubscribeDate"] == "2026-03-01T13:00:00"
    assert client.walk(f"/List/{LARGE}/Contact", startDate=later) == []  # the original date did not move
    with pytest.raises(ValueError):
        fresh.unsubscribe(["nobody@example.com"])


def test_a_profile_change_moves_no_date(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    contact = client.walk(f"/List/{LARGE}/Contact", count=5000)[3]
    before = client.walk(f"/List/{LARGE}/Contact", count=5000, segmentationFieldIds="40001")[3]
    fresh.change_profile_field(contact["emailAddress"], 40001, "changed")
    after = client.walk(f"/List/{LARGE}/Contact", count=5000, segmentationFieldIds="40001")[3]
    assert after["segmentationFieldValues"] == [
        {"segmentationFieldGroupId": 9000, "segmentationFieldId": 40001, "value": "changed"}
    ]
    assert {k: v for k, v in after.items() if k != "segmentationFieldValues"} == {
        k: v for k, v in before.items() if k != "segmentationFieldValues"
    }


def test_send_message_adds_a_message_sent_now_whose_engagement_follows_the_clock(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    message_id = fresh.send_message(recipients=50)
    listed = [m for m in client.walk(f"/List/{LARGE}/Message") if m["messageId"] == message_id]
    assert listed and listed[0]["sendDate"] == "2026-03-01T12:00:00" and listed[0]["messageStatus"] == "Sent"
    rows = client.walk(f"/List/{LARGE}/Message/{message_id}/Activity", count=5000)
    assert len(rows) == 50 and not any(r["open"] for r in rows)  # nothing has happened yet
    fresh.advance(NOW + timedelta(days=5))
    assert any(r["open"] for r in client.walk(f"/List/{LARGE}/Message/{message_id}/Activity", count=5000))


def test_engage_flips_flags_and_counts_clicks_without_moving_the_activity_date(fresh: EmailV1Emulator) -> None:
    client, message = Client(fresh), sent_message(Client(fresh))
    path = f"/List/{LARGE}/Message/{message}/Activity"
    rows = client.walk(path, count=5000)
    active = next(r for r in rows if r["open"] and not r["click"])
    idle = next(r for r in rows if r["activityDate"] is None)
    summary = client.data(f"/List/{LARGE}/Message/{message}/Summary")
    fresh.engage(message, active["emailAddress"])
    fresh.engage(message, idle["emailAddress"], click=False)
    after = {r["emailAddress"]: r for r in client.walk(path, count=5000)}
    assert after[active["emailAddress"]]["activityDate"] == active["activityDate"]
    assert (after[active["emailAddress"]]["click"], after[active["emailAddress"]]["clickCount"]) == (True, 1)
    assert after[idle["emailAddress"]]["open"] and after[idle["emailAddress"]]["activityDate"] == "2026-03-01T12:00:00"
    now_summary = client.data(f"/List/{LARGE}/Message/{message}/Summary")
    assert (
        now_summary["clickCount"] == summary["clickCount"] + 1 and now_summary["openCount"] == summary["openCount"] + 1
    )


def test_add_clicks_adds_repeat_clicks_on_one_link(fresh: EmailV1Emulator) -> None:
    client, message = Client(fresh), sent_message(Client(fresh))
    link = client.walk(f"/List/{LARGE}/Message/{message}/Link")[0]
    someone = client.walk(f"/List/{LARGE}/Message/{message}/Activity", count=5000)[0]["emailAddress"]
    fresh.add_clicks(message, link["linkId"], someone, clicks=3)
    clickers = client.walk(f"/List/{LARGE}/Message/{message}/Link/{link['linkId']}/Clicker")
    mine = [c for c in clickers if c["emailAddress"] == someone]
    assert len(mine) == 3 and len({c["clickDate"] for c in mine}) == 3
    assert client.walk(f"/List/{LARGE}/Message/{message}/Link")[0]["clickCount"] == link["clickCount"] + 3


def test_transactional_send_appends_a_send_with_a_new_resend_key(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    message = client.data(f"/List/{LARGE}/TransactionalMessage")[0]["transactionalMessageId"]
    path = f"/List/{LARGE}/TransactionalMessage/{message}/Activity"
    before = client.walk(path, count=5000)
    row = fresh.transactional_send(message, before[0]["emailAddress"])
    again = fresh.transactional_send(message, before[0]["emailAddress"])
    after = client.walk(path, count=5000)
    assert after == [*before, row, again] and row["resendKey"] != again["resendKey"]
    assert row["sendDate"] == "2026-03-01T12:00:00" and again["sendDate"] > row["sendDate"]


def test_delete_list_takes_it_out_of_list_and_its_routes_404(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    fresh.delete_list(SMALL)
    assert [record["listId"] for record in client.data("/List")] == [LARGE, EMPTY, GONE]
    assert error_of(client.get(f"/List/{SMALL}/Message"))[:2] == (404, "ERROR_UNABLE_TO_LOCATE_RESOURCE")
    assert fresh.expected_records("campaigns") == [
        r for r in fresh.expected_records("campaigns") if r["listId"] == LARGE
    ]


# ---------------------------------------------------------------- faults


def _statuses(api: EmailV1Emulator, paths: list[str]) -> list[tuple[int, str | None, str]]:
    client, seen = Client(api), []
    for path in paths:
        try:
            response = client.get(path)
            seen.append((response.status_code, response.headers.get("Retry-After"), response.headers["Content-Type"]))
        except requests.ConnectionError:
            seen.append((0, None, ""))
    return seen


def test_faults_are_the_same_for_the_same_seed_and_requests() -> None:
    paths = [f"/List/{LARGE}/Contact?count={n}" for n in range(1, 40)]
    runs = []
    for seed in (3, 3, 4):
        with EmailV1Emulator(seed=seed, now=NOW, sizes=SIZES, faults=Faults.at_rate(0.6)) as api:
            runs.append(_statuses(api, paths))
    assert runs[0] == runs[1] != runs[2]
    assert {status for status, _, _ in runs[0]} >= {0, 200, 429, 500, 502, 503}


@pytest.mark.parametrize(
    ("knob", "status", "content_type"),
    [
        ("rate_500", 500, "application/json; charset=utf-8"),
        ("rate_502", 502, "text/html"),
        ("rate_503", 503, "text/html"),
        ("rate_html", 200, "text/html"),
        ("rate_429", 429, "application/json; charset=utf-8"),
    ],
)
def test_each_fault_kind_answers_as_listraks_servers_do(knob: str, status: int, content_type: str) -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, faults=Faults(**{knob: 1.0}, max_consecutive=1)) as api:
        client = Client(api)
        response = client.get("/List")
        assert (response.status_code, response.headers["Content-Type"]) == (status, content_type)
        assert "Retry-After" not in response.headers  # 429 without Retry-After by default
        if status == 500:
            assert response.json()["error"] == "ERROR_UNHANDLED_EXCEPTION"
        if content_type == "text/html":
            assert response.text.lstrip().lower().startswith(("<!doctype", "<html"))
        assert client.get("/List").json()["status"] == 200  # max_consecutive=1: the retry succeeds
        assert [entry.fault for entry in api.data_log()] == [knob.removeprefix("rate_"), None]


@pytest.mark.parametrize("mode", ["seconds", "http-date", "mixed"])
def test_429_can_carry_retry_after_in_seconds_or_as_an_http_date(mode: str) -> None:
    faults = Faults(rate_429=1.0, retry_after=mode, retry_after_seconds=4, max_consecutive=3)
    with EmailV1Emulator(now=NOW, sizes=SIZES, faults=faults) as api:
        client = Client(api)
        headers = [client.get("/List").headers.get("Retry-After") for _ in range(3)]
        log = api.data_log()
    if mode == "seconds":
        assert headers == ["4", "4", "4"]
    elif mode == "mixed":
        assert headers[0] == "4" and headers[1].endswith(" GMT") and headers[2] is None
    else:
        for header, entry in zip(headers, log, strict=True):  # a whole second at least 4 s after the request
            ahead = parsedate_to_datetime(header).timestamp() - entry.wall_time
            assert 4 <= ahead < 5 + (entry.answered - entry.time)  # type: ignore[operator]


def test_a_dropped_connection_and_a_slow_answer() -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, faults=Faults(rate_drop=1.0, max_consecutive=1)) as api:
        client = Client(api)
        with pytest.raises(requests.ConnectionError):
            client.get("/List")
        assert client.get("/List").status_code == 200
        assert [(entry.fault, entry.status) for entry in api.data_log()] == [("drop", 0), (None, 200)]
    faults = Faults(rate_slow=1.0, slow_seconds=0.5, max_consecutive=1)
    with EmailV1Emulator(now=NOW, sizes=SIZES, faults=faults) as api:
        client = Client(api)
        with pytest.raises(requests.Timeout):
            client.session.get(api.base_url + "/List", timeout=0.1)
        assert client.get("/List").status_code == 200


def test_the_token_endpoint_has_its_own_faults() -> None:
    for knob, status in (("token_rate_500", 500), ("token_rate_429", 429)):
        with EmailV1Emulator(now=NOW, sizes=SIZES, faults=Faults(**{knob: 1.0}, max_consecutive=1)) as api:
            assert token_response(api).status_code == status
            assert token_response(api).status_code == 200


def test_latency_is_added_before_every_answer() -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, faults=Faults(latency_ms=60)) as api:
        client = Client(api)
        client.get("/List")
    assert all(entry.answered - entry.time >= 0.06 for entry in api.request_log)  # type: ignore[operator]


# ---------------------------------------------------------------- the request log


def test_the_log_keeps_the_query_as_sent_the_raw_cursor_the_token_and_the_times(fresh: EmailV1Emulator) -> None:
    client = Client(fresh)
    cursor = client.get(f"/List/{LARGE}/Contact", count=10).json()["nextPageCursor"]
    client.get(f"/List/{LARGE}/Contact", count=10, cursor=cursor)
    first, second = fresh.data_log()
    assert (first.method, first.path, first.status, first.records) == (
        "GET",
        f"/email/v1/List/{LARGE}/Contact",
        200,
        10,
    )
    assert first.auth_scheme == "Bearer" and first.token == client.session.headers["Authorization"][7:]
    assert second.query["cursor"] == cursor and "%2B%2B%2B%2B%2F%2F%2F%2F" in second.raw_query
    assert first.time <= first.answered <= second.time  # type: ignore[operator]


# ---------------------------------------------------------------- what the connector must emit


def test_to_utc_is_the_connectors_conversion() -> None:
    assert to_utc("2019-01-14T12:44:40") == "2019-01-14T17:44:40Z"  # EST
    assert to_utc("2015-08-31T16:02:41.65") == "2015-08-31T20:02:41.65Z"  # EDT, fraction kept as sent
    assert to_utc("2025-07-01T00:00:00.1234567") == "2025-07-01T04:00:00.1234567Z"
    assert to_utc("2025-11-02T01:30:00") == "2025-11-02T05:30:00Z"  # ambiguous: fold 0 (EDT)
    assert to_utc("2025-03-09T02:30:00") == "2025-03-09T07:30:00Z"  # missing: fold 0 (the EST offset)
    assert to_utc(SENTINEL) is None and to_utc(None) is None
    with pytest.raises(ValueError):
        to_utc("2025-03-09T02:30:00Z")


def _read_like_a_connector(client: Client, stream: str) -> list[dict[str, Any]]:
    """A minimal reader of the v1 API that follows the contract's rules, for the oracle to be checked against."""
    out: list[dict[str, Any]] = []

    def emit(record: dict[str, Any], **parents: Any) -> None:
        out.append({k: to_utc(v) if k in DATETIME_FIELDS else v for k, v in record.items()} | parents)

    def answered(path: str, **params: Any) -> list[dict[str, Any]] | None:
        response = client.get(path, **params)
        if response.status_code == 404:
            return None  # a list deleted between the parent and the child read
        body = response.json()
        rows = body["data"]
        while body.get("nextPageCursor"):
            body = client.get(path, **params, cursor=body["nextPageCursor"]).json()
            rows += body["data"]
        return rows

    if stream_named(stream).records is not None:
        return _read_by_the_table(client, stream)
    lists = client.data("/List")
    if stream == "lists":
        return [emit(record) or out[-1] for record in lists]
    for lst in lists:
        list_id, base = lst["listId"], f"/List/{lst['listId']}"
        simple = {
            "campaigns": "Campaign",
            "segmentation_field_groups": "SegmentationFieldGroup",
            "events": "Event",
            "event_groups": "EventGroup",
            "saved_audiences": "SavedAudience",
            "conversations": "Conversation",
            "transactional_messages": "TransactionalMessage",
        }
        if stream in simple:
            for record in answered(f"{base}/{simple[stream]}") or []:
                emit(record, listId=list_id)
        elif stream == "segmentation_fields":
            for group in answered(f"{base}/SegmentationFieldGroup") or []:
                for record in client.data(
                    f"{base}/SegmentationFieldGroup/{group['segmentationFieldGroupId']}/SegmentationField"
                ):
                    emit(record, listId=list_id)
        elif stream == "contacts":
            for state in ("Subscribed", "Unsubscribed"):
                for record in answered(f"{base}/Contact", subscriptionState=state, count=5000) or []:
                    latest = (
                        record["unsubscribeDate"]
                        if state == "Unsubscribed"
                        else record.get("resubscribeDate") or record["subscribeDate"]
                    )
                    emit(record, listId=list_id, subscriptionStateDate=to_utc(latest))
        elif stream.startswith(("message", "messages")):
            for message in answered(f"{base}/Message", count=5000) or []:
                _read_message_children(client, stream, base, list_id, message, emit)
        elif stream.startswith("conversation_"):
            for conversation in answered(f"{base}/Conversation") or []:
                _read_conversation_children(client, stream, base, list_id, conversation["conversationId"], emit)
        elif stream == "transactional_message_activity":
            for message in answered(f"{base}/TransactionalMessage") or []:
                tid = message["transactionalMessageId"]
                for record in client.walk(f"{base}/TransactionalMessage/{tid}/Activity", count=5000):
                    emit(record, listId=list_id, transactionalMessageId=tid)
    return out


def _read_message_children(
    client: Client, stream: str, base: str, list_id: int, message: dict[str, Any], emit: Any
) -> None:
    mid = message["messageId"]
    parents = {"listId": list_id, "messageId": mid, "messageSendDate": to_utc(message["sendDate"])}
    if stream == "messages":
        emit(message, listId=list_id)
    elif stream == "message_details":
        emit(client.data(f"{base}/Message/{mid}"), **parents)
    elif stream == "message_summary":
        emit(client.data(f"{base}/Message/{mid}/Summary"), **parents)
    elif stream in ("message_links", "message_link_clickers"):
        for link in client.walk(f"{base}/Message/{mid}/Link", count=5000):
            if stream == "message_links":
                emit(link, **parents)
                continue
            for click in client.walk(f"{base}/Message/{mid}/Link/{link['linkId']}/Clicker", count=5000):
                emit(click, **parents, linkId=link["linkId"])
    elif stream == "message_activity":
        for record in client.walk(f"{base}/Message/{mid}/Activity", count=5000):
            emit(record, **parents)


def _read_conversation_children(client: Client, stream: str, base: str, list_id: int, cid: int, emit: Any) -> None:
    parents = {"listId": list_id, "conversationId": cid}
    if stream == "conversation_summary":
        emit(client.data(f"{base}/Conversation/{cid}/Summary"), **parents)
        return
    for message in client.walk(f"{base}/Conversation/{cid}/Message", count=5000, includePreviousVersions="true"):
        mid = message["messageId"]
        if stream == "conversation_messages":
            emit(message, **parents)
        elif stream == "conversation_message_summary":
            emit(client.data(f"{base}/Conversation/{cid}/Message/{mid}/Summary"), **parents, messageId=mid)
        elif stream == "conversation_message_activity":
            for record in client.walk(f"{base}/Conversation/{cid}/Message/{mid}/Activity", count=5000):
                emit(record, **parents, messageId=mid)


def _read_by_the_table(client: Client, stream: str) -> list[dict[str, Any]]:
    """A reader of a stream whose records the stream table gives, from its route alone: each record of its
    parent stream names the route's ids with its primary key, in order, and adds that key to the rows."""
    definition = stream_named(stream)
    assert definition.parent is not None
    if stream_named(definition.parent).records is None:
        parents = _read_like_a_connector(client, definition.parent)
    else:
        parents = _read_by_the_table(client, definition.parent)
    out = []
    for parent in parents:
        fields = {name: parent[name] for name in PRIMARY_KEYS[definition.parent]}
        path = "/" + definition.route.path.format(**dict(zip(definition.route.id_names, fields.values(), strict=True)))
        paging = {"count": 5000} if definition.route.envelope.paged else {}
        response = client.get(path, **paging)
        if response.status_code == 404:  # a list deleted between the parent and the child read
            continue
        body = response.json()
        rows = body["data"]
        while body.get("nextPageCursor"):
            body = client.get(path, **paging, cursor=body["nextPageCursor"]).json()
            rows += body["data"]
        out += [{k: to_utc(v) if k in DATETIME_FIELDS else v for k, v in row.items()} | fields for row in rows]
    return out


@pytest.mark.parametrize("stream", STREAMS)
def test_the_expected_output_is_what_a_reader_following_the_rules_gets(
    api: EmailV1Emulator, client: Client, stream: str
) -> None:
    expected = api.expected_records(stream)
    assert _read_like_a_connector(client, stream) == expected
    assert expected or stream in ()  # every stream has records
    keys = [tuple(record[name] for name in PRIMARY_KEYS[stream]) for record in expected]
    assert len(set(keys)) == len(keys), "primary keys are unique"
    datetimes = [
        v
        for record in expected
        for k, v in record.items()
        if k in DATETIME_FIELDS | {"messageSendDate", "subscriptionStateDate"} and v is not None
    ]
    assert all(value.endswith("Z") for value in datetimes)


def test_the_expected_output_filters_messages_by_window_tests_and_versions(api: EmailV1Emulator) -> None:
    since = NOW - timedelta(days=120)
    messages = api.expected_records("messages", sent_since=since)
    assert messages and all(since.isoformat()[:19] <= m["sendDate"][:19] <= "2026-03-01T17:00:00" for m in messages)
    assert {m["messageId"] for m in api.expected_records("message_summary", sent_since=since)} == {
        m["messageId"] for m in messages
    }
    assert (
        len(api.expected_records("messages", include_test_messages=True)) == len(api.expected_records("messages")) + 4
    )
    every = api.expected_records("conversation_messages")
    current = api.expected_records("conversation_messages", include_previous_versions=False)
    assert len(every) == 12 and len(current) == 8
    rows = api.expected_records("transactional_message_activity", sent_since=since)
    assert rows and all(r["sendDate"] >= since.isoformat()[:19] for r in rows)
    assert [r["listId"] for r in api.expected_records("lists")] == [LARGE, SMALL, EMPTY, GONE]
    assert GONE not in {r["listId"] for r in api.expected_records("campaigns")}
    values = api.expected_records("contacts", profile_field_ids=[40_002])
    assert any(v["segmentationFieldValues"] for v in values)


# ---------------------------------------------------------------- the request model


def test_the_request_model_counts_what_a_reader_requests(api: EmailV1Emulator, client: Client) -> None:
    counted = {}
    for stream in STREAMS:
        api.clear_log()
        _read_like_a_connector(client, stream)
        made = [entry for entry in api.data_log() if not entry.path.endswith(("/List",))]
        counted[stream] = len(made) + (1 if stream == "lists" else 0)
    model = api.request_counts(STREAMS, page_size=5000)
    for stream in STREAMS:
        chain, own = stream_named(stream).parent, model[stream]
        while chain not in (None, "lists"):  # the reader also reads the parents of what it reads
            own += model[chain]
            chain = stream_named(chain).parent
        assert counted[stream] == own, stream
    assert api.expected_request_count(["lists", "campaigns"]) == 1 + 4


def test_the_request_model_follows_page_size_and_paging_quirks() -> None:
    with EmailV1Emulator(now=NOW, sizes=SIZES, paging=Paging(short_pages=True, empty_final_page=True)) as api:
        client = Client(api)
        message = message_ids(client)[8]
        api.clear_log()
        client.walk(f"/List/{LARGE}/Message/{message}/Activity", count=25)
        made = len(api.data_log())
    assert made > SIZES.recipients_per_message // 25 + 1
    one_message = api.request_counts(["message_activity"], page_size=25, sent_since=NOW - timedelta(days=400))
    per_message = one_message["message_activity"] // sum(
        1 for m in api.expected_records("messages", sent_since=NOW - timedelta(days=400)) if m["listId"] == LARGE
    )
    assert per_message == made


# ---------------------------------------------------------------- lifecycle and command line


def test_stop_closes_the_port_and_kept_alive_connections() -> None:
    api = EmailV1Emulator(now=NOW, sizes=SIZES)
    api.start()
    client = Client(api)
    assert client.get("/List").status_code == 200
    api.stop()
    with pytest.raises(requests.ConnectionError):
        client.get("/List")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_command_line_serves_token_and_data_until_a_signal(signum: int) -> None:
    command = [
        sys.executable,
        "-m",
        "listrak_emulators.email_v1",
        "--port",
        "0",
        "--now",
        "2026-03-01T17:00:00Z",
        "--contacts-per-list",
        "50",
        "--latency-ms",
        "1",
        "--fault-rate",
        "0",
    ]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline().strip() for _ in range(4)]
            base_url = lines[0].removeprefix("listening on ")
            token_url = lines[1].removeprefix("token url ")
            client_id, secret = lines[2].removeprefix("client id "), lines[3].removeprefix("client secret ")
            assert base_url.endswith("/email/v1") and token_url.endswith("/OAuth2/Token")
            form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
            access = requests.post(token_url, data=form, timeout=5).json()["access_token"]
            lists = requests.get(base_url + "/List", headers={"Authorization": f"Bearer {access}"}, timeout=5)
            assert [record["listId"] for record in lists.json()["data"]] == [LARGE, SMALL, EMPTY, GONE]
            server.send_signal(signum)
            assert server.wait(timeout=5) == 0
        finally:
            if server.poll() is None:
                server.kill()
