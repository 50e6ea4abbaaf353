"""Map a Nova ``/servers`` item and its flavor to a Tenancy.

The twin of ``metadata.py`` for the Nova API: pure functions over the JSON
Nova answers, at any compute microversion. From 2.47 a server embeds its
flavor (with ``original_name``); before that it names a flavor id, which the
client looks up through ``/flavors``.
"""

from __future__ import annotations

import dataclasses
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any

from enricher.exceptions import NovaLookupFailed
from enricher.tenancy import model

HOST_ATTR = "OS-EXT-SRV-ATTR:host"
INSTANCE_NAME_ATTR = "OS-EXT-SRV-ATTR:instance_name"


@dataclasses.dataclass(frozen=True, slots=True)
class Flavor:
    """What a server's flavor says about its size."""

    name: str | None
    vcpus: int | None = None
    ram_mb: int | None = None
    disk_gb: int | None = None
    id: str | None = None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def flavor_from_body(body: Mapping[str, Any]) -> Flavor:
    """A Flavor from a ``/flavors`` item or a 2.47+ embedded server flavor."""
    return Flavor(name=_str(body.get("original_name")) or _str(body.get("name")),
                  vcpus=_int(body.get("vcpus")), ram_mb=_int(body.get("ram")),
                  disk_gb=_int(body.get("disk")),
                  id=None if body.get("id") is None else str(body["id"]))


def _flavor_ref(server: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = server.get("flavor")
    return ref if isinstance(ref, dict) else {}


def embedded_flavor(server: Mapping[str, Any]) -> Flavor | None:
    """The flavor a 2.47+ server embeds, or None when it only names an id."""
    ref = _flavor_ref(server)
    return flavor_from_body(ref) if "original_name" in ref else None


def flavor_id(server: Mapping[str, Any]) -> str | None:
    """The flavor id a server before 2.47 names (None: embedded, or no flavor)."""
    ref = _flavor_ref(server)
    if "original_name" in ref or not ref.get("id"):
        return None
    return str(ref["id"])


def instance_name(server: Mapping[str, Any]) -> str | None:
    """The libvirt domain name Nova gave the server (admin-only attribute)."""
    return _str(server.get(INSTANCE_NAME_ATTR))


def server_uuid(server: Mapping[str, Any]) -> str:
    """The server id as libvirt writes a domain UUID (lower case, dashes)."""
    raw = server.get("id")
    if not isinstance(raw, str) or not raw:
        raise NovaLookupFailed("Nova returned a server without an id")
    try:
        return str(uuidlib.UUID(raw))
    except ValueError:
        return raw.lower()


def tenancy_from_server(server: Mapping[str, Any], flavor: Flavor | None,
                        project_names: Mapping[str, str | None] | None = None,
                        user_names: Mapping[str, str | None] | None = None
                        ) -> model.Tenancy:
    """The Tenancy of one ``/servers/detail`` item (any microversion).

    ``flavor`` is the server's flavor when known; the name mappings are by
    Keystone id.
    """
    project_names = project_names or {}
    user_names = user_names or {}
    project_id = _str(server.get("tenant_id"))
    user_id = _str(server.get("user_id"))
    image = server.get("image")
    image_id = _str(image.get("id")) if isinstance(image, dict) else None
    # Boot from volume: Nova answers image "" (string) instead of an object.
    root_type = "image" if image_id else ("volume" if image == "" else None)
    flavor = flavor or Flavor(name=None)
    return model.Tenancy(
        instance_uuid=server_uuid(server),
        instance_name=_str(server.get("name")),
        project_id=project_id,
        project_name=project_names.get(project_id) if project_id else None,
        user_id=user_id,
        user_name=user_names.get(user_id) if user_id else None,
        flavor=flavor.name,
        flavor_id=flavor.id,
        flavor_vcpus=flavor.vcpus,
        flavor_ram_mb=flavor.ram_mb,
        flavor_disk_gb=flavor.disk_gb,
        image_id=image_id,
        root_type=root_type,
        root_id=image_id,
        source=model.SOURCE_NOVA_API,
    )
