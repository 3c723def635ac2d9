"""Config validation messages that name the field and say what it accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

MISSING_CREDENTIALS = (
    "credentials are required: OAuth2 client credentials (client_id and client_secret) for Listrak's Email API, "
    "or an API key (also accepted as `api_key` at the top level)."
)


def _allowed(schema: Mapping[str, Any]) -> str:
    kind = {"integer": "an integer", "number": "a number", "boolean": "true or false", "string": "a string",
            "object": "an object"}
    text = kind.get(str(schema.get("type")), "a value")
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum")
    if "exclusiveMinimum" in schema and high is not None:
        text += f" greater than {low} and at most {high}"
    elif low is not None and high is not None:
        text += f" from {low} to {high}"
    if schema.get("minLength"):
        text = "a non-empty string"
    if schema.get("pattern_descriptor"):  # the form's format hint, not the regular expression
        text += f" of the form {schema['pattern_descriptor']}"
    elif schema.get("pattern"):
        text += f" matching {schema['pattern']}"
    return text


def _describe(error: ValidationError, within: tuple[str, ...] = ()) -> str:
    """One sentence for ``error``; ``within`` is the path of the object that was validated on its own."""
    field = ".".join(str(part) for part in (*within, *error.absolute_path))
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, Mapping) else {}
        missing = next((str(name) for name in error.validator_value if name not in present), "")
        if not field and missing == "credentials":
            return MISSING_CREDENTIALS
        return f"{'.'.join(filter(None, [field, missing]))} is required."
    if error.validator == "additionalProperties":
        return f"{field or 'config'}: {error.message}."
    # A value under `credentials` may be the key itself, put in the wrong place: never echo it.
    secret = "airbyte_secret" in error.schema or [*within, *error.absolute_path][:1] == ["credentials"]
    got = "" if secret else f" (got {error.instance!r})"
    return f"{field} must be {_allowed(error.schema)}{got}."


def _credential_problems(credentials: Any, schema: Mapping[str, Any]) -> list[str]:
    options = {
        option["properties"]["auth_type"]["const"]: option for option in schema.get("oneOf", [])
    }
    auth_type = credentials.get("auth_type") if isinstance(credentials, Mapping) else None
    if auth_type not in options:
        return [f"credentials.auth_type must be one of {sorted(options)} (got {auth_type!r})."]
    errors = Draft7Validator(options[auth_type]).iter_errors(credentials)
    return [_describe(error, within=("credentials",)) for error in errors]


def config_problems(config: Mapping[str, Any], spec_schema: Mapping[str, Any]) -> list[str]:
    """One sentence per problem, in field order; empty when the config is valid.

    Options of the API the credentials do not choose are not checked (their spec ``group``). The spec does
    not require ``credentials`` (a flat configuration must pass it before it is nested), so it is required
    here, where the configuration is already nested."""
    ignored = _other_api_options(config, spec_schema)
    problems = [] if isinstance(config.get("credentials"), Mapping) else [MISSING_CREDENTIALS]
    for error in sorted(Draft7Validator(spec_schema).iter_errors(config), key=lambda e: list(e.path)):
        path = list(error.absolute_path)
        if path[:1] and path[0] in ignored:
            continue
        if path[:1] == ["credentials"] and error.validator == "oneOf":
            problems += _credential_problems(error.instance, spec_schema["properties"]["credentials"])
        else:
            problems.append(_describe(error))
    if "api_timezone" not in ignored and not problems:
        problems += _time_zone_problems(config.get("api_timezone"))
    return list(dict.fromkeys(problems))  # a value can break two rules with the same sentence


def uses_email_api(config: Mapping[str, Any]) -> bool:
    credentials = config.get("credentials")
    return isinstance(credentials, Mapping) and credentials.get("auth_type") == "oauth2_client_credentials"


def _other_api_options(config: Mapping[str, Any], spec_schema: Mapping[str, Any]) -> set[str]:
    other_group = "sdk_example" if uses_email_api(config) else "email_api"
    return {name for name, option in spec_schema["properties"].items() if option.get("group") == other_group}


def _time_zone_problems(zone: Any) -> list[str]:
    if zone is None:
        return []
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return [f"api_timezone must be a time zone name such as America/New_York (got {zone!r})."]
    return []
