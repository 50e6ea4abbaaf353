"""``pcpu``: the domain's CPU time on each host (physical) CPU (``virDomainGetCPUStats``).

collectd's ``ps_cputime`` (user and system time of the domain) is the bulk
call's cpu group, which this selector makes sure is collected. The per-CPU
breakdown needs cgroup v1 (cpuacct); on cgroup v2 hosts libvirt does not
support it and the selector reports nothing. Cardinality: host CPUs x domains.
"""

from __future__ import annotations

from typing import Any

from enricher.extra.base import Point, Selector, number

NAME = "pcpu"
NS = 1e-9

TIME = "libvirt_domain_pcpu_time_seconds_total"
VCPU_TIME = "libvirt_domain_pcpu_vcpu_time_seconds_total"


_FIELDS = (("cpu_time", TIME), ("vcpu_time", VCPU_TIME))


class Pcpu(Selector):
    """One ``virDomainGetCPUStats`` call (per host CPU) per active domain."""

    name = NAME
    groups = ("cpu",)
    calls = True

    def call(self, dom: Any, sample: Any) -> list[Point]:
        points = []
        for cpu, stats in enumerate(dom.getCPUStats(False)):
            for field, family in _FIELDS:
                value = number(stats.get(field))
                if value is not None:
                    points.append(Point(family, value * NS, (str(cpu),)))
        return points
