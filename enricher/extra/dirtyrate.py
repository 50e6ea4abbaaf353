"""``dirtyrate``: how fast the guest dirties its memory, where libvirt and QEMU measure it.

The enricher reads the result of the last calculation (``virsh
domdirtyrate-calc`` or this selector's own, when
``[DEFAULT] extra_stats_dirtyrate_period`` is set and the connection is
read-write).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from enricher import exceptions
from enricher.extra.base import NotReported, Point, Selector, number
from enricher.extra.groups import domain_group_stats
from enricher.libvirt import constants
from enricher.libvirt.errors import translated

LOG = logging.getLogger(__name__)

NAME = "dirtyrate"
MIB = 1024 * 1024
STATUS_NAMES = ("unstarted", "measuring", "measured")
MEASURING = 1

RATE = "libvirt_domain_memory_dirty_rate_bytes_per_second"
VCPU_RATE = "libvirt_domain_vcpu_memory_dirty_rate_bytes_per_second"
CALC = "libvirt_domain_memory_dirty_rate_calculation_info"
START = "libvirt_domain_memory_dirty_rate_calculation_start_timestamp_seconds"
PERIOD = "libvirt_domain_memory_dirty_rate_calculation_period_seconds"


_VCPU = re.compile(r"^dirtyrate\.vcpu\.(\d+)\.megabytes_per_second$")


def dirtyrate_points(stats: dict[str, Any]) -> list[Point]:
    """Points of a dirtyrate stats group answer."""
    status = stats.get("dirtyrate.calc_status")
    status_name = (STATUS_NAMES[status] if isinstance(status, int)
                   and 0 <= status < len(STATUS_NAMES) else str(status))
    points = [Point(CALC, 1, (status_name, str(stats.get("dirtyrate.calc_mode", ""))))]
    start = number(stats.get("dirtyrate.calc_start_time"))
    if start:
        points.append(Point(START, start))
        period = number(stats.get("dirtyrate.calc_period"))
        if period is not None:
            points.append(Point(PERIOD, period))
        rate = number(stats.get("dirtyrate.megabytes_per_second"))
        if rate is not None:
            points.append(Point(RATE, rate * MIB))
    for key, value in sorted(stats.items()):
        match = _VCPU.match(key)
        rate = number(value)
        if match and rate is not None:
            points.append(Point(VCPU_RATE, rate * MIB, (match.group(1),)))
    return points


class DirtyRate(Selector):
    """One dirtyrate-group call per active domain; optionally starts the next calculation."""

    name = NAME
    calls = True

    def __init__(self, period: int = 0) -> None:
        self._period = period

    def call(self, dom: Any, sample: Any) -> list[Point]:
        stats = domain_group_stats(dom, constants.STATS_DIRTYRATE, NAME)
        if "dirtyrate.calc_status" not in stats:
            raise NotReported("unsupported", "no dirty rate status for the domain")
        if self._period and stats["dirtyrate.calc_status"] != MEASURING:
            self._start(dom)
        return dirtyrate_points(stats)

    def _start(self, dom: Any) -> None:
        try:
            with translated():
                dom.startDirtyRateCalc(self._period, 0)
        except exceptions.LibvirtDenied as exc:
            if self._period:
                LOG.warning("Cannot start dirty rate calculations (%s): set [libvirt] "
                            "read_only = false, or [DEFAULT] "
                            "extra_stats_dirtyrate_period = 0 to only read results", exc)
            self._period = 0
