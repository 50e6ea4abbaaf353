"""CPU and vCPU times read on the host agree with libvirt's and never go back.

The enricher runs with its defaults for ``[libvirt] cpu_time_from_cgroup``
and ``vcpu_times_from_proc`` (on) against the real libvirtd, collecting every
second, slow groups every third collection. Between two reads of libvirt's
own ``cpu.time`` (or ``vcpu.0.time``) for a guest, the exported value must
lie between them: a wrong cgroup or thread (another guest's, the wrong
hierarchy, the wrong unit) would not.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from tests.e2e.harness import procs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, launch_enricher
from tests.exposition import Samples, parse

CPU = "libvirt_domain_cpu_time_seconds_total"
VCPU = "libvirt_domain_vcpu_time_seconds_total"
DELAY = "libvirt_domain_vcpu_delay_seconds_total"
VCPUS = "libvirt_domain_info_vcpus"
MAX_VCPUS = "libvirt_domain_info_maximum_vcpus"
FROM_CGROUP = "enricher_domains_cpu_time_from_cgroup"
FROM_PROC = "enricher_domains_vcpu_times_from_proc"


@pytest.fixture(scope="module")
def enricher(libvirt_host: Any, e2e_domains: dict[str, E2EDomain],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnricherProcess]:
    config = {
        "DEFAULT": {"interval": 1},
        "libvirt": {"slow_stats_every": 3},
        "events": {"enabled": "false"},
    }
    workdir = tmp_path_factory.mktemp("cgroup-cpu-" + secrets.token_hex(2))
    with launch_enricher(workdir, libvirt_host.uri, config) as proc:
        yield proc


def _cpu(samples: Samples, uuid: str, name: str = CPU, **labels: str) -> float | None:
    values = [s.value for s in samples.get(name, []) if s.labels.get("uuid") == uuid
              and all(s.labels.get(k) == v for k, v in labels.items())]
    return values[0] if len(values) == 1 else None


def _libvirt_stats(conn: libvirt.virConnect, dom: libvirt.virDomain) -> dict[str, int]:
    groups = libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_VCPU
    return conn.domainListGetStats([dom], groups, 0)[0][1]


def _bracketed(enricher: EnricherProcess, conn: libvirt.virConnect,
               doms: dict[str, libvirt.virDomain], rounds: int
               ) -> Iterator[tuple[dict[str, dict[str, int]], Samples, dict[str, dict[str, int]]]]:
    """(libvirt's stats before, a scrape, libvirt's stats after), ``rounds`` times."""
    for _ in range(rounds):
        before = {u: _libvirt_stats(conn, d) for u, d in doms.items()}
        time.sleep(1.5)  # at least one collection starts after ``before``
        samples = parse(enricher.scrape())
        after = {u: _libvirt_stats(conn, d) for u, d in doms.items()}
        yield before, samples, after


def _within(before: dict[str, int], value: float | None, after: dict[str, int],
            key: str) -> float:
    """``value`` (seconds) lies between libvirt's ``key`` (ns) before and after."""
    assert value is not None, key
    low, high = before[key] / 1e9, after[key] / 1e9
    assert low - 1e-6 <= value <= high + 1e-6, (key, low, value, high)
    return value


def test_cgroup_cpu_time_lies_between_two_libvirt_reads(
        enricher: EnricherProcess, e2e_domains: dict[str, E2EDomain],
        libvirt_conn: libvirt.virConnect) -> None:
    guests = list(e2e_domains.values())
    doms = {g.uuid: libvirt_conn.lookupByUUIDString(g.uuid) for g in guests}
    procs.wait_until(lambda: all(_cpu(parse(enricher.scrape()), g.uuid) for g in guests),
                     60, what="CPU time of both guests", details=enricher.log_tail)
    exported: dict[str, list[float]] = {g.uuid: [] for g in guests}
    # More than two slow rounds.
    for before, samples, after in _bracketed(enricher, libvirt_conn, doms, 7):
        assert samples[FROM_CGROUP][0].value >= len(guests), enricher.log_tail()
        for uuid in doms:
            value = _within(before[uuid], _cpu(samples, uuid), after[uuid], "cpu.time")
            exported[uuid].append(value)
    for uuid, values in exported.items():
        assert values == sorted(values), f"CPU time of {uuid} went back: {values}"
        assert values[-1] > values[0]
    log = enricher.log_path.read_text()
    for guest in guests:
        assert f"CPU time of domain {guest.name} comes from libvirt" not in log


def test_vcpu_times_from_proc_lie_between_two_libvirt_reads(
        enricher: EnricherProcess, e2e_domains: dict[str, E2EDomain],
        libvirt_conn: libvirt.virConnect) -> None:
    guests = list(e2e_domains.values())
    doms = {g.uuid: libvirt_conn.lookupByUUIDString(g.uuid) for g in guests}
    procs.wait_until(
        lambda: all(_cpu(parse(enricher.scrape()), g.uuid, VCPU, vcpu="0") for g in guests),
        60, what="vCPU time of both guests", details=enricher.log_tail)
    exported: dict[str, list[float]] = {g.uuid: [] for g in guests}
    for before, samples, after in _bracketed(enricher, libvirt_conn, doms, 5):
        assert samples[FROM_PROC][0].value >= len(guests), enricher.log_tail()
        for uuid in doms:
            value = _within(before[uuid], _cpu(samples, uuid, VCPU, vcpu="0"), after[uuid],
                            "vcpu.0.time")
            _within(before[uuid], _cpu(samples, uuid, DELAY, vcpu="0"), after[uuid],
                    "vcpu.0.delay")
            assert _cpu(samples, uuid, VCPUS) == after[uuid]["vcpu.current"]
            assert _cpu(samples, uuid, MAX_VCPUS) == after[uuid]["vcpu.maximum"]
            exported[uuid].append(value)
    for uuid, values in exported.items():
        assert values == sorted(values), f"vCPU time of {uuid} went back: {values}"
    log = enricher.log_path.read_text()
    for guest in guests:
        assert f"vCPU times of domain {guest.name} come from libvirt" not in log
