"""Tenancy per domain UUID: read once, cached, refreshed when the domain changes."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from enricher import exceptions
from enricher.health import ErrorCounts
from enricher.tenancy import devices, model
from enricher.tenancy.domain_reader import DomainRecord, read_domain

LOG = logging.getLogger(__name__)


class Fallback(Protocol):
    """Something that can complete tenancies metadata left partial (Nova API)."""

    def complete(self, wanted: Mapping[str, tuple[str, model.Tenancy]]
                 ) -> Mapping[str, model.Tenancy]:
        """Given uuid -> (domain name, partial tenancy), return what is known."""

    def forget(self, uuid: str) -> None:
        """Drop what is cached about one domain."""


@dataclasses.dataclass(slots=True)
class _Entry:
    record: DomainRecord
    domain_id: int
    read_at: float


class Resolver:
    """Cache of Tenancy and Description by domain UUID.

    Entries hold what the domain XML says (one ``XMLDesc`` per read); the
    fallback (Nova API), if any, fills the gaps of incomplete ones on every
    resolve from its own cache. An entry is read when the domain is first
    seen, when its libvirt id changes (it was started again, e.g. after a
    Nova hard reboot, resize or migration), when ``ttl`` expires, or after
    ``invalidate()`` (events). Nothing is re-read on a steady-state scrape.
    """

    def __init__(self, errors: ErrorCounts, *, ttl: float = 0.0,
                 reader: Callable[[Any], DomainRecord] = read_domain,
                 fallback: Fallback | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._errors = errors
        self._ttl = ttl
        self._reader = reader
        self._fallback = fallback
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._invalidated: set[str] = set()  # since the current resolve() began
        self.reads = 0

    def invalidate(self, uuid: str) -> None:
        """Forget one domain so that its metadata is read again."""
        with self._lock:
            self._entries.pop(uuid, None)
            self._invalidated.add(uuid)
        if self._fallback is not None:
            self._fallback.forget(uuid)

    def lookup(self, uuid: str, dom: Any) -> model.Tenancy:
        """One domain's tenancy now: cached, or read at once and cached.

        For events, which may be about a domain no collection has seen yet.
        The project's LibvirtError is raised for the caller to handle. Gaps
        are filled from the Nova API fallback's cache (which never blocks).
        """
        with self._lock:
            entry = self._entries.get(uuid)
        if entry is None:
            record = self._read(uuid, dom)
            with self._lock:
                entry = self._entries.setdefault(
                    uuid, _Entry(record, dom.ID(), self._clock()))
        tenancy = entry.record.tenancy
        if self._fallback is not None and not tenancy.complete:
            tenancy = self._complete({uuid: tenancy}, {uuid: dom}).get(uuid, tenancy)
        return tenancy

    def _stale(self, entry: _Entry | None, domain_id: int, now: float) -> bool:
        if entry is None or entry.domain_id != domain_id:
            return True
        return bool(self._ttl) and now - entry.read_at >= self._ttl

    def _read(self, uuid: str, dom: Any) -> DomainRecord:
        self.reads += 1
        record = self._reader(dom)
        if record.problem is not None:
            self._errors.add("metadata", "malformed")
            LOG.warning("Domain %s has malformed Nova metadata, exporting it "
                        "without tenancy: %s", uuid, record.problem)
        return record

    def resolve(self, domains: Mapping[str, Any]) -> dict[str, model.Tenancy]:
        """Tenancy for every domain in ``uuid -> virDomain`` (see ``resolve_all``)."""
        return self.resolve_all(domains)[0]

    def resolve_all(self, domains: Mapping[str, Any]
                    ) -> tuple[dict[str, model.Tenancy], dict[str, devices.Description]]:
        """Tenancy and Description for every domain in ``uuid -> virDomain``.

        Domains that vanish while being read are left out (and counted);
        a lost connection is raised for the caller to handle.
        """
        now = self._clock()
        result: dict[str, model.Tenancy] = {}
        described: dict[str, devices.Description] = {}
        with self._lock:
            entries = dict(self._entries)
            self._invalidated.clear()
        for uuid, dom in domains.items():
            domain_id = dom.ID()
            entry = entries.get(uuid)
            if self._stale(entry, domain_id, now):
                try:
                    record = self._read(uuid, dom)
                except exceptions.LibvirtError as exc:
                    if isinstance(exc, exceptions.LibvirtDisconnected):
                        raise
                    gone = isinstance(exc, exceptions.DomainGone)
                    kind = "domain_gone" if gone else "libvirt_error"
                    self._errors.add("metadata", kind)
                    LOG.warning("Cannot read the XML of domain %s: %s", uuid, exc)
                    continue
                entry = entries[uuid] = _Entry(record, domain_id, now)
            result[uuid] = entry.record.tenancy
            if entry.record.description is not None:
                described[uuid] = entry.record.description
        if self._fallback is not None:
            result.update(self._complete(result, domains))
        with self._lock:
            # Invalidated while we read: keep what lookup() stored since, if anything.
            for uuid in self._invalidated:
                entries.pop(uuid, None)
                if uuid in self._entries:
                    entries[uuid] = self._entries[uuid]
            # Drop domains that are gone from libvirt, keep the rest.
            self._entries = {u: entries[u] for u in domains if u in entries}
        return result, described

    def _complete(self, result: Mapping[str, model.Tenancy], domains: Mapping[str, Any]
                  ) -> Mapping[str, model.Tenancy]:
        wanted = {u: (domains[u].name(), t) for u, t in result.items() if not t.complete}
        if not wanted:
            return {}
        completed = self._fallback.complete(wanted)
        return {u: wanted[u][1].merged_with(t) for u, t in completed.items() if u in wanted}
