"""libvirtd killed and restarted under a running enricher: it notices, reconnects, resumes.

The daemon is a private libvirtd (its own mount namespace, state directories
and socket), so killing it disturbs no other test or guest on the host.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import harness_events as he
from tests.e2e.harness import libvirtd
from tests.e2e.harness.domains import E2EDomain

LOG = logging.getLogger(__name__)
TIMEOUT = 60.0

_why_not = he.private_libvirtd_unsupported()
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(_why_not is not None, reason=_why_not or "")]


def _up(samples: dict) -> float:
    return samples["libvirt_up"][0].value


def _state_labels(samples: dict, uuid: str) -> dict[str, str] | None:
    for sample in samples.get("libvirt_domain_info_state", []):
        if sample.labels["uuid"] == uuid:
            return sample.labels
    return None


@pytest.fixture
def daemon() -> Iterator[he.PrivateLibvirtd]:
    root = Path(tempfile.mkdtemp(prefix="enr-evt-libvirtd-"))
    private = he.PrivateLibvirtd(root)
    private.start()
    try:
        yield private
    finally:
        private.stop()
        private.kill_guests()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def guest(daemon: he.PrivateLibvirtd, libvirt_host: libvirtd.LibvirtHost
          ) -> Iterator[E2EDomain]:
    run_id = secrets.token_hex(3)
    workdir = he.make_workdir(run_id)
    spec = he.make_spec(run_id, "r", workdir)
    he.write_image(spec.disk_path, he.IDLE_SECTOR)
    conn = he.open_when_ready(daemon.uri)
    try:
        conn.createXML(he.guest_xml(spec, libvirt_host.domain_type))
        yield spec
    finally:
        conn.close()
        try:
            cleanup = he.open_when_ready(daemon.uri, 10)
        except AssertionError:
            LOG.warning("the private libvirtd is gone; its guests are killed by pid")
        else:
            he.remove_guest(cleanup, spec.name)
            cleanup.close()
        shutil.rmtree(workdir, ignore_errors=True)


def test_enricher_survives_a_libvirtd_restart(daemon: he.PrivateLibvirtd, guest: E2EDomain,
                                             tmp_path: Path) -> None:
    with he.launch(tmp_path / "enricher", daemon.uri) as enricher:
        pid = enricher.process.proc.pid

        def tenant_labelled() -> dict | None:
            samples = enricher.scrape()
            labels = _state_labels(samples, guest.uuid)
            return samples if _up(samples) == 1 and labels else None

        samples = he.poll(tenant_labelled, TIMEOUT, what="the guest's series")
        assert _state_labels(samples, guest.uuid)["project_id"] == guest.project_id

        conn = he.open_when_ready(daemon.uri)
        conn.lookupByUUIDString(guest.uuid).suspend()
        conn.close()
        he.poll(lambda: he.event_count(enricher.scrape(), guest.uuid, "suspended") == 1,
                TIMEOUT, what="the suspend before the restart")

        daemon.kill()
        killed = he.now()
        he.poll(lambda: _up(enricher.scrape()) == 0, TIMEOUT, what="libvirt_up 0")
        noticed = he.now() - killed

        daemon.start()
        restarted = he.now()
        samples = he.poll(tenant_labelled, TIMEOUT, what="libvirt_up 1 with the guest",
                          details=enricher.process.log_tail)
        recovered = he.now() - restarted
        labels = _state_labels(samples, guest.uuid)
        for key, want in guest.labels.items():
            assert labels[key] == want, (key, labels)
        # The counter from before the restart did not go backwards.
        assert he.event_count(samples, guest.uuid, "suspended") == 1

        # Events keep arriving on the new connection.
        conn = he.open_when_ready(daemon.uri)
        resumed_at = he.now()
        conn.lookupByUUIDString(guest.uuid).resume()
        conn.close()
        def resumed_counted() -> dict | None:
            samples = enricher.scrape()
            counted = he.event_count(samples, guest.uuid, "resumed", "unpaused")
            return samples if counted == 1 else None

        samples = he.poll(resumed_counted, TIMEOUT, what="the resume after the restart",
                          details=enricher.process.log_tail)
        event_latency = he.now() - resumed_at
        resumed = [s for s in samples["libvirt_domain_events_total"]
                   if s.labels["uuid"] == guest.uuid and s.labels["event"] == "resumed"]
        assert resumed[0].labels["project_name"] == guest.project_name
        assert samples["enricher_event_reconnects_total"][0].value >= 1
        assert any(r["event"] == "resumed" and r["project_id"] == guest.project_id
                   for r in enricher.events())

        assert enricher.process.proc.poll() is None and enricher.process.proc.pid == pid
        log = enricher.log_text()
        assert "Traceback" not in log, log
        LOG.warning("libvirtd restart: libvirt_up 0 after %.2f s, back to 1 %.2f s after "
                    "the restart, first event after it in %.2f s",
                    noticed, recovered, event_latency)


def test_a_hung_libvirtd_is_detected_by_keepalive(daemon: he.PrivateLibvirtd,
                                                  guest: E2EDomain, tmp_path: Path) -> None:
    """SIGSTOP: the socket stays open, only keepalive can tell the daemon is gone."""
    keepalive = "keepalive_interval = 1\nkeepalive_count = 2\n"
    with he.launch(tmp_path / "enricher", daemon.uri, extra=keepalive) as enricher:
        he.poll(lambda: _up(enricher.scrape()) == 1 and _state_labels(
            enricher.scrape(), guest.uuid), TIMEOUT, what="libvirt_up 1")
        daemon.signal(signal.SIGSTOP)
        stopped = he.now()
        try:
            # A scrape in flight waits for its answer until keepalive gives up.
            he.poll(lambda: _up(enricher.scrape(timeout=30)) == 0, TIMEOUT,
                    what="libvirt_up 0 from keepalive", details=enricher.process.log_tail)
            noticed = he.now() - stopped
        finally:
            daemon.signal(signal.SIGCONT)
        continued = he.now()
        he.poll(lambda: _up(enricher.scrape(timeout=30)) == 1, TIMEOUT,
                what="libvirt_up 1 after SIGCONT", details=enricher.process.log_tail)
        recovered = he.now() - continued
        log = enricher.log_text()
        assert "keepalive" in log, log
        assert "Traceback" not in log, log
        LOG.warning("hung libvirtd: libvirt_up 0 after %.2f s (keepalive 1 s x 2), "
                    "1 again %.2f s after SIGCONT", noticed, recovered)
