"""Run the configured selectors after each bulk call; isolate domains from each other.

Derived selectors run in the sampler's thread on the bulk samples. Selectors
that call libvirt run in a :class:`LanePool`: one lane per domain, each call
bounded by the timeout, so a domain that hangs or fails costs only its own
extra series. Every call ends in one outcome, counted per selector in
``enricher_extra_calls_total``.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from enricher import exceptions
from enricher.extra import catalog
from enricher.extra.base import NotReported, Point, Selector
from enricher.extra.pool import Call, Lane, LanePool
from enricher.health import ErrorCounts
from enricher.libvirt.errors import translated
from enricher.libvirt.worker_connections import WorkerConnections, opener

if TYPE_CHECKING:
    from oslo_config import cfg

LOG = logging.getLogger(__name__)

OK = "ok"
TIMEOUT = "timeout"
BUSY = "busy"
SKIPPED = "skipped"
UNSUPPORTED = "unsupported"
DENIED = "denied"
DOMAIN_GONE = "domain_gone"
INACTIVE = "inactive"
ERROR = "error"

# Outcomes that are expected and only logged at DEBUG.
QUIET = frozenset({OK, UNSUPPORTED, DOMAIN_GONE, INACTIVE, "no_agent", BUSY, SKIPPED})

# Outcomes of the libvirt failures that have one; any other failure is an error.
_OUTCOMES: tuple[tuple[type[exceptions.LibvirtError], str], ...] = (
    (exceptions.LibvirtUnsupported, UNSUPPORTED),
    (exceptions.LibvirtDenied, DENIED),
    (exceptions.DomainGone, DOMAIN_GONE),
    (exceptions.DomainInactive, INACTIVE),  # stopped or paused since the bulk call
)


def classify(error: BaseException) -> str:
    """The outcome name of a call that raised ``error`` (already translated)."""
    if isinstance(error, NotReported):
        return error.outcome
    for cls, outcome in _OUTCOMES:
        if isinstance(error, cls):
            return outcome
    return ERROR


@dataclasses.dataclass(frozen=True, slots=True)
class ExtraResult:
    """The extra statistics of one collection; exporters only read it."""

    points: Mapping[str, tuple[Point, ...]]  # by domain UUID
    calls: Mapping[tuple[str, str], int]  # (selector, outcome) -> count since start
    duration: float = 0.0
    busy: int = 0  # domains skipped because an earlier call is still stuck


class _Target:
    """The domain of one lane: the bulk call's virDomain, or the worker's own lookup."""

    def __init__(self, uuid: str, dom: Any, connections: WorkerConnections | None) -> None:
        self._uuid = uuid
        self._dom = dom
        self._connections = connections
        self._looked_up = connections is None

    def call(self, selector: Selector, sample: Any) -> list[Point]:
        if not self._looked_up:  # the lane's calls all run on one worker, in order
            self._dom = self._connections.domain(self._uuid)
            self._looked_up = True
        try:
            with translated():
                return selector.call(self._dom, sample)
        except exceptions.LibvirtError as exc:
            if self._connections is not None:
                self._connections.failed(exc)
            raise


class ExtraRunner:
    """Owns the selectors, their worker pool and the outcome counts.

    With ``opener`` (a function returning a new libvirt connection) each
    worker makes its calls on a connection of its own, so that one stuck
    call cannot delay the answers to the others; without it, calls use the
    bulk call's virDomain objects.
    """

    def __init__(self, selectors: Sequence[Selector], timeout: float, workers: int,
                 errors: ErrorCounts | None = None,
                 opener: Callable[[], Any] | None = None) -> None:
        self.selectors = tuple(selectors)
        self._callers = tuple(s for s in self.selectors if s.calls)
        self._connections = WorkerConnections(opener) if opener is not None else None
        self._pool = (LanePool(workers, timeout, on_exit=self._connections.close
                               if self._connections is not None else None)
                      if self._callers else None)
        self._errors = errors or ErrorCounts()
        self._counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self._logged: set[tuple[str, str]] = set()
        for caller in self._callers:
            self._counts[(caller.name, OK)] += 0  # the family exists from the start

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, errors: ErrorCounts) -> ExtraRunner | None:
        """The runner for ``[DEFAULT] extra_stats``, or None when it is empty."""
        selectors = catalog.build(conf.extra_stats, conf.extra_stats_dirtyrate_period)
        if not selectors:
            return None
        names = [s.name for s in selectors]
        LOG.info("Extra statistics: %s (per-call timeout %.1f s, %d workers)",
                 ", ".join(names), conf.extra_stats_timeout, conf.extra_stats_workers)
        if conf.libvirt.read_only and ("fs_info" in names or (
                "dirtyrate" in names and conf.extra_stats_dirtyrate_period)):
            LOG.warning("fs_info and starting dirty rate calculations need a read-write "
                        "libvirt connection; [libvirt] read_only is true")
        return cls(selectors, conf.extra_stats_timeout, conf.extra_stats_workers, errors,
                   opener(conf.libvirt.connection_uri, conf.libvirt.read_only))

    @property
    def pool(self) -> LanePool | None:
        return self._pool

    def collect(self, samples: Sequence[Any], domains: Mapping[str, Any],
                at: float | None = None) -> ExtraResult:
        """Extra points for ``samples`` (uuid -> virDomain in ``domains``)."""
        started = time.monotonic()
        at = started if at is None else at
        points: dict[str, list[Point]] = collections.defaultdict(list)
        for selector in self.selectors:
            self._derive(selector, samples, domains, at, points)
        if self._pool is not None:
            lanes = self._lanes(samples, domains)
            self._pool.run(lanes)
            for lane in lanes:
                self._settle(lane, points)
        return ExtraResult(
            MappingProxyType({uuid: tuple(p) for uuid, p in points.items()}),
            MappingProxyType(dict(self._counts)), time.monotonic() - started,
            len(self._pool.busy()) if self._pool is not None else 0)

    def idle(self) -> ExtraResult:
        """A result without points (libvirt unreachable) that keeps the counts."""
        return ExtraResult(MappingProxyType({}), MappingProxyType(dict(self._counts)))

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.stop()

    def _derive(self, selector: Selector, samples: Sequence[Any],
                domains: Mapping[str, Any], at: float,
                points: dict[str, list[Point]]) -> None:
        try:
            derived = selector.derive(samples, domains, at)
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            self._count(selector.name, ERROR, "", exc)
            return
        for uuid, found in derived.items():
            points[uuid].extend(found)

    def _lanes(self, samples: Sequence[Any], domains: Mapping[str, Any]) -> list[Lane]:
        lanes = []
        for sample in samples:
            dom = domains.get(sample.uuid)
            callers = [s for s in self._callers if dom is not None and s.wants(sample)]
            if callers:
                target = _Target(sample.uuid, dom, self._connections)
                lanes.append(Lane(sample.uuid, [
                    Call(s.name, functools.partial(target.call, s, sample)) for s in callers]))
        return lanes

    def _settle(self, lane: Lane, points: dict[str, list[Point]]) -> None:
        if lane.skipped:
            for label in lane.not_run:
                self._count(label, BUSY, lane.key)
            return
        for outcome in lane.outcomes:
            if outcome.error is None:
                points[lane.key].extend(outcome.value)
                self._count(outcome.label, OK, lane.key)
            else:
                self._count(outcome.label, classify(outcome.error), lane.key, outcome.error)
        if lane.timed_out:
            self._count(lane.timed_out, TIMEOUT, lane.key)
            for label in lane.not_run:
                self._count(label, SKIPPED, lane.key)

    def _count(self, selector: str, outcome: str, uuid: str,
               error: BaseException | None = None) -> None:
        """Count one outcome; log the first of each kind, count failures as errors."""
        self._counts[(selector, outcome)] += 1
        if outcome in (ERROR, TIMEOUT):
            self._errors.add("extra", "%s_%s" % (selector, outcome))
        first = (selector, outcome) not in self._logged
        self._logged.add((selector, outcome))
        if outcome == TIMEOUT or (outcome in QUIET and error is None):
            return  # the pool logs timeouts; ok, busy and skipped need no words
        if not first or outcome in QUIET:
            LOG.debug("%s reports nothing for %s (%s): %s", selector, uuid, outcome, error)
        elif outcome == DENIED:
            LOG.warning("%s is not allowed on this connection (%s); it needs [libvirt] "
                        "read_only = false", selector, error)
        else:
            LOG.warning("%s failed for domain %s (%s): %s", selector, uuid, outcome, error,
                        exc_info=not isinstance(error, exceptions.LibvirtError))
