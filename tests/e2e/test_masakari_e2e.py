"""Real libvirtd + QEMU: ``virsh destroy`` and a fired watchdog each reach Masakari once.

Two tiny guests (one idles, one arms an ib700 watchdog with a 2 s timeout,
action pause) watched by an enricher process with ``[masakari] enabled``
against the Keystone + Masakari simulator on 127.0.0.1.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from tests.e2e.harness import bootsector, domains, procs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, events_config, launch_enricher
from tests.e2e.harness.libvirtd import LibvirtHost
from tests.simulators.keystone_nova import KeystoneNovaSimulator

pytestmark = pytest.mark.e2e
NAME_PREFIX = "enr-msk-"
TIMEOUT = 30.0
STOP_DELAY = 1.0
HOST = "compute-e2e"
PASSWORD = "Sim-Pa55w0rd!"


class Setup:
    def __init__(self, conn: libvirt.virConnect, uri: str, enricher: EnricherProcess,
                 sim: KeystoneNovaSimulator, specs: dict[str, E2EDomain]) -> None:
        self.conn, self.uri, self.enricher, self.sim, self.specs = (
            conn, uri, enricher, sim, specs)

    def payloads(self, key: str) -> list[dict[str, Any]]:
        uuid = self.specs[key].uuid
        return [n["payload"] for n in self.sim.notifications
                if n["payload"]["instance_uuid"] == uuid]


@pytest.fixture(scope="module")
def setup(libvirt_host: LibvirtHost, libvirt_conn: libvirt.virConnect,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    workdir, specs = domains.fresh_specs(libvirt_conn, NAME_PREFIX, ("life", "wd"))
    bootsector.write_image(specs["life"].disk_path, bootsector.IDLE)
    bootsector.write_image(specs["wd"].disk_path, bootsector.WATCHDOG)
    enricher_dir = tmp_path_factory.mktemp("enricher-masakari")
    try:
        with KeystoneNovaSimulator(password=PASSWORD) as sim:
            config = events_config(enricher_dir, STOP_DELAY)
            config["masakari"] = {"enabled": "true", "host": HOST, "retry_window": 30}
            config["nova"] = {"host": HOST, "timeout": 1}
            config["service_credentials"] = {
                "auth_type": "password", "auth_url": sim.auth_url,
                "username": sim.username, "password": PASSWORD,
                "project_name": "service", "user_domain_name": "Default",
                "project_domain_name": "Default"}
            with launch_enricher(enricher_dir, libvirt_host.uri, config) as enricher:
                kind = libvirt_host.domain_type
                try:
                    domains.start(libvirt_conn, domains.small_xml(specs["life"], kind))
                    domains.start(libvirt_conn, domains.small_xml(
                        specs["wd"], kind, "<watchdog model='ib700' action='pause'/>"))
                    yield Setup(libvirt_conn, libvirt_host.uri, enricher, sim, specs)
                finally:
                    domains.remove_specs(libvirt_conn, specs.values())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_virsh_destroy_is_one_notification(setup: Setup) -> None:
    spec = setup.specs["life"]
    subprocess.run(["virsh", "-c", setup.uri, "destroy", spec.name], check=True,
                   capture_output=True, timeout=30)
    procs.wait_until(lambda: setup.payloads("life"), TIMEOUT, what="a notification",
                     interval=0.05, details=setup.enricher.log_tail)
    time.sleep(STOP_DELAY + 1.0)  # a second one would have come by now
    assert setup.payloads("life") == [{"event": "LIFECYCLE", "instance_uuid": spec.uuid,
                                       "vir_domain_event": "STOPPED_DESTROYED"}]
    note = [n for n in setup.sim.notifications
            if n["payload"]["instance_uuid"] == spec.uuid][0]
    assert (note["type"], note["hostname"]) == ("VM", HOST)
    assert setup.enricher.samples()  # /metrics keeps serving


def test_a_fired_watchdog_is_one_notification(setup: Setup) -> None:
    spec = setup.specs["wd"]

    def watchdogs() -> list[dict[str, Any]]:
        return [p for p in setup.payloads("wd") if p["event"] == "WATCHDOG"]

    procs.wait_until(watchdogs, TIMEOUT, what="the watchdog notification", interval=0.05,
                     details=setup.enricher.log_tail)
    time.sleep(2.0)
    assert watchdogs() == [{"event": "WATCHDOG", "instance_uuid": spec.uuid,
                            "vir_domain_event": "WATCHDOG_PAUSE"}]
    # action='pause' also pauses the guest: instancemonitor reports that too, once.
    assert [p for p in setup.payloads("wd") if p["event"] != "WATCHDOG"] == [
        {"event": "LIFECYCLE", "instance_uuid": spec.uuid,
         "vir_domain_event": "SUSPENDED_WATCHDOG"}]
    assert setup.enricher.samples()
