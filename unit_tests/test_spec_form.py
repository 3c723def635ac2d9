"""The spec as the Airbyte UI renders it: a form of groups, fields and credential options. Every field a
user sees has a title of its own and a description; the titles name things users know."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import pytest

from unit_tests.conftest import CliRun

CREDENTIAL_OPTIONS = [
    "Listrak Email API (OAuth2 client credentials)",
    "API key (REST contract)",
    "API key and account id (Basic)",
]
INTERNAL_WORDS = re.compile(r"seed|fivetran|sdk|emulator|manifest|\.ya?ml|\.json", re.IGNORECASE)


@dataclass(frozen=True)
class Field:
    path: str  # e.g. "credentials[API key (REST contract)].api_key"
    title: str
    description: str
    group: str
    hidden: bool


def render(spec: dict[str, Any]) -> tuple[list[Field], dict[str, list[Field]]]:
    """The top-level fields in form order, and the fields of each credential option by its title."""
    properties = spec["properties"]
    top = [
        Field(name, s.get("title", ""), s.get("description", ""), s.get("group", ""), bool(s.get("airbyte_hidden")))
        for name, s in sorted(properties.items(), key=lambda item: item[1].get("order", 1000))
    ]
    options = {}
    for option in properties["credentials"]["oneOf"]:
        options[option.get("title", "")] = [
            Field(
                f"credentials[{option.get('title')}].{name}",
                s.get("title", ""),
                s.get("description", ""),
                "connection",
                bool(s.get("airbyte_hidden")),
            )
            for name, s in sorted(option["properties"].items(), key=lambda item: item[1].get("order", 1000))
        ]
    return top, options


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    from source_listrak.source import SourceListrak

    return SourceListrak().spec(logging.getLogger("airbyte")).connectionSpecification


def test_every_field_and_option_has_a_title_and_a_description(spec: dict[str, Any]) -> None:
    top, options = render(spec)
    fields = top + [field for option in options.values() for field in option]

    assert [f.path for f in fields if not f.title.strip()] == []
    assert [f.path for f in fields if not f.description.strip()] == []
    assert all(option["description"].strip() for option in spec["properties"]["credentials"]["oneOf"])


def test_titles_are_unique_in_the_form_and_in_each_credential_option(spec: dict[str, Any]) -> None:
    top, options = render(spec)
    shown = [f.title for f in top if not f.hidden]
    groups = [group["title"] for group in spec["groups"]]

    assert len(shown) == len(set(shown)), sorted(t for t in shown if shown.count(t) > 1)
    assert len(groups) == len(set(groups))
    assert list(options) == CREDENTIAL_OPTIONS
    for title, fields in options.items():
        names = [f.title for f in fields]
        assert len(names) == len(set(names)), title


def test_every_shown_field_belongs_to_a_group_in_a_stable_order(spec: dict[str, Any]) -> None:
    top, _ = render(spec)
    group_ids = {group["id"] for group in spec["groups"]}
    orders = [s["order"] for s in spec["properties"].values() if not s.get("airbyte_hidden")]

    assert {f.group for f in top if not f.hidden} <= group_ids
    assert len(orders) == len(set(orders))


def test_what_the_form_says_uses_no_internal_words(spec: dict[str, Any]) -> None:
    top, options = render(spec)
    texts = [group["title"] for group in spec["groups"]] + list(options)
    texts += [text for f in top + [f for o in options.values() for f in o] for text in (f.title, f.description)]

    assert [text for text in texts if INTERNAL_WORDS.search(text)] == []


def test_start_date_has_a_format_a_pattern_and_examples_that_match_it(spec: dict[str, Any]) -> None:
    start_date = spec["properties"]["start_date"]

    assert start_date["format"] == "date-time"
    assert start_date["pattern_descriptor"]
    assert start_date["examples"]
    for example in start_date["examples"]:
        assert re.fullmatch(start_date["pattern"], example), example
    for wrong in ["01/02/2026", "2026-1-2", "yesterday"]:
        assert not re.fullmatch(start_date["pattern"], wrong), wrong


def test_every_example_matches_its_fields_pattern(spec: dict[str, Any]) -> None:
    for name, schema in spec["properties"].items():
        for example in schema.get("examples", []):
            if "pattern" in schema:
                assert re.search(schema["pattern"], example), (name, example)


def test_the_command_prints_the_same_spec(cli: Any, spec: dict[str, Any]) -> None:
    result: CliRun = cli("spec")

    [message] = result.of_type("SPEC")
    assert message["spec"]["connectionSpecification"] == spec
