"""``cpu_util``: CPU utilisation from two consecutive samples of ``cpu.time``.

Like the virt plugin's ``percent/virt_cpu_total``, nothing is reported for a
domain's first sample or the first one after it was started again (its libvirt
id changed); a counter that went backwards starts a new baseline instead of
giving a negative rate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from enricher.extra.base import Point, Selector, number

NAME = "cpu_util"
NS = 1e-9

VCPU_RATIO = "libvirt_domain_cpu_utilization_ratio"
HOST_RATIO = "libvirt_domain_cpu_utilization_host_cpu_ratio"


@dataclasses.dataclass(frozen=True, slots=True)
class _Last:
    domain_id: int
    cpu_ns: float
    at: float


def utilisation(cpu_ns: float, last_cpu_ns: float, elapsed: float, vcpus: float | None
                ) -> tuple[float, float | None] | None:
    """(host CPU ratio, vCPU ratio) between two samples, or None without a valid rate."""
    used = cpu_ns - last_cpu_ns
    if elapsed <= 0 or used < 0:
        return None
    host = used * NS / elapsed
    return host, (min(1.0, host / vcpus) if vcpus else None)


class CpuUtil(Selector):
    """Keeps the previous ``cpu.time`` of each domain between collections."""

    name = NAME
    groups = ("cpu", "vcpu")

    def __init__(self) -> None:
        self._last: dict[str, _Last] = {}

    def derive(self, samples: Iterable[Any], domains: Mapping[str, Any], at: float
               ) -> dict[str, list[Point]]:
        points: dict[str, list[Point]] = {}
        last, self._last = self._last, {}
        for sample in samples:
            cpu_ns = number(sample.scalars.get("cpu.time"))
            dom = domains.get(sample.uuid)
            if not sample.active or cpu_ns is None or dom is None:
                continue
            current = _Last(dom.ID(), cpu_ns, at)
            self._last[sample.uuid] = current
            previous = last.get(sample.uuid)
            if previous is None or previous.domain_id != current.domain_id:
                continue  # first sample, or the domain was started again
            rates = utilisation(cpu_ns, previous.cpu_ns, at - previous.at,
                                number(sample.scalars.get("vcpu.current")))
            if rates is None:
                continue
            host, per_vcpu = rates
            points[sample.uuid] = [Point(HOST_RATIO, host)]
            if per_vcpu is not None:
                points[sample.uuid].append(Point(VCPU_RATIO, per_vcpu))
        return points
