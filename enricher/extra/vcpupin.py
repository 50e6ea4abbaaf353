"""``vcpupin``: which host CPUs each vCPU may run on (``virDomainGetVcpuPinInfo``)."""

from __future__ import annotations

from typing import Any

from enricher.extra.base import GAUGE, ExtraFamily, Point, Selector

NAME = "vcpupin"
AFFINITY = "libvirt_domain_vcpu_affinity"

FAMILIES = (
    ExtraFamily(AFFINITY, GAUGE,
                "Whether the vCPU may run on the host CPU (1) or not (0), one series per "
                "(vcpu, cpu) pair; a <cputune> vcpupin shows as a single 1 per vCPU.",
                NAME, ("vcpu", "cpu"), "cpu_affinity/vcpu_<n>-cpu_<m>"),
)


class VcpuPin(Selector):
    """One ``virDomainGetVcpuPinInfo`` call per active domain."""

    name = NAME
    families = FAMILIES
    calls = True

    def call(self, dom: Any, sample: Any) -> list[Point]:
        return [Point(AFFINITY, 1 if usable else 0, (str(vcpu), str(cpu)))
                for vcpu, cpus in enumerate(dom.vcpuPinInfo(0))
                for cpu, usable in enumerate(cpus)]
