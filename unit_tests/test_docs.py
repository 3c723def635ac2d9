"""The user's page states what the connector does, from the same data the connector uses; every link in
what users read resolves to something that exists."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import yaml

from source_listrak.area_check import areas_table
from source_listrak.source import SourceListrak

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "listrak.md"
READ_BY_USERS = ["README.md", "docs/listrak.md", "CHANGELOG.md", "bench/README.md", "examples/listrak_pyairbyte.ipynb"]
# Pages outside the repository, each checked to exist (Airbyte's docs: the file in airbytehq/airbyte that
# the address is built from). A new external link is added here once it has been checked.
CHECKED_PAGES = {
    "https://airbyte.com",
    "https://docs.airbyte.com/developers/pyairbyte",  # docs/developers/pyairbyte/README.md
    "https://docs.airbyte.com/platform/operator-guides/using-custom-connectors",  # the same path, .md
}
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
EMAIL_API = {
    "credentials": {"auth_type": "oauth2_client_credentials", "client_id": "id", "client_secret": "docs-secret-2f9c"}
}


def test_the_api_areas_table_is_the_one_the_connector_decides_with() -> None:
    block = re.search(r"<!-- api-areas:start -->\n(.*?)\n<!-- api-areas:end -->", DOCS.read_text(), re.S)
    assert block is not None, "docs/listrak.md lost its api-areas block"
    expected = areas_table(SourceListrak(config=EMAIL_API).resolved_manifest)
    assert block.group(1) == expected, "regenerate the block with source_listrak.area_check.areas_table:\n" + expected


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    return path.read_text()


def anchors_of(path: Path) -> set[str]:
    return {slug(heading) for heading in re.findall(r"^#+ (.+)$", markdown_of(path), re.M)}


def test_every_link_users_read_resolves() -> None:
    broken = []
    for name in READ_BY_USERS:
        page = REPO / name
        for target in LINK.findall(markdown_of(page)):
            if target.startswith(("http://", "https://")):
                if target.rstrip("/") not in CHECKED_PAGES:
                    broken.append(f"{name}: {target} (not among the checked pages)")
                continue
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.is_file():
                broken.append(f"{name}: {target} (no such file)")
            elif anchor and anchor not in anchors_of(linked):
                broken.append(f"{name}: {target} (no such heading)")
    assert broken == []


def test_no_documentation_url_points_to_a_page_that_does_not_exist() -> None:
    metadata = yaml.safe_load((REPO / "metadata.yaml").read_text())["data"]
    spec = SourceListrak().spec(logging.getLogger("airbyte"))

    assert metadata.get("documentationUrl") in CHECKED_PAGES | {None}
    assert spec.documentationUrl in CHECKED_PAGES | {None}
