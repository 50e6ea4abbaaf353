"""``vcpupin``: which host CPUs each vCPU may run on (``virDomainGetVcpuPinInfo``)."""

from __future__ import annotations

from typing import Any

from enricher.extra.base import Point, Selector

NAME = "vcpupin"
AFFINITY = "libvirt_domain_vcpu_affinity"


class VcpuPin(Selector):
    """One ``virDomainGetVcpuPinInfo`` call per active domain."""

    name = NAME
    calls = True

    def call(self, dom: Any, sample: Any) -> list[Point]:
        return [Point(AFFINITY, 1 if usable else 0, (str(vcpu), str(cpu)))
                for vcpu, cpus in enumerate(dom.vcpuPinInfo(0))
                for cpu, usable in enumerate(cpus)]
