"""``fs_info``: the guest's file systems, through the QEMU guest agent."""

from __future__ import annotations

from typing import Any

from enricher import exceptions
from enricher.extra.base import NotReported, Point, Selector
from enricher.libvirt.errors import translated

NAME = "fs_info"
RUNNING = 1  # virDomainState
INFO = "libvirt_domain_filesystem_info"


# Errors that mean "no usable guest agent in this domain".
_NO_AGENT = (exceptions.NoGuestAgent, exceptions.LibvirtUnsupported)


class FsInfo(Selector):
    """One ``virDomainGetFSInfo`` call per active domain (needs a read-write connection)."""

    name = NAME
    calls = True

    def wants(self, sample: Any) -> bool:
        """Only running domains: a paused guest's agent cannot answer."""
        return sample.state == RUNNING

    def call(self, dom: Any, sample: Any) -> list[Point]:
        try:
            with translated():
                filesystems = dom.fsInfo()
        except _NO_AGENT as exc:
            raise NotReported("no_agent", str(exc)) from exc
        return [Point(INFO, 1, (mountpoint, name, fstype, ",".join(aliases)))
                for mountpoint, name, fstype, aliases in filesystems]
