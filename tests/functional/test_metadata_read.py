"""Every shared domain XML in the test driver, its tenancy read as the sampler reads it."""

from __future__ import annotations

import pytest

from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.tenancy import model
from enricher.tenancy.resolver import Resolver
from tests import fixtures
from tests.unit.test_metadata import EXPECTED, NOVA_FILES, assert_matches

NON_NOVA_FILES = sorted(n for n, e in EXPECTED.items()
                        if e.get("well_formed") and not e.get("nova"))


@pytest.fixture(scope="module")
def tenancies() -> dict[str, model.Tenancy]:
    """Tenancy by domain UUID of every domain of the test node."""
    connection = Connection(fixtures.test_node_uri())
    try:
        domains = {d.UUIDString(): d for d in connection.get().listAllDomains()}
        errors = ErrorCounts()
        result = Resolver(errors).resolve(domains)
        assert errors.get("metadata", "malformed") == 0
        return result
    finally:
        connection.close()


@pytest.mark.parametrize("name", NOVA_FILES)
def test_nova_domain_metadata(tenancies, name: str) -> None:
    entry = EXPECTED[name]
    assert_matches(tenancies[entry["domain_uuid"]], entry["nova"], entry["domain_uuid"])


@pytest.mark.parametrize("name", NON_NOVA_FILES)
def test_non_nova_domains_have_no_tenancy(tenancies, name: str) -> None:
    assert tenancies[EXPECTED[name]["domain_uuid"]] == model.Tenancy(
        source=model.SOURCE_NONE)


def test_partial_metadata_is_incomplete(tenancies) -> None:
    tenancy = tenancies[EXPECTED["nova-1.1-partial-owner-uuids-only.xml"]["domain_uuid"]]
    assert not tenancy.complete
    assert (tenancy.project_name, tenancy.user_name, tenancy.flavor) == (None, None, None)
    assert tenancy.project_id == "231573b9b3b69a8b660b597946abf47e"


def test_complete_metadata_is_complete(tenancies) -> None:
    assert tenancies[EXPECTED["nova-1.1-instance-0000000a.xml"]["domain_uuid"]].complete
