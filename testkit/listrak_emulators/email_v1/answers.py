"""What the emulator answers with: a status, body bytes, headers and the records the log counts; and the
API's error bodies, `{"status", "error", "message"}` (contract §5.1)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from listrak_emulators.http import ApiError

DATA_CONTENT_TYPE = "application/json; charset=utf-8"
TOKEN_CONTENT_TYPE = "application/json;charset=UTF-8"
HTML_CONTENT_TYPE = "text/html"
UNAUTHORIZED = "Authorization was denied for this request."
COMPACT = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":"))


@dataclass
class Answer:
    """A response to write: status, body bytes, headers; records is what the request log counts."""

    status: int
    body: bytes
    content_type: str = DATA_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    records: int = 0

    @classmethod
    def json(cls, status: int, body: Any, **knobs: Any) -> Answer:
        return cls(status, COMPACT.encode(body).encode(), **knobs)

    @classmethod
    def error(cls, error: ApiError) -> Answer:
        return cls.json(error.status, error.body())


def invalid(name: str) -> ApiError:
    return ApiError(400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {name}.")


def unauthorized() -> ApiError:
    return ApiError(401, "ERROR_UNAUTHORIZED", UNAUTHORIZED)


def not_located(names: Sequence[str]) -> ApiError:
    """404 naming every path id in order: "the listId, messageId, and messageLinkId supplied"."""
    if len(names) == 1:
        named = names[0]
    elif len(names) == 2:
        named = f"{names[0]} and {names[1]}"
    else:
        named = ", ".join(names[:-1]) + f", and {names[-1]}"
    return ApiError(
        404, "ERROR_UNABLE_TO_LOCATE_RESOURCE", f"Unable to locate a resource associated with the {named} supplied."
    )  # noqa: E501
