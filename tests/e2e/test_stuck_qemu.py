"""A QEMU that stops answering (SIGSTOP): the others stay fresh, the stuck one is marked.

The enricher collects in the background every second with every default
stats group, so its bulk call asks each QEMU's monitor for block, balloon and
vCPU figures. The victim's QEMU is sent SIGSTOP: the call that asks it waits
for ever (libvirt has no monitor timeout). Two ways that goes:

* the enricher's own call is the one stuck: after ``[libvirt] stats_timeout``
  it leaves that call behind and calls again with NOWAIT, which skips the
  victim's monitor figures;
* another client (Nova, a second exporter) got stuck first and holds the
  victim's job: the enricher's NOWAIT calls never wait, and return the victim
  without monitor figures.

Either way, on consecutive collections while the victim is stopped:
``libvirt_up`` is 1, the healthy guest's CPU time advances on every
collection, the victim has ``libvirt_domain_timed_out 1`` and keeps its state
series, and its block series (monitor figures) are gone until SIGCONT, after
which everything comes back.

The daemon is a private libvirtd, so no other test's enricher is a client:
which client gets stuck is the test's choice, not a race.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest

from tests.e2e.harness import bootsector, domains, libvirtd, private_libvirtd, procs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, launch_enricher
from tests.e2e.harness.series import assert_tenant_labels, of
from tests.exposition import Samples

LOG = logging.getLogger(__name__)

NAME_PREFIX = "enr-stuck-"
STATS_TIMEOUT = 2.0
INTERVAL = 1.0
COLLECTIONS = 5  # consecutive collections checked while the victim is stopped
BLOCK = "libvirt_domain_block_read_bytes_total"
CPU = "libvirt_domain_cpu_time_seconds_total"

_why_not = private_libvirtd.unsupported()
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(_why_not is not None, reason=_why_not or "")]


@pytest.fixture(scope="module")
def daemon() -> Iterator[private_libvirtd.PrivateLibvirtd]:
    with private_libvirtd.running(NAME_PREFIX) as private:
        yield private


@pytest.fixture(scope="module")
def conn(daemon: private_libvirtd.PrivateLibvirtd) -> Iterator[libvirt.virConnect]:
    opened = libvirtd.wait_for_connection(daemon.uri, 30)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def pair(conn: libvirt.virConnect) -> Iterator[dict[str, E2EDomain]]:
    """A healthy guest (idle: its timer interrupts use CPU) and a victim."""
    workdir, made = domains.fresh_specs(conn, NAME_PREFIX, ("ok", "victim"))
    domain_type = libvirtd.detect_domain_type(conn)
    try:
        domains.boot_code(conn, made["ok"], domain_type, bootsector.IDLE)
        domains.boot_code(conn, made["victim"], domain_type, bootsector.HALT)
        yield made
    finally:
        domains.remove_specs(conn, made.values())
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def enricher(pair: dict[str, E2EDomain], daemon: private_libvirtd.PrivateLibvirtd,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnricherProcess]:
    config = {
        "DEFAULT": {"interval": INTERVAL},
        "libvirt": {"stats_timeout": STATS_TIMEOUT,
                    "qemu_pid_dir": str(daemon.qemu_pid_dir)},
        "events": {"enabled": "false"},
    }
    with launch_enricher(tmp_path_factory.mktemp("stuck-qemu-enricher"), daemon.uri,
                         config) as proc:
        yield proc


def _value(samples: Samples, name: str, guest: E2EDomain) -> float | None:
    found = of(samples, name, guest)
    return found[0].value if found else None


def _collected_at(samples: Samples) -> float:
    return samples["enricher_collection_timestamp_seconds"][0].value


def _stats_errors(samples: Samples) -> dict[str, float]:
    return {s.labels["kind"]: s.value for s in samples.get("enricher_errors_total", [])
            if s.labels["source"] == "libvirt"}


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


def healthy_before(enricher: EnricherProcess, ok: E2EDomain, victim: E2EDomain) -> Samples:
    return wait_for(enricher, lambda s: _value(s, BLOCK, ok) is not None
                    and _value(s, BLOCK, victim) is not None
                    and _value(s, "libvirt_domain_timed_out", victim) == 0,
                    "both guests' block series, not timed out")


def stuck_collections(enricher: EnricherProcess, victim: E2EDomain
                      ) -> tuple[float, list[Samples]]:
    """Seconds until the victim is marked, and the next COLLECTIONS scrapes."""
    stopped = time.monotonic()
    samples = wait_for(enricher, lambda s: _value(s, "libvirt_domain_timed_out", victim)
                       == 1, "libvirt_domain_timed_out 1 for the victim")
    marked = time.monotonic() - stopped
    seen: list[Samples] = []
    for _ in range(COLLECTIONS):
        samples = next_collection(enricher, _collected_at(samples))
        seen.append(samples)
    return marked, seen


def assert_stuck_but_fresh(seen: list[Samples], ok: E2EDomain, victim: E2EDomain) -> None:
    for samples in seen:
        assert samples["libvirt_up"][0].value == 1
        assert _value(samples, "libvirt_domain_timed_out", ok) == 0
        assert _value(samples, "libvirt_domain_timed_out", victim) == 1
        assert _value(samples, BLOCK, ok) is not None
        # What is exported for the stuck domain: what needs no monitor (state,
        # tenancy, the marker), not its monitor figures.
        assert _value(samples, "libvirt_domain_info_state", victim) == 1
        assert _value(samples, BLOCK, victim) is None
        assert_tenant_labels(of(samples, "libvirt_domain_timed_out", victim)[0].labels,
                             victim)
    times = [_value(s, CPU, ok) for s in seen]
    assert all(b > a for a, b in zip(times, times[1:], strict=False)), times
    durations = [s["enricher_collection_duration_seconds"][0].value for s in seen]
    assert max(durations) < STATS_TIMEOUT, durations  # nobody waits for the stuck call


def recovered(enricher: EnricherProcess, victim: E2EDomain) -> Samples:
    return wait_for(enricher, lambda s: _value(s, "libvirt_domain_timed_out", victim) == 0
                    and _value(s, BLOCK, victim) is not None,
                    "the victim's block series after SIGCONT")


def test_a_stopped_qemu_is_marked_and_the_others_stay_fresh(
        enricher: EnricherProcess, pair: dict[str, E2EDomain], daemon: Any,
        record_property: Callable[[str, object], None]) -> None:
    """The enricher's own bulk call is the one stuck (no other client here)."""
    ok, victim = pair["ok"], pair["victim"]
    before = _stats_errors(healthy_before(enricher, ok, victim))
    victim_pid = domains.qemu_pid(victim.name, daemon.qemu_pid_dir)
    assert victim_pid, "no QEMU process for %s" % victim.name
    with procs.frozen(victim_pid):
        marked, seen = stuck_collections(enricher, victim)
    back = recovered(enricher, victim)
    LOG.warning("stuck QEMU (own call): marked %.1f s after SIGSTOP (stats_timeout %.1f s); "
                "healthy guest's CPU time over %d collections %s", marked, STATS_TIMEOUT,
                COLLECTIONS, [_value(s, CPU, ok) for s in seen])
    record_property("stuck_qemu_marked_after", marked)
    assert marked < 2 * STATS_TIMEOUT + 4 * INTERVAL + 5, marked
    assert_stuck_but_fresh(seen, ok, victim)
    errors = _stats_errors(back)
    assert errors.get("stats_timeout", 0) > before.get("stats_timeout", 0)
    assert errors.get("stats_failed", 0) == 0
    assert "Traceback" not in enricher.log_text()


