"""``fs_info``: the guest's file systems, through the QEMU guest agent."""

from __future__ import annotations

from typing import Any

from enricher.extra.base import NotReported, Point, Selector
from enricher.libvirt.connection import libvirt

NAME = "fs_info"
RUNNING = 1  # virDomainState
INFO = "libvirt_domain_filesystem_info"


# Errors that mean "no usable guest agent in this domain".
_NO_AGENT = (
    "VIR_ERR_AGENT_UNRESPONSIVE",
    "VIR_ERR_AGENT_UNSYNCED",
    "VIR_ERR_ARGUMENT_UNSUPPORTED",
    "VIR_ERR_OPERATION_UNSUPPORTED",
)


def _no_agent(exc: Any) -> bool:
    codes = {getattr(libvirt, name, None) for name in _NO_AGENT}
    return exc.get_error_code() in codes


class FsInfo(Selector):
    """One ``virDomainGetFSInfo`` call per active domain (needs a read-write connection)."""

    name = NAME
    calls = True

    def wants(self, sample: Any) -> bool:
        """Only running domains: a paused guest's agent cannot answer."""
        return sample.state == RUNNING

    def call(self, dom: Any, sample: Any) -> list[Point]:
        try:
            filesystems = dom.fsInfo()
        except libvirt.libvirtError as exc:
            if _no_agent(exc):
                raise NotReported("no_agent", str(exc)) from exc
            raise
        return [Point(INFO, 1, (mountpoint, name, fstype, ",".join(aliases)))
                for mountpoint, name, fstype, aliases in filesystems]
