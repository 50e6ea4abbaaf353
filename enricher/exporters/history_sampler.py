"""The light collection behind a history finer than the sampler's interval (vAdvisor: 1 s).

Every ``interval`` seconds one bulk call asks libvirt only for the cheap
groups: ``state`` and ``interface`` (no QMP round trip), with CPU and vCPU
times read on the host (``enricher.libvirt.host_cpu``) where it can, else
libvirt's ``cpu`` group. Its samples go to the history only, each
domain's other groups (balloon, block, ...) carried from the last full
collection; /metrics and the other outputs still read the sampler's
snapshots. Domains the sampler has not seen yet (no tenancy) wait for its
next collection. One thread, stopped with the service.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from enricher import exceptions, health
from enricher.exporters.history import History
from enricher.health import ErrorCounts
from enricher.libvirt.connection import Connection
from enricher.libvirt.host_cpu import HostCpuTime
from enricher.libvirt.stats import StatsReader

LOG = logging.getLogger(__name__)


def light_reader(host_cpu: HostCpuTime | None) -> StatsReader:
    """A reader of the cheap groups (with ``cpu`` and ``vcpu`` from the host if it can)."""
    if host_cpu is not None and host_cpu.cpu and host_cpu.vcpus:
        return StatsReader(("state", "cpu", "vcpu", "interface"), host_cpu=host_cpu)
    return StatsReader(("state", "cpu", "interface"), host_cpu=host_cpu)


class HistorySampler:
    """Feeds ``history`` with light samples every ``interval`` seconds."""

    def __init__(self, connection: Connection, reader: StatsReader, history: History,
                 interval: float, errors: ErrorCounts,
                 clock: Callable[[], float] = time.time) -> None:
        self._connection = connection
        self._reader = reader
        self._history = history
        self.interval = interval
        self._errors = errors
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.collections = 0

    def collect(self) -> int:
        """One light collection; how many domains got a record."""
        if not self._connection.connected:
            return 0  # the sampler reconnects; this loop never opens connections
        try:
            collection = self._reader.collect(self._connection.get())
        except exceptions.LibvirtError as exc:
            self._errors.add("history", "stats_failed")
            LOG.debug("Light history collection failed: %s", exc)
            return 0
        self.collections += 1
        return self._history.add_light(self._clock(), collection.samples)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.collect()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def start(self) -> None:
        if self._thread is None:
            self._thread = health.supervised("history-sampler", self._run, self._stop,
                                             self._errors.threads)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
