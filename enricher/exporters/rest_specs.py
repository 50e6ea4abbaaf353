"""``/api/v1.0/specs``: each domain's cached XML as JSON (``xml_json``), with tenancy.

The XML is the one the resolver read with the tenancy
(``Snapshot.descriptions``): no libvirt call per request. Each domain's
JSON is built once per description and kept while it is current.
"""

from __future__ import annotations

import logging

from enricher import exceptions
from enricher.exporters import rest_json, xml_json
from enricher.sampler import Snapshot
from enricher.tenancy import devices, model

LOG = logging.getLogger(__name__)


class Specs:
    """Renders specs from snapshots, caching each domain's JSON."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[devices.Description, model.Tenancy, bytes]] = {}

    def _one(self, description: devices.Description, tenancy: model.Tenancy) -> bytes:
        cached = self._cache.get(description.uuid)
        if cached is not None and cached[0] is description and cached[1] == tenancy:
            return cached[2]
        try:
            spec = xml_json.to_json(description.xml)
        except exceptions.MetadataMalformed as exc:
            LOG.warning("The XML of domain %s cannot be served as JSON: %s",
                        description.uuid, exc)
            spec = {}
        body = rest_json.dumps({"uuid": description.uuid, "name": description.name,
                                "tenancy": rest_json.tenancy_dict(tenancy), **spec})
        self._cache[description.uuid] = (description, tenancy, body)
        return body

    def _described(self, snap: Snapshot) -> list[devices.Description]:
        found = [snap.description_of(s.uuid) for s in snap.samples]
        current = [d for d in found if d is not None]
        keep = {d.uuid for d in current}
        for uuid in [u for u in self._cache if u not in keep]:
            del self._cache[uuid]
        return current

    def render_all(self, snap: Snapshot) -> bytes:
        """A JSON array: one object per domain of the snapshot with a description."""
        return b"[" + b",".join(self._one(d, snap.tenancy_of(d.uuid))
                                for d in self._described(snap)) + b"]"

    def render_one(self, snap: Snapshot, key: str) -> bytes | None:
        """The domain whose UUID (any case) or name is ``key``; None if none."""
        lowered = key.lower()
        for description in self._described(snap):
            if description.uuid.lower() == lowered or description.name == key:
                return self._one(description, snap.tenancy_of(description.uuid))
        return None
