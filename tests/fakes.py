"""Stand-ins for libvirt objects that several unit tests share."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Domain:
    """The local accessors of a virDomain: what a bulk-stats record is read with.

    Mutable, so that a test can restart the domain (a new ``id_``) or stop it (-1).
    """

    name_: str = "instance-1"
    uuid: str = "u-1"
    id_: int = 7

    def name(self) -> str:
        return self.name_

    def UUIDString(self) -> str:  # noqa: N802 - libvirt's name
        return self.uuid

    def ID(self) -> int:  # noqa: N802 - libvirt's name
        return self.id_
