"""Real libvirtd + QEMU: lifecycle, reboot, watchdog and I/O error events, tenant-labelled.

Three tiny guests, each booting a 512-byte boot sector written by the tests:
one idles (suspend, resume, reset, destroy, start), one arms an ib700
watchdog with a 2 s timeout and halts, one writes to its disk, which sits on
a full 64 KiB tmpfs with error_policy='stop', so the write fails with ENOSPC.
Each event must show up in libvirt_domain_events_total with the guest's
tenant labels and as a JSON line, with the tenancy, in the event log.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest

from tests.e2e.harness import bootsector, domains, procs, series, tmpfs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, events_config, launch_enricher
from tests.e2e.harness.libvirtd import LibvirtHost

pytestmark = pytest.mark.e2e
LOG = logging.getLogger(__name__)
# Guests outside the session's prefix: its leftover clean-up and ours never meet.
NAME_PREFIX = "enr-evt-"
TIMEOUT = 30.0
STOP_DELAY = 1.0
# From a libvirt call's return to its event's JSON line, on a loaded 2-core host.
MAX_LATENCY = 3.0
FULL_TMPFS_BYTES = 64 * 1024


class Guests:
    """The guests of this module, the enricher watching them, and timings."""

    def __init__(self, conn: libvirt.virConnect, enricher: EnricherProcess,
                 specs: dict[str, E2EDomain]) -> None:
        self.conn = conn
        self.enricher = enricher
        self.specs = specs
        # "event/detail" -> seconds from the action's call, and from its return,
        # to its JSON line.
        self.latencies: dict[str, tuple[float, float]] = {}

    def dom(self, key: str) -> libvirt.virDomain:
        return self.conn.lookupByUUIDString(self.specs[key].uuid)

    def records(self, key: str, event: str, detail: str) -> list[dict[str, Any]]:
        """JSON event log records of one domain's event/detail, in order."""
        uuid = self.specs[key].uuid
        return [r for r in self.enricher.events()
                if r["uuid"] == uuid and r["event"] == event and r["detail"] == detail]

    def after(self, action: Callable[[], Any], key: str, event: str, detail: str,
              exact: bool = True) -> dict[str, Any]:
        """Run ``action`` and wait for one more ``event``/``detail`` of ``key``."""
        before = len(self.records(key, event, detail))
        started = time.monotonic()
        action()
        returned = time.monotonic()
        return self.wait_event(key, event, detail, before + 1, (started, returned),
                               exact=exact)

    def wait_event(self, key: str, event: str, detail: str, count: int = 1,
                   action: tuple[float, float] | None = None, timeout: float = TIMEOUT,
                   exact: bool = True) -> dict[str, Any]:
        """Wait until the event is logged and counted ``count`` times (at least,
        unless ``exact``); return its last JSON record. The latencies from the
        ``action``'s call and return (monotonic times) to the JSON line are recorded."""
        spec = self.specs[key]
        what = "%s %s/%s" % (spec.name, event, detail)
        procs.wait_until(lambda: len(self.records(key, event, detail)) >= count, timeout,
                         what=what + " in the event log", interval=0.05,
                         details=self.enricher.log_tail)
        if action is not None:
            seen = time.monotonic()
            self.latencies["%s/%s" % (event, detail)] = (seen - action[0], seen - action[1])
        records = self.records(key, event, detail)
        assert len(records) == count if exact else len(records) >= count, records
        record = records[-1]
        for field in ("project_id", "project_name", "user_id", "user_name", "flavor",
                      "instance_uuid"):
            assert record[field] == spec.labels[field], (field, record)
        assert record["instance_name"] == spec.instance_name
        assert record["domain"] == spec.name

        samples = self.enricher.samples()  # dispatched before it was logged
        counted = series.of(samples, "libvirt_domain_events_total", spec, event=event,
                            detail=detail)
        assert len(counted) == 1, counted
        value = counted[0].value
        assert value == len(records) if exact else value >= count, (counted, records)
        series.assert_tenant_labels(counted[0].labels, spec, event)
        last = series.of(samples, "libvirt_domain_last_event_timestamp_seconds", spec,
                         event=event)
        assert len(last) == 1 and abs(last[0].value - record["timestamp"]) < 60, last
        return record


