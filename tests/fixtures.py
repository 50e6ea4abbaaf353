"""Paths to the shared ground-truth fixtures (read-only: copy before changing)."""

from __future__ import annotations

import json
import os
import pathlib

_HERE = pathlib.Path(__file__).resolve().parent
SHARED = pathlib.Path(os.environ.get(
    "ENRICHER_SHARED_FIXTURES", _HERE.parent.parent / "shared" / "fixtures"))
DOMAIN_XML = SHARED / "domain-xml"
GETMETADATA = DOMAIN_XML / "getmetadata"
TEST_NODE = DOMAIN_XML / "test-node.xml"
NOVA_API = SHARED / "nova-api"
KEYSTONE_API = SHARED / "keystone-api"
GOLDEN = _HERE / "fixtures" / "golden"


def expected() -> dict:
    """The fixture author's summary of every domain XML file."""
    return json.loads((DOMAIN_XML / "expected.json").read_text())


def test_node_uri(path: pathlib.Path = TEST_NODE) -> str:
    return "test://" + str(path.resolve())
