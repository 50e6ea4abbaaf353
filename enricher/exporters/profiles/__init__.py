"""Naming profiles: other exporters' metric names as data over the one catalog.

``[prometheus] metric_names`` picks one: ``seed`` (the catalog's names, the
default), ``inovex`` (inovex/prometheus-libvirt-exporter 2.x) or ``vadvisor``
(kubevirt/vAdvisor's ``vm_*`` families). Each is a table in its own module;
:mod:`.engine` renders any of them.
"""

from __future__ import annotations

from enricher.exporters.profiles import inovex, seed, vadvisor
from enricher.exporters.profiles.model import Profile

PROFILES: dict[str, Profile] = {p.name: p for p in (seed.PROFILE, inovex.PROFILE,
                                                    vadvisor.PROFILE)}
NAMES = tuple(PROFILES)
DEFAULT = seed.PROFILE.name


def get(name: str) -> Profile:
    """The profile called ``name`` (KeyError for an unknown one)."""
    return PROFILES[name]
