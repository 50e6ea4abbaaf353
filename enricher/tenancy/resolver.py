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
from enricher.libvirt.metadata import read_nova_metadata
from enricher.tenancy import metadata, model

LOG = logging.getLogger(__name__)


def read_tenancy(dom: Any) -> model.Tenancy:
    """A domain's tenancy from its ``nova:instance`` element.

    Raises MetadataMissing when it has none, MetadataMalformed when it
    cannot be trusted, and the project's LibvirtError when reading fails.
    """
    return metadata.tenancy_from_metadata(read_nova_metadata(dom), dom.UUIDString())


class Fallback(Protocol):
    """Something that can complete tenancies metadata left partial (Nova API)."""

    def complete(self, wanted: Mapping[str, tuple[str, model.Tenancy]]
                 ) -> Mapping[str, model.Tenancy]:
        """Given uuid -> (domain name, partial tenancy), return what is known."""

    def forget(self, uuid: str) -> None:
        """Drop what is cached about one domain."""


@dataclasses.dataclass(slots=True)
class _Entry:
    tenancy: model.Tenancy
    domain_id: int
    read_at: float


class Resolver:
    """Cache of Tenancy by domain UUID.

    Entries hold what the metadata says; the fallback (Nova API), if any,
    fills the gaps of incomplete ones on every resolve from its own cache.
    An entry is read from the domain's metadata when the domain is first
    seen, when its libvirt id changes (it was started again, e.g. after a
    Nova hard reboot, resize or migration), when ``ttl`` expires, or after
    ``invalidate()`` (events). Nothing is re-read on a steady-state scrape.
    """

    def __init__(self, errors: ErrorCounts, *, ttl: float = 0.0,
                 reader: Callable[[Any], model.Tenancy] = read_tenancy,
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
            tenancy = self._read(uuid, dom)
            with self._lock:
                entry = self._entries.setdefault(
                    uuid, _Entry(tenancy, dom.ID(), self._clock()))
        tenancy = entry.tenancy
        if self._fallback is not None and not tenancy.complete:
            tenancy = self._complete({uuid: tenancy}, {uuid: dom}).get(uuid, tenancy)
        return tenancy

    def _stale(self, entry: _Entry | None, domain_id: int, now: float) -> bool:
        if entry is None or entry.domain_id != domain_id:
            return True
        return bool(self._ttl) and now - entry.read_at >= self._ttl

    def _read(self, uuid: str, dom: Any) -> model.Tenancy:
        self.reads += 1
        try:
            return self._reader(dom)
        except exceptions.MetadataMissing:
            return model.Tenancy(source=model.SOURCE_NONE)
        except exceptions.MetadataMalformed as exc:
            self._errors.add("metadata", "malformed")
            LOG.warning("Domain %s has malformed Nova metadata, exporting it "
                        "without tenancy: %s", uuid, exc)
            return model.Tenancy(source=model.SOURCE_NONE)

    def resolve(self, domains: Mapping[str, Any]) -> dict[str, model.Tenancy]:
        """Tenancy for every domain in ``uuid -> virDomain``.

        Domains that vanish while being read are left out (and counted);
        a lost connection is raised for the caller to handle.
        """
        now = self._clock()
        result: dict[str, model.Tenancy] = {}
        with self._lock:
            entries = dict(self._entries)
            self._invalidated.clear()
        for uuid, dom in domains.items():
            domain_id = dom.ID()
            entry = entries.get(uuid)
            if not self._stale(entry, domain_id, now):
                result[uuid] = entry.tenancy
                continue
            try:
                tenancy = self._read(uuid, dom)
            except exceptions.LibvirtError as exc:
                if isinstance(exc, exceptions.LibvirtDisconnected):
                    raise
                gone = isinstance(exc, exceptions.DomainGone)
                kind = "domain_gone" if gone else "libvirt_error"
                self._errors.add("metadata", kind)
                LOG.warning("Cannot read the metadata of domain %s: %s", uuid, exc)
                continue
            entries[uuid] = _Entry(tenancy, domain_id, now)
            result[uuid] = tenancy
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
        return result

    def _complete(self, result: Mapping[str, model.Tenancy], domains: Mapping[str, Any]
                  ) -> Mapping[str, model.Tenancy]:
        wanted = {u: (domains[u].name(), t) for u, t in result.items() if not t.complete}
        if not wanted:
            return {}
        completed = self._fallback.complete(wanted)
        return {u: wanted[u][1].merged_with(t) for u, t in completed.items() if u in wanted}
