"""The nova:instance parser against every domain XML fixture."""

from __future__ import annotations

import pytest

from enricher import exceptions
from enricher.tenancy import metadata, model
from tests import fixtures

EXPECTED = fixtures.expected()
NOVA_FILES = sorted(n for n, e in EXPECTED.items() if e.get("nova"))
NON_NOVA_FILES = sorted(n for n, e in EXPECTED.items()
                        if e.get("well_formed") and not e.get("nova"))


def _name(value: str | None) -> str | None:
    """Owner names Nova wrote as N/A are unknown."""
    return None if value == model.UNKNOWN_NAME else value


def _assert_matches(tenancy: model.Tenancy, nova: dict, uuid: str) -> None:
    assert tenancy.source == model.SOURCE_METADATA
    assert tenancy.instance_uuid == uuid
    assert tenancy.instance_name == nova["display_name"]
    assert tenancy.package_version == nova["package_version"]
    assert tenancy.project_id == nova["project_id"]
    assert tenancy.project_name == _name(nova["project_name"])
    assert tenancy.user_id == nova["user_id"]
    assert tenancy.user_name == _name(nova["user_name"])
    flavor = nova["flavor"] or {}
    assert tenancy.flavor == flavor.get("name")
    assert tenancy.flavor_id == flavor.get("id")
    assert tenancy.flavor_vcpus == flavor.get("vcpus")
    assert tenancy.flavor_ram_mb == flavor.get("memory")
    assert tenancy.flavor_disk_gb == flavor.get("disk")
    assert tenancy.image_id == nova["image_uuid"]
    root = nova["root"] or {}
    assert tenancy.root_type == root.get("type")
    assert tenancy.root_id == root.get("uuid")
    ports = [{"uuid": p.uuid,
              "ips": [{"type": i.type, "address": i.address, "ipVersion": i.version}
                      for i in p.ips]}
             for p in tenancy.ports]
    assert ports == (nova["ports"] or [])


@pytest.mark.parametrize("name", NOVA_FILES)
def test_domain_xml_as_xmldesc_returns_it(name: str) -> None:
    entry = EXPECTED[name]
    tenancy = metadata.tenancy_from_domain_xml(
        (fixtures.DOMAIN_XML / name).read_bytes())
    _assert_matches(tenancy, entry["nova"], entry["domain_uuid"])


@pytest.mark.parametrize("name", NOVA_FILES)
def test_getmetadata_output_with_namespace_stripped(name: str) -> None:
    entry = EXPECTED[name]
    version = entry["nova"]["namespace_used"].rsplit("/", 1)[1]
    path = fixtures.GETMETADATA / ("%s.nova-%s.xml" % (entry["domain_name"], version))
    tenancy = metadata.tenancy_from_metadata(path.read_text(), entry["domain_uuid"])
    _assert_matches(tenancy, entry["nova"], entry["domain_uuid"])


def test_every_getmetadata_file_parses() -> None:
    files = sorted(fixtures.GETMETADATA.glob("*.xml"))
    assert len(files) == 8
    for path in files:
        assert metadata.tenancy_from_metadata(path.read_text()).instance_name


def test_1_0_element_of_a_dual_namespace_domain_is_read_too() -> None:
    old = metadata.tenancy_from_metadata(
        (fixtures.GETMETADATA / "instance-00000005.nova-1.0.xml").read_text())
    new = metadata.tenancy_from_metadata(
        (fixtures.GETMETADATA / "instance-00000005.nova-1.1.xml").read_text())
    assert old.ports == ()  # 1.0 has no ports
    assert len(new.ports) == 2
    assert old.project_id == new.project_id


@pytest.mark.parametrize("name", NON_NOVA_FILES)
def test_non_nova_domains_have_no_tenancy(name: str) -> None:
    with pytest.raises(exceptions.MetadataMissing):
        metadata.tenancy_from_domain_xml((fixtures.DOMAIN_XML / name).read_bytes())