@pytest.fixture(scope="module")
def guests(libvirt_host: LibvirtHost, libvirt_conn: libvirt.virConnect,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guests]:
    workdir, specs = domains.fresh_specs(libvirt_conn, NAME_PREFIX, ("life", "wd", "io"))
    full = workdir / "full"
    specs["io"] = dataclasses.replace(specs["io"], disk_path=full / "io.raw")
    bootsector.write_image(specs["life"].disk_path, bootsector.IDLE)
    bootsector.write_image(specs["wd"].disk_path, bootsector.WATCHDOG)
    enricher_dir = tmp_path_factory.mktemp("enricher-events")
    try:
        with tmpfs.mounted(full, FULL_TMPFS_BYTES), \
                launch_enricher(enricher_dir, libvirt_host.uri,
                                events_config(enricher_dir, STOP_DELAY)) as enricher:
            bootsector.write_image(specs["io"].disk_path, bootsector.DISK_WRITE)
            tmpfs.fill(full)
            kind = libvirt_host.domain_type
            xml = {
                "life": domains.small_xml(specs["life"], kind),
                "wd": domains.small_xml(specs["wd"], kind,
                                        "<watchdog model='ib700' action='pause'/>"),
                "io": domains.small_xml(specs["io"], kind, error_policy="stop"),
            }
            try:
                for text in xml.values():
                    domains.start(libvirt_conn, text)
                yield Guests(libvirt_conn, enricher, specs)
            finally:
                domains.remove_specs(libvirt_conn, specs.values())
                LOG.info("event log:\n%s", enricher.events())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_started_guests_are_counted(guests: Guests) -> None:
    for key in ("life", "wd", "io"):
        guests.wait_event(key, "defined", "added")
        guests.wait_event(key, "started", "booted")


def test_suspend_and_resume(guests: Guests) -> None:
    dom = guests.dom("life")
    guests.after(dom.suspend, "life", "suspended", "paused")
    guests.after(dom.resume, "life", "resumed", "unpaused")


def test_reset_is_a_reboot_event(guests: Guests) -> None:
    # SeaBIOS may reset the machine once more itself after a warm reset.
    guests.after(lambda: guests.dom("life").reset(0), "life", "reboot", "", exact=False)


def test_destroy_then_start(guests: Guests) -> None:
    dom = guests.dom("life")
    # Held for stop_delay, then counted: no start came in time.
    guests.after(dom.destroy, "life", "stopped", "destroyed")
    guests.after(dom.create, "life", "started", "booted")


def test_watchdog_fires(guests: Guests) -> None:
    record = guests.wait_event("wd", "watchdog", "pause")
    assert record["attrs"] == {}
    guests.wait_event("wd", "suspended", "watchdog")
    assert guests.dom("wd").state()[0] == libvirt.VIR_DOMAIN_PAUSED


def test_io_error_on_a_full_disk(guests: Guests) -> None:
    record = guests.wait_event("io", "io_error_reason", "enospc")
    assert record["attrs"]["device"] == "virtio-disk0"
    assert record["attrs"]["path"] == str(guests.specs["io"].disk_path)
    assert record["attrs"]["action"] == "pause"
    guests.wait_event("io", "io_error", "pause")
    guests.wait_event("io", "suspended", "ioerror")


def test_actions_reach_the_event_log_promptly(guests: Guests) -> None:
    """Each action's event is in the JSON log (polled every 50 ms) within MAX_LATENCY
    of the call's return, a stop within stop_delay more. The figures are logged."""
    dom = guests.dom("life")
    guests.after(dom.suspend, "life", "suspended", "paused")  # measured here too, when
    guests.after(dom.resume, "life", "resumed", "unpaused")   # run on its own (-k)
    LOG.warning("event log latencies (s) from each action's call, and its return: %s",
                {k: (round(a, 3), round(b, 3)) for k, (a, b) in sorted(guests.latencies.items())})
    slow = {k: after for k, (_, after) in guests.latencies.items()
            if after > MAX_LATENCY + (STOP_DELAY if k.startswith("stopped/") else 0)}
    assert not slow, "slower than %.1f s after the call returned: %s" % (MAX_LATENCY, slow)
    assert "Traceback" not in guests.enricher.log_text()
