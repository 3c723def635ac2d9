"""The user's page states what the connector does, from the same data the connector uses."""

from __future__ import annotations

import re
from pathlib import Path

from source_listrak.area_check import areas_table
from source_listrak.source import SourceListrak

DOCS = Path(__file__).resolve().parents[1] / "docs" / "listrak.md"
EMAIL_API = {
    "credentials": {"auth_type": "oauth2_client_credentials", "client_id": "id", "client_secret": "docs-secret-2f9c"}
}


def test_the_api_areas_table_is_the_one_the_connector_decides_with() -> None:
    block = re.search(r"<!-- api-areas:start -->\n(.*?)\n<!-- api-areas:end -->", DOCS.read_text(), re.S)
    assert block is not None, "docs/listrak.md lost its api-areas block"
    expected = areas_table(SourceListrak(config=EMAIL_API).resolved_manifest)
    assert block.group(1) == expected, "regenerate the block with source_listrak.area_check.areas_table:\n" + expected
