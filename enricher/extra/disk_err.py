"""``disk_err``: the error code of each disk that has one (``virDomainGetDiskErrors``)."""

from __future__ import annotations

from typing import Any

from enricher.extra.base import Point, Selector

NAME = "disk_err"
ERROR = "libvirt_domain_block_error"

# virDomainDiskErrorCode
ERROR_NAMES = {0: "none", 1: "unspec", 2: "no_space"}


class DiskErrors(Selector):
    """One ``virDomainGetDiskErrors`` call per active domain."""

    name = NAME
    calls = True

    def call(self, dom: Any, sample: Any) -> list[Point]:
        errors = dom.diskErrors()
        return [Point(ERROR, code, (disk, ERROR_NAMES.get(code, str(code))))
                for disk, code in sorted(errors.items()) if code]
