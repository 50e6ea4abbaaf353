"""The StatsD sending thread: every interval, the latest snapshot's lines to UDP.

It runs on its own schedule in a supervised thread and only reads the
sampler's latest snapshot, so collection never waits for it and a send never
waits for the network (the socket is non-blocking). A failing target is
logged once when it starts failing and once when it recovers; in between,
every datagram not sent is counted in ``enricher_errors_total{source="statsd"}``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import Metric

from enricher import health
from enricher.exporters.prometheus import labelled_family, value_family
from enricher.exporters.statsd import packing, sender
from enricher.exporters.statsd.lines import Formatter
from enricher.exporters.statsd.sender import UdpSender
from enricher.health import ErrorCounts
from enricher.sampler import Snapshot

LOG = logging.getLogger(__name__)

SOURCE = "statsd"  # enricher_errors_total{source}
THREAD = "statsd"
LINE_TOO_LONG = "line_too_long"


@dataclasses.dataclass
class SendStats:
    """What the sender did so far (written by its thread, read by scrapes)."""

    sent: int = 0
    failed: int = 0
    lines: int = 0
    duration: float = 0.0
    last_success: float = 0.0


class StatsdExporter:
    """Sends the lines of ``latest()`` every ``interval`` seconds."""

    def __init__(self, latest: Callable[[], Snapshot], formatter: Formatter,
                 sender: UdpSender, errors: ErrorCounts, interval: float,
                 max_datagram_bytes: int, clock: Callable[[], float] = time.time) -> None:
        self._latest = latest
        self._formatter = formatter
        self._sender = sender
        self._errors = errors
        self.interval = interval
        self._limit = max_datagram_bytes
        self._clock = clock
        self.stats = SendStats()
        self._failing: str | None = None
        self._warned_long = False
        self._stop = threading.Event()
        self._new_snapshot = threading.Event()
        # Send once per new snapshot (``wake()``) rather than on a clock of our own:
        # when the interval is the sampler's, each snapshot is sent exactly once.
        self.follow = False
        self._thread: threading.Thread | None = None

    def send_once(self) -> packing.Packed:
        """Format, pack and send the latest snapshot now (in the caller's thread)."""
        started = time.monotonic()
        packed = packing.pack(self._formatter.lines(self._latest()), self._limit)
        if packed.too_long:
            self._errors.add(SOURCE, LINE_TOO_LONG, packed.too_long)
            if not self._warned_long:
                self._warned_long = True
                LOG.warning("%d StatsD lines are longer than [statsd] max_datagram_bytes "
                            "= %d and are not sent", packed.too_long, self._limit)
        outcome = self._sender.send(packed.datagrams)
        for kind, count in outcome.failed.items():
            self._errors.add(SOURCE, kind, count)
        if outcome.refused_before:
            self._errors.add(SOURCE, sender.REFUSED, outcome.refused_before)
        stats = self.stats
        stats.sent += outcome.sent
        stats.failed += outcome.failures
        stats.lines += packed.lines
        stats.duration = time.monotonic() - started
        if not outcome.ok:
            kind = (outcome.failed.most_common(1)[0][0] if outcome.failed
                    else sender.REFUSED)
            if self._failing is None:
                LOG.warning("StatsD target %s:%d: datagrams not sent (%s); counting them "
                            "in enricher_errors_total{source=\"statsd\"} until it works",
                            self._sender.host, self._sender.port, kind)
            self._failing = kind
        else:
            if self._failing is not None:
                LOG.info("StatsD target %s:%d works again", self._sender.host,
                         self._sender.port)
            self._failing = None
            stats.last_success = self._clock()
        return packed

    def start(self) -> None:
        if self._thread is None:
            self._thread = health.supervised(THREAD, self._run, self._stop,
                                             self._errors.threads)

    def wake(self) -> None:
        """A new snapshot is out: send it soon (see ``follow``)."""
        self._new_snapshot.set()

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            self._new_snapshot.clear()
            started = time.monotonic()
            self.send_once()
            if self.follow:
                self._wait_for_snapshot(started)
                continue
            due += self.interval
            now = time.monotonic()
            if due < now:  # a send took longer than the interval: skip, don't pile up
                due = now + self.interval
            self._stop.wait(due - now)

    def _wait_for_snapshot(self, started: float) -> None:
        """Until the next snapshot (not sooner than half an interval after the last
        send, not later than one and a half intervals), or the stop."""
        self._stop.wait(max(0.0, started + self.interval / 2 - time.monotonic()))
        latest = started + self.interval * 1.5
        while not self._stop.is_set() and not self._new_snapshot.is_set():
            remaining = latest - time.monotonic()
            if remaining <= 0:
                return
            self._new_snapshot.wait(min(remaining, 0.5))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._sender.close()

    def families(self) -> Iterator[Metric]:
        """The sender's own figures, for /metrics (only when StatsD is enabled)."""
        stats = self.stats
        yield labelled_family("enricher_statsd_datagrams_total",
                              [(("sent",), stats.sent), (("failed",), stats.failed)])
        yield value_family("enricher_statsd_lines_total", stats.lines)
        yield value_family("enricher_statsd_send_duration_seconds", stats.duration)
        yield value_family("enricher_statsd_last_success_timestamp_seconds",
                           stats.last_success)
