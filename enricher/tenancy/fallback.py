"""Complete partial tenancy from the Nova API, per host, cached, never on the hot path.

``complete()`` answers from the caches at once. A cache miss (a domain never
looked up, or whose entry expired) wakes a background worker that makes ONE
host-wide look-up; its results show up in the next collection. So Nova being
slow or down never delays a scrape, and in steady state Nova sees no request.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from enricher import health
from enricher.backoff import Backoff
from enricher.exceptions import NovaLookupFailed
from enricher.health import ErrorCounts
from enricher.tenancy import model

LOG = logging.getLogger(__name__)


class HostSource(Protocol):
    """What the fallback needs of nova_api.NovaTenancySource."""

    def lookup_host(self) -> dict[str, model.Tenancy]:
        """Every server on this host, keyed by server id and instance name."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Known:
    tenancy: model.Tenancy | None  # None: Nova does not know this domain
    expires: float


@dataclasses.dataclass(slots=True)
class CacheStats:
    """Cache outcomes of complete(), exported as enricher_nova_cache_total."""

    hit: int = 0
    negative_hit: int = 0
    miss: int = 0


class NovaFallback:
    """Resolver fallback (see resolver.Fallback) backed by host-wide look-ups."""

    def __init__(self, source: HostSource, errors: ErrorCounts, *, cache_ttl: float,
                 negative_ttl: float, refresh_min_interval: float, backoff: Backoff,
                 background: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self._errors = errors
        self._ttl = cache_ttl
        self._negative_ttl = negative_ttl
        self._min_interval = refresh_min_interval
        self._backoff = backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, _Known] = {}
        self._wanted: dict[str, str] = {}  # uuid -> domain name, to look up
        self._last_lookup: float | None = None
        self._retry_at = 0.0
        self.up: bool | None = None  # None until the first look-up
        self.stats = CacheStats()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = health.supervised("nova-fallback", self._run, self._stop,
                                             errors.threads)

    def complete(self, wanted: Mapping[str, tuple[str, model.Tenancy]]
                 ) -> Mapping[str, model.Tenancy]:
        """Cached Nova tenancy for the wanted domains; queue look-ups for misses."""
        now = self._clock()
        found: dict[str, model.Tenancy] = {}
        missing: dict[str, str] = {}
        with self._lock:
            for uuid, (name, _partial) in wanted.items():
                known = self._known.get(uuid)
                if known is None or (known.expires and now >= known.expires):
                    self.stats.miss += 1
                    missing[uuid] = name
                elif known.tenancy is None:
                    self.stats.negative_hit += 1
                else:
                    self.stats.hit += 1
                    found[uuid] = known.tenancy
            if missing:
                self._wanted.update(missing)
        if missing:
            self._wake.set()
        return found

    def due_in(self) -> float | None:
        """Seconds until a look-up may run: 0 now, None while nothing is pending."""
        now = self._clock()
        with self._lock:
            if not self._wanted:
                return None
            at = self._retry_at
            if self._last_lookup is not None:
                at = max(at, self._last_lookup + self._min_interval)
            return max(0.0, at - now)

    def refresh(self) -> bool:
        """One host-wide look-up for the pending misses; False if it failed."""
        with self._lock:
            wanted, self._wanted = self._wanted, {}
        started = self._clock()
        try:
            servers = self.source.lookup_host()
        except NovaLookupFailed as exc:
            now = self._clock()
            with self._lock:
                self._wanted = {**wanted, **self._wanted}
                self._last_lookup = now
                self._retry_at = now + self._backoff.next_delay()
            self._errors.add("nova", "lookup_failed")
            if self.up is not False:
                LOG.warning("Nova API unavailable; exporting tenancy from metadata only "
                            "until it answers: %s", exc)
            self.up = False
            return False
        now = self._clock()
        with self._lock:
            self._last_lookup = now
            self._retry_at = 0.0
            self._backoff.reset()
            for uuid, name in wanted.items():
                tenancy = servers.get(uuid) or servers.get(name)
                if tenancy is None:
                    expires = now + self._negative_ttl if self._negative_ttl else now
                else:
                    expires = now + self._ttl if self._ttl else 0.0
                self._known[uuid] = _Known(tenancy, expires)
        if self.up is False:
            LOG.warning("Nova API answers again")
        elif self.up is None:
            LOG.info("Nova API look-up for this host took %.2f s: %d of %d domains "
                     "known to Nova", now - started,
                     sum(1 for u in wanted if self._known[u].tenancy), len(wanted))
        self.up = True
        return True

    def forget(self, uuid: str) -> None:
        """Drop one domain's cached answer (its definition changed)."""
        with self._lock:
            self._known.pop(uuid, None)

    def _run(self) -> None:
        """Sleep until misses are queued and a look-up is allowed, then look up."""
        while not self._stop.is_set():
            delay = self.due_in()
            if delay != 0.0:
                # None: nothing pending, so sleep until complete() or stop() wakes us.
                self._wake.wait(timeout=delay)
                self._wake.clear()
                continue
            try:
                self.refresh()
            except Exception:  # the worker must survive any bug
                self._errors.add("nova", "unexpected")
                LOG.exception("Unexpected error in the Nova fallback worker")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
