"""The /metrics exposition: each snapshot's per-VM part rendered and compressed once."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence

from prometheus_client.core import Metric

from enricher.exporters import extra_metrics, profiles, prometheus, text
from enricher.exporters.profiles.engine import ProfileRenderer
from enricher.health import ErrorCounts
from enricher.sampler import Sampler, Snapshot

LOG = logging.getLogger(__name__)

# Fast deflate, and the gzip wrapper (header, CRC-32 and length trailer).
GZIP_LEVEL = 1
GZIP_WBITS = 16 + zlib.MAX_WBITS


def _gzip_head(plain: bytes) -> tuple[bytes, zlib._Compress]:
    """Start one gzip member with ``plain``: its bytes so far, and the compressor.

    A scrape appends the self-metrics to a copy of the compressor and
    finishes the member, so the response is one gzip member (what
    ``curl --compressed`` and single-member decoders need) while the per-VM
    part is still compressed once per snapshot.
    """
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
    head = compressor.compress(plain) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return head, compressor


# A per-scrape source: the families it yields are rendered on every scrape.
PerScrape = Callable[[], Iterable[Metric]]
# A per-snapshot source: its families are rendered with the per-VM part, once
# per snapshot (e.g. vm_up, whose tracker is fed the snapshot first).
PerSnapshot = Callable[[Snapshot], Iterable[Metric]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Rendered:
    """The per-VM part of the exposition for one snapshot, plain and gzip-started."""

    snapshot: Snapshot
    plain: bytes
    gzip_head: bytes
    gzip_state: zlib._Compress  # only ever copied, never fed

    def gzipped(self, tail: bytes) -> bytes:
        """One gzip member of ``plain + tail``."""
        compressor = self.gzip_state.copy()
        return self.gzip_head + compressor.compress(tail) + compressor.flush()


class MetricsApp:
    """Renders /metrics: the per-VM part once per snapshot, self-metrics per scrape.

    ``per_scrape`` sources (domain events, the Nova fallback's figures) change
    between snapshots, so their families are rendered on every scrape, after
    the self-metrics. ``profile`` names the per-VM families (the naming
    profile, rendered with them once per snapshot); ``device_info`` adds the
    seed profile's per-disk and per-NIC info families.
    """

    def __init__(self, sampler: Sampler, errors: ErrorCounts,
                 tenant_labels: Sequence[str], per_scrape: Sequence[PerScrape] = (),
                 per_snapshot: Sequence[PerSnapshot] = (),
                 profile: str = profiles.DEFAULT, device_info: bool = False) -> None:
        self._sampler = sampler
        self._errors = errors
        self._tenant_labels = tuple(tenant_labels)
        self._per_scrape = tuple(per_scrape)
        self._per_snapshot = tuple(per_snapshot)
        self._profile = ProfileRenderer(profiles.get(profile), self._tenant_labels,
                                        optional=device_info)
        self._lock = threading.Lock()
        self._cached: _Rendered | None = None

    def prepare(self, snap: Snapshot) -> _Rendered:
        """Render (and compress) a snapshot's per-VM part, once.

        The sampler calls this right after each collection, so that scrapes
        only copy bytes.
        """
        with self._lock:
            cached = self._cached
            if cached is not None and cached.snapshot is snap:
                return cached
            plain = text.render(self._profile.families(snap, itertools.chain(
                prometheus.domain_families(snap, self._tenant_labels),
                extra_metrics.extra_families(snap, self._tenant_labels),
                itertools.chain.from_iterable(s(snap) for s in self._per_snapshot))))
            self._cached = _Rendered(snap, plain, *_gzip_head(plain))
            return self._cached

    def blocking(self) -> bool:
        """Whether ``render()`` may wait on libvirt (collect at scrape time, or
        no background snapshot rendered yet): then call it off the event loop."""
        cached = self._cached
        return (self._sampler.interval <= 0 or cached is None
                or cached.snapshot is not self._sampler.snapshot)

    def render(self, gzipped: bool = False) -> bytes:
        """The full exposition for one scrape (one gzip member if asked)."""
        started = time.monotonic()
        snap = self._sampler.latest()
        rendered = self.prepare(snap)
        own = text.render(itertools.chain(
            prometheus.self_families(snap, self._errors.snapshot(), started),
            itertools.chain.from_iterable(source() for source in self._per_scrape)))
        if gzipped:
            return rendered.gzipped(own)
        return rendered.plain + own