def test_not_wellformed_file_is_malformed() -> None:
    assert EXPECTED["nova-1.1-not-wellformed.xml"]["well_formed"] is False
    with pytest.raises(exceptions.MetadataMalformed, match="not well-formed"):
        metadata.tenancy_from_domain_xml(
            (fixtures.DOMAIN_XML / "nova-1.1-not-wellformed.xml").read_bytes())


def test_partial_metadata_is_incomplete() -> None:
    tenancy = metadata.tenancy_from_domain_xml(
        (fixtures.DOMAIN_XML / "nova-1.1-partial-owner-uuids-only.xml").read_bytes())
    assert not tenancy.complete
    assert {"project_name", "user_name", "flavor"} <= set(tenancy.missing)
    assert tenancy.project_id == "231573b9b3b69a8b660b597946abf47e"


def test_complete_metadata_is_complete() -> None:
    tenancy = metadata.tenancy_from_domain_xml(
        (fixtures.DOMAIN_XML / "nova-1.1-instance-0000000a.xml").read_bytes())
    assert tenancy.complete


def test_label_values_are_kept_exactly_as_written() -> None:
    text = ('<instance><name>  spaced\n"quoted" \\ ünï  </name><owner>'
            '<project uuid="p">  Team  A </project></owner></instance>')
    tenancy = metadata.tenancy_from_metadata(text, "u")
    assert tenancy.instance_name == '  spaced\n"quoted" \\ ünï  '
    assert tenancy.project_name == "  Team  A "


def test_entities_are_not_expanded() -> None:
    text = ('<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY x "boom">]>'
            "<instance><name>&x;</name></instance>")
    with pytest.raises(exceptions.MetadataMalformed, match="DTD"):
        metadata.tenancy_from_metadata(text)


def test_external_entities_are_never_fetched(tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("TOP SECRET")
    text = ('<?xml version="1.0"?><!DOCTYPE instance [<!ENTITY x SYSTEM "file://%s">]>'
            "<instance><name>&x;</name></instance>" % secret)
    with pytest.raises(exceptions.MetadataMalformed):
        metadata.tenancy_from_metadata(text)


def test_oversized_xml_is_rejected_before_parsing() -> None:
    text = "<instance><name>%s</name></instance>" % ("x" * metadata.MAX_XML_BYTES)
    with pytest.raises(exceptions.MetadataMalformed, match="limit"):
        metadata.tenancy_from_metadata(text)


def test_non_integer_flavor_field_is_malformed() -> None:
    text = '<instance><flavor name="m1"><vcpus>many</vcpus></flavor></instance>'
    with pytest.raises(exceptions.MetadataMalformed, match="vcpus"):
        metadata.tenancy_from_metadata(text)


def test_wrong_root_element_is_malformed() -> None:
    with pytest.raises(exceptions.MetadataMalformed, match="instance"):
        metadata.tenancy_from_metadata("<flavor/>")


def test_merge_fills_only_unknown_fields() -> None:
    meta = model.Tenancy(project_id="p1", project_name=None, flavor="m1",
                         source=model.SOURCE_METADATA)
    api = model.Tenancy(project_id="p1", project_name="team", flavor="m2",
                        user_id="u", source=model.SOURCE_NOVA_API)
    merged = meta.merged_with(api)
    assert merged.project_id == "p1"
    assert merged.flavor == "m1"
    assert merged.project_name == "team"
    assert merged.user_id == "u"
    assert merged.source == model.SOURCE_MERGED
    assert model.Tenancy().merged_with(api).source == model.SOURCE_NOVA_API
    assert meta.merged_with(model.Tenancy()) is meta


def test_merge_never_pairs_an_id_with_another_ids_name() -> None:
    meta = model.Tenancy(project_id="p1", user_id="u1", source=model.SOURCE_METADATA)
    api = model.Tenancy(project_id="p2", project_name="other", user_id="u1",
                        user_name="bob", source=model.SOURCE_NOVA_API)
    merged = meta.merged_with(api)
    assert merged.project_id == "p1" and merged.project_name is None
    assert merged.user_name == "bob"
