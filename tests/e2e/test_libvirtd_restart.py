"""libvirtd killed and restarted under a running enricher: it notices, reconnects, resumes.

The daemon is a private libvirtd (its own mount namespace, state directories
and socket), so killing it disturbs no other test or guest on the host.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import libvirtd, private_libvirtd, procs, series
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import events_config, launch_enricher
from tests.exposition import Samples

LOG = logging.getLogger(__name__)
NAME_PREFIX = "enr-rst-"
TIMEOUT = 60.0

_why_not = private_libvirtd.unsupported()
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(_why_not is not None, reason=_why_not or "")]


def _up(samples: Samples) -> float:
    return samples["libvirt_up"][0].value


def _state_labels(samples: Samples, guest: E2EDomain) -> dict[str, str] | None:
    state = series.of(samples, "libvirt_domain_info_state", guest)
    return state[0].labels if state else None


def poll(probe: Callable[[], Any], what: str, **kwargs: Any) -> Any:
    """procs.wait_until every 50 ms, for latency measurements."""
    return procs.wait_until(probe, TIMEOUT, what=what, interval=0.05, **kwargs)


@pytest.fixture
def daemon() -> Iterator[private_libvirtd.PrivateLibvirtd]:
    with private_libvirtd.running(NAME_PREFIX) as private:
        yield private


@pytest.fixture
def guest(daemon: private_libvirtd.PrivateLibvirtd, libvirt_host: libvirtd.LibvirtHost
          ) -> Iterator[E2EDomain]:
    with private_libvirtd.idle_guest(daemon, NAME_PREFIX, "r",
                                     libvirt_host.domain_type) as spec:
        yield spec


def test_enricher_survives_a_libvirtd_restart(daemon: private_libvirtd.PrivateLibvirtd,
                                             guest: E2EDomain, tmp_path: Path) -> None:
    workdir = tmp_path / "enricher"
    with launch_enricher(workdir, daemon.uri, events_config(workdir)) as enricher:
        pid = enricher.proc.pid

        def tenant_labelled() -> Samples | None:
            samples = enricher.samples()
            return samples if _up(samples) == 1 and _state_labels(samples, guest) else None

        samples = poll(tenant_labelled, "the guest's series")
        assert _state_labels(samples, guest)["project_id"] == guest.project_id

        conn = libvirtd.wait_for_connection(daemon.uri, 30)
        conn.lookupByUUIDString(guest.uuid).suspend()
        conn.close()
        poll(lambda: series.event_count(enricher.samples(), guest, "suspended") == 1,
             "the suspend before the restart")

        daemon.kill()
        killed = time.monotonic()
        poll(lambda: _up(enricher.samples()) == 0, "libvirt_up 0")
        noticed = time.monotonic() - killed

        daemon.start()
        restarted = time.monotonic()
        samples = poll(tenant_labelled, "libvirt_up 1 with the guest",
                       details=enricher.log_tail)
        recovered = time.monotonic() - restarted
        series.assert_tenant_labels(_state_labels(samples, guest), guest, "after the restart")
        # The counter from before the restart did not go backwards.
        assert series.event_count(samples, guest, "suspended") == 1

        # Events keep arriving on the new connection.
        conn = libvirtd.wait_for_connection(daemon.uri, 30)
        resumed_at = time.monotonic()
        conn.lookupByUUIDString(guest.uuid).resume()
        conn.close()

        def resumed_counted() -> Samples | None:
            samples = enricher.samples()
            counted = series.event_count(samples, guest, "resumed", "unpaused")
            return samples if counted == 1 else None

        samples = poll(resumed_counted, "the resume after the restart",
                       details=enricher.log_tail)
        event_latency = time.monotonic() - resumed_at
        resumed = series.of(samples, "libvirt_domain_events_total", guest, event="resumed")
        assert resumed[0].labels["project_name"] == guest.project_name
        assert samples["enricher_event_reconnects_total"][0].value >= 1
        assert any(r["event"] == "resumed" and r["project_id"] == guest.project_id
                   for r in enricher.events())

        assert enricher.proc.poll() is None and enricher.proc.pid == pid
        log = enricher.log_text()
        assert "Traceback" not in log, log
        LOG.warning("libvirtd restart: libvirt_up 0 after %.2f s, back to 1 %.2f s after "
                    "the restart, first event after it in %.2f s",
                    noticed, recovered, event_latency)


def test_a_hung_libvirtd_is_detected_by_keepalive(daemon: private_libvirtd.PrivateLibvirtd,
                                                  guest: E2EDomain, tmp_path: Path) -> None:
    """SIGSTOP: the socket stays open, only keepalive can tell the daemon is gone."""
    workdir = tmp_path / "enricher"
    config = events_config(workdir, keepalive_interval=1, keepalive_count=2)
    with launch_enricher(workdir, daemon.uri, config) as enricher:
        poll(lambda: _up(samples := enricher.samples()) == 1
             and _state_labels(samples, guest), "libvirt_up 1")
        daemon.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            # A scrape in flight waits for its answer until keepalive gives up.
            poll(lambda: _up(enricher.samples(timeout=30)) == 0,
                 "libvirt_up 0 from keepalive", details=enricher.log_tail)
            noticed = time.monotonic() - stopped
        finally:
            daemon.signal(signal.SIGCONT)
        continued = time.monotonic()
        poll(lambda: _up(enricher.samples(timeout=30)) == 1,
             "libvirt_up 1 after SIGCONT", details=enricher.log_tail)
        recovered = time.monotonic() - continued
        log = enricher.log_text()
        assert "keepalive" in log, log
        assert "Traceback" not in log, log
        LOG.warning("hung libvirtd: libvirt_up 0 after %.2f s (keepalive 1 s x 2), "
                    "1 again %.2f s after SIGCONT", noticed, recovered)


def test_libvirtd_killed_mid_collection(daemon: private_libvirtd.PrivateLibvirtd,
                                        guest: E2EDomain, tmp_path: Path) -> None:
    """SIGKILL while a collection is in flight: that scrape answers, libvirt_up 0, then back.

    The enricher collects at scrape time; the daemon is stopped first so the
    scrape's bulk call is surely waiting inside libvirtd when it is killed.
    """
    import concurrent.futures

    workdir = tmp_path / "enricher"
    config = events_config(workdir)
    config["DEFAULT"] = {"interval": 0}
    with launch_enricher(workdir, daemon.uri, config) as enricher:
        pid = enricher.proc.pid
        poll(lambda: _up(samples := enricher.samples()) == 1
             and _state_labels(samples, guest), "libvirt_up 1 with the guest")
        daemon.signal(signal.SIGSTOP)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            in_flight = pool.submit(enricher.samples, 60)
            time.sleep(1.0)  # the scrape's collection is waiting for the stopped daemon
            assert not in_flight.done(), "the scrape did not wait for libvirtd"
            daemon.kill()
            killed = time.monotonic()
            samples = in_flight.result(timeout=30)
        answered = time.monotonic() - killed
        assert _up(samples) == 0
        daemon.start()
        samples = poll(lambda: s if _up(s := enricher.samples()) == 1
                       and _state_labels(s, guest) else None,
                       "libvirt_up 1 with the guest after the restart",
                       details=enricher.log_tail)
        series.assert_tenant_labels(_state_labels(samples, guest), guest, "after the kill")
        errors = {s.labels["kind"]: s.value for s in samples["enricher_errors_total"]
                  if s.labels["source"] == "libvirt"}
        assert errors.get("disconnected", 0) >= 1, errors
        assert enricher.proc.poll() is None and enricher.proc.pid == pid
        log = enricher.log_text()
        assert "Traceback" not in log, log
        LOG.warning("libvirtd killed mid-collection: the scrape in flight answered "
                    "libvirt_up 0 %.2f s after the kill", answered)
