"""``perf``: which perf events are enabled for the domain; their counters come in bulk.

The counters themselves (``libvirt_domain_perf_*``) come from the bulk call's
perf group, which this selector makes sure is collected. libvirt reports only
the events that are enabled for the domain and that the host supports, so
unsupported events are simply absent.
"""

from __future__ import annotations

from typing import Any

from enricher.extra.base import Point, Selector

NAME = "perf"
ENABLED = "libvirt_domain_perf_event_enabled"


class Perf(Selector):
    """One ``virDomainGetPerfEvents`` call per active domain, plus the bulk perf group."""

    name = NAME
    groups = ("perf",)
    calls = True

    def call(self, dom: Any, sample: Any) -> list[Point]:
        return [Point(ENABLED, 1 if enabled else 0, (event,))
                for event, enabled in sorted(dom.perfEvents().items())]
