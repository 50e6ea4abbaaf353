"""The Nova server -> Tenancy mapping over the shared API samples."""

from __future__ import annotations

import json

import pytest

from enricher.exceptions import NovaLookupFailed
from enricher.tenancy import model, nova_server
from tests import fixtures


def _sample(relative: str) -> dict:
    return json.loads((fixtures.NOVA_API / relative).read_text())


def test_tenancy_from_v2_1_admin_sample():
    server = _sample("servers/servers-details-resp.json")["servers"][0]
    assert nova_server.flavor_id(server) == "1"
    assert nova_server.embedded_flavor(server) is None
    assert nova_server.instance_name(server) == "instance-00000001"
    tenancy = nova_server.tenancy_from_server(server, nova_server.flavor_from_body(
        _sample("flavors/flavor-get-resp.json")["flavor"]))
    assert (tenancy.instance_uuid, tenancy.project_id, tenancy.user_id) == (
        "f5dc173b-6804-445a-a6d8-c705dad5b5eb", "6f70656e737461636b20342065766572", "admin")
    assert (tenancy.flavor, tenancy.flavor_id, tenancy.flavor_ram_mb) == ("m1.tiny", "1", 512)
    assert (tenancy.root_type, tenancy.source) == ("image", model.SOURCE_NOVA_API)


def test_tenancy_from_v2_47_embedded_flavor():
    server = _sample("servers/v2.47/servers-details-resp.json")["servers"][0]
    assert nova_server.flavor_id(server) is None
    flavor = nova_server.embedded_flavor(server)
    assert flavor == nova_server.Flavor("m1.tiny.specs", 1, 512, 1, None)
    tenancy = nova_server.tenancy_from_server(server, flavor)
    assert (tenancy.flavor, tenancy.flavor_id, tenancy.flavor_vcpus) == ("m1.tiny.specs",
                                                                         None, 1)


def test_tenancy_from_v2_69_minimal_record():
    server = _sample("servers/v2.69/servers-details-resp.json")["servers"][0]
    tenancy = nova_server.tenancy_from_server(server, None)
    assert tenancy.instance_uuid == "b6b0410f-b65f-4473-855e-5d82a71759e0"
    assert tenancy.project_id == "6f70656e737461636b20342065766572"
    assert (tenancy.user_id, tenancy.flavor, tenancy.image_id) == (None, None, None)


def test_boot_from_volume_has_no_image():
    server = dict(_sample("servers/v2.100/server-get-resp.json")["server"], image="")
    tenancy = nova_server.tenancy_from_server(server, None)
    assert (tenancy.image_id, tenancy.root_type) == (None, "volume")


def test_names_are_taken_by_id():
    server = {"id": "6e6b8e3a-8d0c-4f1e-9b7a-0d1c2e3f4a5b", "tenant_id": "p1",
              "user_id": "u1"}
    tenancy = nova_server.tenancy_from_server(server, None, {"p1": "acme", "p2": "x"},
                                              {"u2": "bob"})
    assert (tenancy.project_name, tenancy.user_name) == ("acme", None)


def test_odd_fields_are_tolerated():
    server = {"id": "6E6B8E3A-8D0C-4F1E-9B7A-0D1C2E3F4A5B", "flavor": "m1.tiny",
              "image": None, "tenant_id": 42, "name": ["x"],
              nova_server.INSTANCE_NAME_ATTR: ""}
    assert nova_server.flavor_id(server) is None
    assert nova_server.embedded_flavor(server) is None
    assert nova_server.instance_name(server) is None
    assert nova_server.tenancy_from_server(server, None) == model.Tenancy(
        instance_uuid="6e6b8e3a-8d0c-4f1e-9b7a-0d1c2e3f4a5b", source=model.SOURCE_NOVA_API)


def test_flavor_sizes_must_be_integers():
    flavor = nova_server.flavor_from_body({"name": "odd", "vcpus": True, "ram": "512",
                                           "disk": 1, "id": 7})
    assert flavor == nova_server.Flavor("odd", None, None, 1, "7")


@pytest.mark.parametrize("raw, uuid", [
    ("6E6B8E3A-8D0C-4F1E-9B7A-0D1C2E3F4A5B", "6e6b8e3a-8d0c-4f1e-9b7a-0d1c2e3f4a5b"),
    ("6e6b8e3a8d0c4f1e9b7a0d1c2e3f4a5b", "6e6b8e3a-8d0c-4f1e-9b7a-0d1c2e3f4a5b"),
    ("Not-A-UUID", "not-a-uuid"),
])
def test_server_uuid_is_written_as_libvirt_does(raw, uuid):
    assert nova_server.server_uuid({"id": raw}) == uuid


@pytest.mark.parametrize("server", [{}, {"id": ""}, {"id": 7}])
def test_server_without_an_id_is_an_error(server):
    with pytest.raises(NovaLookupFailed, match="without an id"):
        nova_server.server_uuid(server)
