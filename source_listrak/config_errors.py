"""Config validation messages that name the field and say what it accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError


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
    if schema.get("pattern"):
        text += f" matching {schema['pattern']}"
    return text


def _describe(error: ValidationError) -> str:
    field = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1]
        if not field and missing == "credentials":
            return "credentials are required: an API key (or `api_key` at the top level, as in seed 000)."
        return f"{'.'.join(filter(None, [field, missing]))} is required."
    if error.validator == "additionalProperties":
        return f"{field or 'config'}: {error.message}."
    # A value under `credentials` may be the key itself, put in the wrong place: never echo it.
    secret = "airbyte_secret" in error.schema or list(error.absolute_path)[:1] == ["credentials"]
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
    return [_describe(error) for error in errors]


def config_problems(config: Mapping[str, Any], spec_schema: Mapping[str, Any]) -> list[str]:
    """One sentence per problem, in field order; empty when the config is valid."""
    problems = []
    for error in sorted(Draft7Validator(spec_schema).iter_errors(config), key=lambda e: list(e.path)):
        if list(error.absolute_path)[:1] == ["credentials"] and error.validator == "oneOf":
            problems += [
                "credentials." + problem if not problem.startswith("credentials") else problem
                for problem in _credential_problems(error.instance, spec_schema["properties"]["credentials"])
            ]
        else:
            problems.append(_describe(error))
    return list(dict.fromkeys(problems))  # a value can break two rules with the same sentence
