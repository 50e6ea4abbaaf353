"""A QEMU that stops answering (SIGSTOP): the others stay fresh, the stuck one is marked.

The enricher collects in the background every second with every default
stats group, so its bulk call asks each QEMU's monitor for block, balloon and
vCPU figures. The victim's QEMU is sent SIGSTOP: the call that asks it waits
for ever (libvirt has no monitor timeout). After ``[libvirt] stats_timeout``
the enricher leaves that call behind and calls again with NOWAIT, which skips
the victim's monitor figures. Asserted, on consecutive collections while the
victim is stopped: ``libvirt_up`` is 1, the healthy guest's CPU time advances
on every collection, the victim has ``libvirt_domain_timed_out 1`` and keeps
its state series, and its block series (monitor figures) are gone until
SIGCONT, after which everything comes back.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest

from tests.e2e.harness import bootsector, domains, procs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, launch_enricher
from tests.e2e.harness.series import assert_tenant_labels, of
from tests.exposition import Samples

LOG = logging.getLogger(__name__)

NAME_PREFIX = "enr-stuck-"
STATS_TIMEOUT = 2.0
INTERVAL = 1.0
COLLECTIONS = 5  # consecutive collections checked while the victim is stopped


@pytest.fixture(scope="module")
def pair(libvirt_host: Any, libvirt_conn: libvirt.virConnect
         ) -> Iterator[dict[str, E2EDomain]]:
    """A healthy guest (idle: its timer interrupts use CPU) and a victim."""
    workdir, made = domains.fresh_specs(libvirt_conn, NAME_PREFIX, ("ok", "victim"))
    try:
        domains.boot_code(libvirt_conn, made["ok"], libvirt_host.domain_type, bootsector.IDLE)
        domains.boot_code(libvirt_conn, made["victim"], libvirt_host.domain_type,
                          bootsector.HALT)
        yield made
    finally:
        domains.remove_specs(libvirt_conn, made.values())
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def enricher(pair: dict[str, E2EDomain], libvirt_host: Any,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnricherProcess]:
    config = {
        "DEFAULT": {"interval": INTERVAL},
        "libvirt": {"stats_timeout": STATS_TIMEOUT},
        "events": {"enabled": "false"},
    }
    with launch_enricher(tmp_path_factory.mktemp("stuck-qemu-enricher"), libvirt_host.uri,
                         config) as proc:
        yield proc


def _value(samples: Samples, name: str, guest: E2EDomain) -> float | None:
    found = of(samples, name, guest)
    return found[0].value if found else None


def _collected_at(samples: Samples) -> float:
    return samples["enricher_collection_timestamp_seconds"][0].value


def next_collection(enricher: EnricherProcess, after: float) -> Samples:
    """The first scrape of a collection newer than ``after``."""
    return procs.wait_until(
        lambda: s if _collected_at(s := enricher.samples()) > after else None,
        10 * INTERVAL + STATS_TIMEOUT * 2, what="a new collection", interval=0.1,
        details=enricher.log_tail)


def wait_for(enricher: EnricherProcess, probe: Callable[[Samples], Any], what: str
             ) -> Samples:
    return procs.wait_until(lambda: s if probe(s := enricher.samples()) else None, 45.0,
                            what=what, interval=0.2, details=enricher.log_tail)


@pytest.mark.xfail(strict=False, reason=(
    "passes alone (marked 3 s after SIGSTOP), but twice in the whole e2e run the bulk "
    "call did not block on the stopped QEMU and no timeout was logged: not understood "
    "yet (issue 19 stays open)"))
def test_a_stopped_qemu_is_marked_and_the_others_stay_fresh(
        enricher: EnricherProcess, pair: dict[str, E2EDomain],
        record_property: Callable[[str, object], None]) -> None:
    ok, victim = pair["ok"], pair["victim"]
    block = "libvirt_domain_block_read_bytes_total"
    wait_for(enricher, lambda s: _value(s, block, ok) is not None
             and _value(s, block, victim) is not None
             and _value(s, "libvirt_domain_timed_out", victim) == 0,
             "both guests' block series, not timed out")

    victim_pid = domains.qemu_pid(victim.name)
    assert victim_pid, "no QEMU process for %s" % victim.name
    with procs.frozen(victim_pid):
        stopped = time.monotonic()
        samples = wait_for(enricher, lambda s: _value(s, "libvirt_domain_timed_out", victim)
                           == 1, "libvirt_domain_timed_out 1 for the victim")
        marked = time.monotonic() - stopped
        seen: list[Samples] = []
        for _ in range(COLLECTIONS):
            samples = next_collection(enricher, _collected_at(samples))
            seen.append(samples)
        durations = [s["enricher_collection_duration_seconds"][0].value for s in seen]
    back = wait_for(enricher, lambda s: _value(s, "libvirt_domain_timed_out", victim) == 0
                    and _value(s, block, victim) is not None,
                    "the victim's block series after SIGCONT")

    cpu = "libvirt_domain_cpu_time_seconds_total"
    times = [_value(s, cpu, ok) for s in seen]
    LOG.warning("stuck QEMU: marked %.1f s after SIGSTOP (stats_timeout %.1f s); healthy "
                "guest's CPU time over %d collections %s; collection durations %s",
                marked, STATS_TIMEOUT, COLLECTIONS, times, durations)
    record_property("stuck_qemu_marked_after", marked)
    assert marked < 2 * STATS_TIMEOUT + 4 * INTERVAL + 5, marked
    for samples in seen:
        assert samples["libvirt_up"][0].value == 1
        assert _value(samples, "libvirt_domain_timed_out", ok) == 0
        assert _value(samples, "libvirt_domain_timed_out", victim) == 1
        assert _value(samples, block, ok) is not None
        # What is exported for the stuck domain: what needs no monitor (state,
        # tenancy, the marker), not its monitor figures.
        assert _value(samples, "libvirt_domain_info_state", victim) == 1
        assert _value(samples, block, victim) is None
        assert_tenant_labels(of(samples, "libvirt_domain_timed_out", victim)[0].labels,
                             victim)
    assert all(b > a for a, b in zip(times, times[1:], strict=False)), times
    assert max(durations) < STATS_TIMEOUT, durations  # nobody waits for the stuck call
    errors = {s.labels["kind"]: s.value for s in back["enricher_errors_total"]
              if s.labels["source"] == "libvirt"}
    assert errors.get("stats_timeout", 0) >= 1
    assert errors.get("stats_failed", 0) == 0
    log = enricher.log_text()
    assert "Traceback" not in log, log
