"""The tenancy of one domain: who owns a VM and what it is."""

from __future__ import annotations

import dataclasses

SOURCE_METADATA = "metadata"
SOURCE_NOVA_API = "nova-api"
SOURCE_MERGED = "metadata+nova-api"
SOURCE_NONE = "none"

# Fields that may be used as tenant labels on every per-VM series.
LABEL_FIELDS = (
    "instance_uuid",
    "instance_name",
    "project_id",
    "project_name",
    "user_id",
    "user_name",
    "flavor",
    "flavor_id",
    "image_id",
)

DEFAULT_TENANT_LABELS = (
    "instance_uuid",
    "project_id",
    "project_name",
    "user_id",
    "user_name",
    "flavor",
)

# Owner names Nova writes when it did not know them.
UNKNOWN_NAME = "N/A"


@dataclasses.dataclass(frozen=True, slots=True)
class FixedIP:
    """One fixed IP of a Neutron port, as Nova records it."""

    address: str
    version: str | None = None
    type: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Port:
    """One Neutron port attached to the instance."""

    uuid: str
    ips: tuple[FixedIP, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Tenancy:
    """Immutable tenancy of one domain; ``None`` means unknown."""

    instance_uuid: str | None = None
    instance_name: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    user_id: str | None = None
    user_name: str | None = None
    flavor: str | None = None
    flavor_id: str | None = None
    flavor_vcpus: int | None = None
    flavor_ram_mb: int | None = None
    flavor_disk_gb: int | None = None
    image_id: str | None = None
    root_type: str | None = None
    root_id: str | None = None
    package_version: str | None = None
    ports: tuple[Port, ...] = ()
    source: str = SOURCE_NONE

    @property
    def complete(self) -> bool:
        """True when owner ids and names and the flavor are all known."""
        return all(
            getattr(self, f) is not None
            for f in ("instance_uuid", "project_id", "project_name",
                      "user_id", "user_name", "flavor")
        )

    def label_value(self, field: str) -> str:
        """The exported label value of ``field`` ("" when unknown)."""
        value = getattr(self, field)
        return "" if value is None else str(value)

    def merged_with(self, other: Tenancy) -> Tenancy:
        """Fill this tenancy's unknown fields from ``other``.

        Values already known here always win; the result's source says
        where the data came from.
        """
        changes = {}
        skip = {"source"}
        # A name belongs to its id: never pair one project's id with another's name.
        for ident, name in (("project_id", "project_name"), ("user_id", "user_name")):
            if None not in (getattr(self, ident), getattr(other, ident)) and \
                    getattr(self, ident) != getattr(other, ident):
                skip.add(name)
        for field in dataclasses.fields(self):
            name = field.name
            if name in skip:
                continue
            mine = getattr(self, name)
            if (mine is None or mine == ()) and getattr(other, name) not in (None, ()):
                changes[name] = getattr(other, name)
        if not changes:
            return self
        if self.source == SOURCE_NONE:
            source = other.source
        elif other.source in (SOURCE_NONE, self.source):
            source = self.source
        else:
            source = SOURCE_MERGED
        return dataclasses.replace(self, source=source, **changes)


NO_TENANCY = Tenancy()
