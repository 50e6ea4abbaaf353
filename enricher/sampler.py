"""Collect samples and tenancy into immutable Snapshots, shared by all scrapers."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from enricher import exceptions, health
from enricher.extra.runner import ExtraResult, ExtraRunner
from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.stats import DomainSample, StatsReader
from enricher.tenancy import devices, model
from enricher.tenancy.resolver import Resolver

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """The latest samples joined with tenancy; exporters only read it."""

    samples: tuple[DomainSample, ...]
    tenancy: Mapping[str, model.Tenancy]
    libvirt_up: bool
    collected_at: float
    duration: float
    skipped: int = 0
    sequence: int = 0
    extra: ExtraResult | None = None  # None when [DEFAULT] extra_stats is empty
    interval: float = 0.0  # the sampler's interval; 0 means collected at scrape time
    cpu_from_cgroup: int = 0  # running domains whose CPU time came from their cgroup
    vcpu_from_proc: int = 0  # running domains whose vCPU times came from /proc
    # Each domain's XML and devices, read with its tenancy (not per collection).
    descriptions: Mapping[str, devices.Description] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}))
    timed_out: frozenset[str] = frozenset()  # UUIDs of domains whose QEMU does not answer

    def tenancy_of(self, uuid: str) -> model.Tenancy:
        return self.tenancy.get(uuid, model.NO_TENANCY)

    def description_of(self, uuid: str) -> devices.Description | None:
        return self.descriptions.get(uuid)


# Longest a scrape waits for the first background collection after start-up.
FIRST_COLLECTION_WAIT = 10.0
# Least time between two collections when events ask for early ones.
MIN_EARLY_GAP = 1.0

EMPTY = Snapshot(samples=(), tenancy=MappingProxyType({}), libvirt_up=False,
                 collected_at=0.0, duration=0.0)


class Sampler:
    """Owns collection: one bulk stats call, tenancy from the cache, extra statistics.

    With ``interval`` > 0 a background thread collects every interval and
    ``latest()`` returns at once; with 0, ``latest()`` collects on demand and
    concurrent callers share one collection. The ``extra`` runner's per-domain
    calls happen here too, after the bulk call, never on a scrape that is
    served from a background snapshot.
    """

    def __init__(self, connection: Connection, reader: StatsReader,
                 resolver: Resolver, errors: ErrorCounts, interval: float = 0.0,
                 clock: Callable[[], float] = time.time,
                 extra: ExtraRunner | None = None) -> None:
        self._connection = connection
        self._reader = reader
        self._resolver = resolver
        self._errors = errors
        self._extra = extra
        self.interval = interval
        self._clock = clock
        self._snapshot = EMPTY
        self._collect_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._first = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = 0
        # Called with each new snapshot, in the collecting thread (e.g. to render
        # it at once, or to expire the event counters of domains gone).
        self.on_snapshot: list[Callable[[Snapshot], None]] = []

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def latest(self) -> Snapshot:
        """The snapshot to serve now."""
        if self.interval > 0:
            # Right after start-up, wait (bounded) for the first collection
            # rather than report libvirt as down.
            self._first.wait(timeout=min(self.interval, FIRST_COLLECTION_WAIT))
            return self._snapshot
        before = self._snapshot
        with self._collect_lock:
            if self._snapshot is not before:
                return self._snapshot  # another scraper collected meanwhile
            return self._collect_locked()

    def collect(self) -> Snapshot:
        with self._collect_lock:
            return self._collect_locked()

    def _collect_locked(self) -> Snapshot:
        started = time.monotonic()
        self._sequence += 1
        try:
            conn = self._connection.get()
            collection = self._reader.collect(conn)
            sampled_at = time.monotonic()
            tenancy, described = self._resolver.resolve_all(collection.domains)
        except exceptions.LibvirtDisconnected as exc:
            self._connection.drop(str(exc))
            self._errors.add("libvirt", "disconnected")
            snap = self._down(started)
        except exceptions.LibvirtUnavailable as exc:
            LOG.debug("Collection skipped: %s", exc)
            snap = self._down(started)
        except exceptions.LibvirtTimeout as exc:
            self._errors.add("libvirt", "stats_timeout", max(1, self._reader.timeouts))
            LOG.error("Bulk stats call timed out twice: %s", exc)
            snap = self._down(started)
        except exceptions.LibvirtError as exc:
            self._errors.add("libvirt", "stats_failed")
            LOG.error("Bulk stats call failed: %s", exc)
            snap = self._down(started)
        else:
            self._connection.mark_success()
            if collection.failed:
                self._errors.add("libvirt", "domain_skipped", collection.failed)
            if collection.call_timeouts:
                self._errors.add("libvirt", "stats_timeout", collection.call_timeouts)
            samples = tuple(s for s in collection.samples if s.uuid in tenancy)
            skipped = collection.failed + len(collection.samples) - len(samples)
            extra = (self._extra.collect(samples, collection.domains, sampled_at)
                     if self._extra is not None else None)
            snap = Snapshot(samples=samples, tenancy=MappingProxyType(tenancy),
                            libvirt_up=True, collected_at=self._clock(),
                            duration=time.monotonic() - started, skipped=skipped,
                            sequence=self._sequence, extra=extra, interval=self.interval,
                            cpu_from_cgroup=collection.cpu_from_cgroup,
                            vcpu_from_proc=collection.vcpu_from_proc,
                            descriptions=MappingProxyType(
                                {s.uuid: described[s.uuid] for s in samples
                                 if s.uuid in described}),
                            timed_out=collection.timed_out)
        self._snapshot = snap
        self._publish(snap)
        return snap

    def _publish(self, snap: Snapshot) -> None:
        """Hand a new snapshot to the ``on_snapshot`` callbacks; none may break the rest."""
        for callback in self.on_snapshot:
            try:
                callback(snap)
            except Exception:  # a bug in one consumer must not stop collection
                self._errors.add("sampler", "unexpected")
                LOG.exception("Unexpected error handing a snapshot to %r", callback)

    def _down(self, started: float) -> Snapshot:
        extra = self._extra.idle() if self._extra is not None else None
        return Snapshot(samples=(), tenancy=MappingProxyType({}), libvirt_up=False,
                        collected_at=self._clock(), duration=time.monotonic() - started,
                        sequence=self._sequence, extra=extra, interval=self.interval)

    def start(self) -> None:
        """Start the background loop when an interval is configured."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = health.supervised("sampler", self._run, self._stop,
                                         self._errors.threads)

    def wake(self) -> None:
        """Ask for an early collection (a domain changed); bursts are merged."""
        self._wake.set()

    def _run(self) -> None:
        """Collect on a fixed schedule; events may bring a collection forward."""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.collect()
            except Exception:  # the loop must survive any bug
                self._errors.add("sampler", "unexpected")
                LOG.exception("Unexpected error in the sampler loop")
            self._first.set()
            deadline = started + self.interval
            while not self._stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._wake.wait(remaining):
                    break
                self._wake.clear()
                # Woken by an event: let a burst settle, keep a minimum gap.
                gap = max(MIN_EARLY_GAP - (time.monotonic() - started), 0.2)
                self._stop.wait(gap)
                break

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._extra is not None:
            self._extra.stop()
