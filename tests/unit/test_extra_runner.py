"""The runner: outcomes per selector, isolation between domains, what gets counted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from enricher.extra import catalog
from enricher.extra.base import NotReported, Point, Selector
from enricher.extra.runner import ExtraRunner, classify
from enricher.health import ErrorCounts
from enricher.libvirt import errors as libvirt_errors
from enricher.libvirt.stats import DomainSample
from tests.unit.test_extra_pool import _wait_for
from tests.unit.test_extra_selectors import FakeDom, libvirt_error, sample

A, B, C = ("7a1f3c2e-0000-4000-8000-00000000000%d" % i for i in (1, 2, 3))


class Answers(Selector):
    """A calling selector whose answer per domain a test decides."""

    name = "answers"
    calls = True

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def call(self, dom: Any, sample: Any) -> list[Point]:
        answer = self.answers[sample.uuid]
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, threading.Event):
            answer.wait()
            return []
        return [Point("libvirt_domain_vcpu_affinity", answer, ("0", "0"))]


class Derived(Selector):
    name = "derived"

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def derive(self, samples: Any, domains: Any, at: float) -> dict[str, list[Point]]:
        if self.fail:
            raise ZeroDivisionError("no vcpus")
        return {s.uuid: [Point("libvirt_domain_state_severity", 0)] for s in samples}


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def _run(selectors: list[Selector], errors: ErrorCounts | None = None,
         uuids: tuple[str, ...] = (A, B, C), timeout: float = 5.0
         ) -> tuple[ExtraRunner, list[DomainSample], dict[str, FakeDom]]:
    runner = ExtraRunner(selectors, timeout=timeout, workers=2, errors=errors)
    samples = [sample(uuid=u) for u in uuids]
    domains = {u: FakeDom() for u in uuids}
    return runner, samples, domains


@pytest.mark.parametrize(("error", "outcome"), [
    (NotReported("no_agent"), "no_agent"),
    (libvirt_error(libvirt.VIR_ERR_NO_SUPPORT), "unsupported"),
    (libvirt_error(libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED), "unsupported"),
    (libvirt_error(libvirt.VIR_ERR_OPERATION_UNSUPPORTED), "unsupported"),
    (libvirt_error(libvirt.VIR_ERR_OPERATION_DENIED), "denied"),
    (libvirt_error(libvirt.VIR_ERR_NO_DOMAIN), "domain_gone"),
    (libvirt_error(libvirt.VIR_ERR_OPERATION_INVALID, "domain is not running"), "inactive"),
    (libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR), "error"),
    (KeyError("x"), "error"),
])
def test_classify(error: BaseException, outcome: str) -> None:
    if isinstance(error, libvirt.libvirtError):  # as the runner sees it: translated
        error = libvirt_errors.classify(error)
    assert classify(error) == outcome


def test_one_failing_domain_costs_only_its_own_series() -> None:
    errors = ErrorCounts()
    selector = Answers({A: 1, B: libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR), C: 0})
    runner, samples, domains = _run([selector, Derived()], errors)
    try:
        result = runner.collect(samples, domains, 0.0)
    finally:
        runner.stop()
    assert {p.family for p in result.points[A]} == {
        "libvirt_domain_vcpu_affinity", "libvirt_domain_state_severity"}
    assert [p.family for p in result.points[B]] == ["libvirt_domain_state_severity"]
    assert result.calls == {("answers", "ok"): 2, ("answers", "error"): 1}
    assert errors.get("extra", "answers_error") == 1


def test_unsupported_and_no_agent_are_not_errors() -> None:
    errors = ErrorCounts()
    selector = Answers({A: libvirt_error(libvirt.VIR_ERR_NO_SUPPORT),
                        B: NotReported("no_agent"),
                        C: libvirt_error(libvirt.VIR_ERR_OPERATION_DENIED)})
    runner, samples, domains = _run([selector], errors)
    try:
        result = runner.collect(samples, domains)
    finally:
        runner.stop()
    assert result.points == {}
    assert result.calls == {("answers", "ok"): 0, ("answers", "unsupported"): 1,
                            ("answers", "no_agent"): 1, ("answers", "denied"): 1}
    assert errors.snapshot() == {}


def test_a_hung_domain_times_out_then_is_busy(gate: threading.Event) -> None:
    errors = ErrorCounts()
    runner, samples, domains = _run([Answers({A: gate, B: 1, C: 1})], errors, timeout=0.2)
    try:
        first = runner.collect(samples, domains)
        second = runner.collect(samples, domains)
    finally:
        gate.set()
        runner.stop()
    assert set(first.points) == {B, C} == set(second.points)
    assert first.calls[("answers", "timeout")] == 1 and first.busy == 1
    assert second.calls[("answers", "busy")] == 1
    assert second.calls[("answers", "ok")] == 4
    assert errors.get("extra", "answers_timeout") == 1


def test_a_failing_derive_is_counted_and_the_rest_still_runs() -> None:
    errors = ErrorCounts()
    runner, samples, domains = _run([Derived(fail=True), Answers({A: 1, B: 1, C: 1})],
                                    errors)
    try:
        result = runner.collect(samples, domains)
    finally:
        runner.stop()
    assert result.calls[("derived", "error")] == 1
    assert set(result.points) == {A, B, C}
    assert errors.get("extra", "derived_error") == 1


def test_inactive_domains_get_no_calls() -> None:
    selector = Answers({A: 1})
    runner = ExtraRunner([selector], timeout=5, workers=1)
    try:
        result = runner.collect([sample(uuid=A), sample(uuid=B, active=False, state=5)],
                                {A: FakeDom(), B: FakeDom(domain_id=-1)})
    finally:
        runner.stop()
    assert set(result.points) == {A}
    assert result.calls == {("answers", "ok"): 1}


def test_without_calling_selectors_there_is_no_pool() -> None:
    runner = ExtraRunner([Derived()], timeout=1, workers=1)
    assert runner.pool is None
    result = runner.collect([sample(uuid=A)], {A: FakeDom()})
    assert result.calls == {} and list(result.points) == [A]
    assert runner.idle().points == {}


def test_catalog_builds_each_selector_once_in_order() -> None:
    selectors = catalog.build(["vcpupin", "cpu_util", "vcpupin", "job_stats_completed",
                               "job_stats_background"])
    assert [s.name for s in selectors] == [
        "cpu_util", "job_stats_background", "job_stats_completed", "vcpupin"]
    with pytest.raises(ValueError, match="nosuch"):
        catalog.build(["nosuch"])


def test_selectors_add_the_bulk_groups_they_rely_on() -> None:
    selectors = catalog.build(["cpu_util", "pcpu", "memory", "perf", "disk_err"])
    assert catalog.stats_groups(["state", "block"], selectors) == [
        "state", "block", "cpu", "vcpu", "perf", "balloon"]


class FakeConnection:
    """A virConnect stand-in that records which thread used it."""

    opened: list[FakeConnection] = []

    def __init__(self) -> None:
        self.threads: set[str] = set()
        self.lookups: list[str] = []
        self.closed = False
        FakeConnection.opened.append(self)

    def lookupByUUIDString(self, uuid: str) -> FakeDom:  # noqa: N802 - libvirt's name
        self.threads.add(threading.current_thread().name)
        self.lookups.append(uuid)
        return FakeDom(domain_id=42)

    def close(self) -> int:
        self.closed = True
        return 0


class WhichDom(Selector):
    name = "which"
    calls = True

    def call(self, dom: Any, sample: Any) -> list[Point]:
        return [Point("libvirt_domain_vcpu_affinity", dom.ID(), ("0", "0"))]


def test_workers_call_on_connections_of_their_own() -> None:
    FakeConnection.opened = []
    runner = ExtraRunner([WhichDom(), Answers({A: 1, B: 1, C: 1})], timeout=5, workers=2,
                         opener=FakeConnection)
    try:
        result = runner.collect([sample(uuid=u) for u in (A, B, C)],
                                {u: FakeDom(domain_id=7) for u in (A, B, C)})
    finally:
        runner.stop()
    # The domain was looked up on the worker's connection, once per lane.
    assert {p.value for u in (A, B, C) for p in result.points[u]
            if p.labels == ("0", "0") and p.value != 1} == {42}
    assert sorted(u for c in FakeConnection.opened for u in c.lookups) == [A, B, C]
    assert 1 <= len(FakeConnection.opened) <= 2
    assert all(len(c.threads) == 1 for c in FakeConnection.opened)
    # Workers close their connection as they exit.
    _wait_for(lambda: all(c.closed for c in FakeConnection.opened))


def test_a_broken_worker_connection_is_reopened() -> None:
    FakeConnection.opened = []
    lost = libvirt_error(libvirt.VIR_ERR_NO_CONNECT, "no connection driver")
    runner = ExtraRunner([Answers({A: lost})], timeout=5, workers=1, opener=FakeConnection)
    try:
        first = runner.collect([sample(uuid=A)], {A: FakeDom()})
        runner.collect([sample(uuid=A)], {A: FakeDom()})
    finally:
        runner.stop()
    assert first.calls[("answers", "error")] == 1
    assert len(FakeConnection.opened) == 2
    assert FakeConnection.opened[0].closed
