"""Picking one guest's series out of a parsed exposition, and checking their labels."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.samples import Sample

from tests.e2e.harness.domains import E2EDomain
from tests.exposition import Samples


def of(samples: Samples, name: str, guest: E2EDomain, **labels: str) -> list[Sample]:
    """Series of ``name`` for ``guest`` whose labels include ``labels``."""
    return [s for s in samples.get(name, []) if s.labels.get("uuid") == guest.uuid
            and all(s.labels.get(k) == v for k, v in labels.items())]


def calls(samples: Samples, selector: str) -> dict[str, float]:
    """enricher_extra_calls_total of one selector, by outcome."""
    return {s.labels["outcome"]: s.value for s in samples.get("enricher_extra_calls_total", [])
            if s.labels["selector"] == selector}


def event_count(samples: Samples, guest: E2EDomain, event: str,
                detail: str | None = None) -> float:
    """Sum of libvirt_domain_events_total for one guest's event (and detail)."""
    return sum(s.value for s in of(samples, "libvirt_domain_events_total", guest, event=event)
               if detail in (None, s.labels["detail"]))


def assert_tenant_labels(labels: Mapping[str, str], guest: E2EDomain, what: str = "") -> None:
    """Fail naming every per-VM label that differs from what ``guest`` claims."""
    mismatched = {k: (labels.get(k), v) for k, v in guest.labels.items()
                  if labels.get(k) != v}
    assert not mismatched, "label (got, want) mismatches of %s %s: %s" % (
        guest.name, what, mismatched)