def test_a_qemu_another_client_is_stuck_on_is_marked_too(
        enricher: EnricherProcess, pair: dict[str, E2EDomain],
        daemon: private_libvirtd.PrivateLibvirtd,
        record_property: Callable[[str, object], None]) -> None:
    """Another client's call holds the stopped victim's job: no call of the
    enricher's waits or times out, and the victim is marked all the same."""
    ok, victim = pair["ok"], pair["victim"]
    before = _stats_errors(healthy_before(enricher, ok, victim))
    victim_pid = domains.qemu_pid(victim.name, daemon.qemu_pid_dir)
    assert victim_pid, "no QEMU process for %s" % victim.name
    other = libvirtd.wait_for_connection(daemon.uri, 30)
    victim_dom = other.lookupByUUIDString(victim.uuid)
    block = libvirt.VIR_DOMAIN_STATS_BLOCK
    returned = threading.Event()

    def other_client() -> None:
        try:
            other.domainListGetStats([victim_dom], block)  # no NOWAIT: waits for QEMU
        finally:
            returned.set()

    with contextlib.ExitStack() as stopped:
        # The enricher is held still while the other client's call reaches the
        # victim's monitor, so the other client is the one stuck.
        with procs.frozen(enricher.proc.pid):
            stopped.enter_context(procs.frozen(victim_pid))
            threading.Thread(target=other_client, name="other-client", daemon=True).start()
            procs.wait_until(lambda: victim_dom.controlInfo()[0]
                             == libvirt.VIR_DOMAIN_CONTROL_OCCUPIED, 10,
                             what="the other client's call on the victim's monitor")
        marked, seen = stuck_collections(enricher, victim)
    assert returned.wait(30), "the other client's call did not return after SIGCONT"
    other.close()
    back = recovered(enricher, victim)
    LOG.warning("stuck QEMU (other client): marked %.1f s after SIGSTOP", marked)
    record_property("stuck_qemu_other_client_marked_after", marked)
    # Marked once the monitor has been busy for half the deadline.
    assert marked < STATS_TIMEOUT / 2 + 4 * INTERVAL + 5, marked
    assert_stuck_but_fresh(seen, ok, victim)
    errors = _stats_errors(back)
    assert errors.get("stats_timeout", 0) == before.get("stats_timeout", 0)  # never waited
    assert errors.get("stats_failed", 0) == 0
    assert "Traceback" not in enricher.log_text()
