"""Disk counters stay fresh between slow collections on a real guest, at half the QMP cost.

A guest whose boot sector reads its disk for ever (INT 13h in a loop) keeps
its read counter moving. The enricher collects every second and asks for the
block group only every fourth time ([libvirt] disk_counters_per_domain, on by
default); in between, the guest's single disk is refreshed with one
virDomainBlockStatsFlags call. Every scrape's read counter must lie between
two reads of libvirt's own block group around it, rise from scrape to scrape
(fast collections included), and capacity must still be there.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from enricher.libvirt import block_stats_call
from tests.e2e import harness_extra as hx
from tests.e2e.harness import procs
from tests.e2e.harness.enricher_proc import EnricherProcess
from tests.e2e.harness_extra import Samples, parse

READS = "libvirt_domain_block_read_requests_total"
CAPACITY = "libvirt_domain_block_capacity_bytes"
REFRESHES = "enricher_disk_counter_refreshes_total"


@pytest.fixture(scope="module")
def reader_guest(libvirt_host: Any, libvirt_conn: libvirt.virConnect,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[hx.Guest]:
    for leftover in hx.cleanup_leftovers(libvirt_conn):
        print("destroyed leftover", leftover)
    guest = hx.make_guest(secrets.token_hex(3), "reader",
                          tmp_path_factory.mktemp("disk-counter-guest"), "0")
    try:
        hx.boot(libvirt_conn, guest, hx.READER, libvirt_host.domain_type)
        yield guest
    finally:
        hx.destroy(libvirt_conn, guest.name)


@pytest.fixture(scope="module")
def enricher(reader_guest: hx.Guest, libvirt_host: Any,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnricherProcess]:
    config = {
        "DEFAULT": {"interval": 1},
        "libvirt": {"connection_uri": libvirt_host.uri, "slow_stats_every": 4},
        "events": {"enabled": "false"},
    }
    with hx.launch_enricher(tmp_path_factory.mktemp("disk-counter-enricher"),
                            procs.free_port(), config) as proc:
        yield proc


def _value(samples: Samples, name: str, uuid: str, **labels: str) -> float | None:
    values = [s.value for s in samples.get(name, []) if s.labels.get("uuid") == uuid
              and all(s.labels.get(k) == v for k, v in labels.items())]
    return values[0] if len(values) == 1 else None


def _refreshes(samples: Samples, path: str) -> float:
    return next(s.value for s in samples[REFRESHES] if s.labels["path"] == path)


def _libvirt_reads(conn: libvirt.virConnect, dom: libvirt.virDomain) -> int:
    raw = conn.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_BLOCK, 0)[0][1]
    assert raw["block.0.name"] == "vda"
    return raw["block.0.rd.reqs"]


def test_read_counter_is_fresh_between_slow_collections(
        enricher: EnricherProcess, reader_guest: hx.Guest,
        libvirt_conn: libvirt.virConnect) -> None:
    dom = libvirt_conn.lookupByUUIDString(reader_guest.uuid)
    uuid = reader_guest.uuid
    procs.wait_until(lambda: _value(parse(enricher.scrape()), READS, uuid, device="vda"),
                     60, what="the reader guest's read counter", details=enricher.log_tail)
    first = parse(enricher.scrape())
    seen = []
    for _ in range(8):  # two slow collections and six fast ones at least
        before = _libvirt_reads(libvirt_conn, dom)
        time.sleep(1.5)  # at least one collection starts after ``before``
        samples = parse(enricher.scrape())
        after = _libvirt_reads(libvirt_conn, dom)
        value = _value(samples, READS, uuid, device="vda")
        assert value is not None and before <= value <= after, (before, value, after)
        assert _value(samples, CAPACITY, uuid, device="vda") == hx.DISK_BYTES
        seen.append(value)
    assert all(b > a for a, b in itertools.pairwise(seen)), f"read counter stalled: {seen}"
    per_domain = _refreshes(samples, "per_domain") - _refreshes(first, "per_domain")
    assert per_domain >= 4, f"only {per_domain} per-domain refreshes in 12 s"
    assert _refreshes(samples, "late") == _refreshes(samples, "failed") == 0


def test_one_call_binding_answers_as_libvirt_python_does(
        reader_guest: hx.Guest, libvirt_conn: libvirt.virConnect) -> None:
    """The ctypes call returns libvirt-python's fields, counters bracketed by its calls."""
    dom = libvirt_conn.lookupByUUIDString(reader_guest.uuid)
    before = dom.blockStatsFlags("vda", 0)
    ours = block_stats_call.block_stats(dom, "vda")
    after = dom.blockStatsFlags("vda", 0)
    assert set(ours) == set(before) == set(after)
    assert {"rd_operations", "rd_bytes", "rd_total_times", "flush_total_times"} <= set(ours)
    for field, value in ours.items():
        assert before[field] <= value <= after[field], field
    assert after["rd_operations"] > before["rd_operations"]  # the guest is reading
    with pytest.raises(libvirt.libvirtError) as caught:
        block_stats_call.block_stats(dom, "vdz")
    assert caught.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
