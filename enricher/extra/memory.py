"""``memory``: the balloon statistics the core families leave out, and memory bandwidth.

The balloon group of the bulk call (made sure to be collected) already feeds
``libvirt_domain_memory_*``; this selector adds the rest of it and, where the
host has Intel RDT memory bandwidth monitoring (resctrl), the per-monitor
bandwidth counters of the memory stats group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from enricher.extra.base import Point, Selector, number
from enricher.extra.groups import domain_group_stats
from enricher.libvirt import constants

NAME = "memory"
PREFIX = "memory.bandwidth.monitor."

UPDATED = "libvirt_domain_memory_stats_updated_timestamp_seconds"
HUGETLB_ALLOC = "libvirt_domain_memory_hugetlb_allocations_total"
HUGETLB_FAIL = "libvirt_domain_memory_hugetlb_allocation_failures_total"
BW_LOCAL = "libvirt_domain_memory_bandwidth_local_bytes_total"
BW_TOTAL = "libvirt_domain_memory_bandwidth_bytes_total"

_BALLOON = (("balloon.last-update", UPDATED), ("balloon.hugetlb_pgalloc", HUGETLB_ALLOC),
            ("balloon.hugetlb_pgfail", HUGETLB_FAIL))


def bandwidth_points(stats: Mapping[str, Any]) -> list[Point]:
    """Points of a memory stats group answer (``memory.bandwidth.monitor.*``)."""
    points = []
    for index in range(int(stats.get(PREFIX + "count", 0))):
        monitor = "%s%d." % (PREFIX, index)
        name = str(stats.get(monitor + "name", index))
        vcpus = str(stats.get(monitor + "vcpus", ""))
        for node in range(int(stats.get(monitor + "node.count", 0))):
            key = "%snode.%d." % (monitor, node)
            node_id = str(stats.get(key + "id", node))
            for field, family in (("bytes.local", BW_LOCAL), ("bytes.total", BW_TOTAL)):
                value = number(stats.get(key + field))
                if value is not None:
                    points.append(Point(family, value, (name, vcpus, node_id)))
    return points


class Memory(Selector):
    """Balloon extras from the bulk samples, plus one memory-group call per domain."""

    name = NAME
    groups = ("balloon",)
    calls = True

    def derive(self, samples: Iterable[Any], domains: Mapping[str, Any], at: float
               ) -> dict[str, list[Point]]:
        points: dict[str, list[Point]] = {}
        for sample in samples:
            if not sample.active:
                continue
            values = [(family, number(sample.scalars.get(key))) for key, family in _BALLOON]
            # last-update stays 0 until the guest's balloon driver reports.
            found = [Point(family, value) for family, value in values
                     if value is not None and (value or family != UPDATED)]
            if found:
                points[sample.uuid] = found
        return points

    def call(self, dom: Any, sample: Any) -> list[Point]:
        return bandwidth_points(domain_group_stats(dom, constants.STATS_MEMORY, NAME))
