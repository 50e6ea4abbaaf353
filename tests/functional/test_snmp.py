"""ENRICHER-MIB served through Debian's snmpd: walks, restarts, notifications."""

from __future__ import annotations

import contextlib
import http.client
import pathlib
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from oslo_config import cfg

from enricher.cmd.enricher import Service
from enricher.exporters.snmp import mib
from enricher.libvirt.events import DomainEvent
from tests import fixtures, snmp
from tests.functional import enricher_process
from tests.functional.conftest import make_conf, parse
from tests.functional.test_events import A_UUID, wait_for

BASE = mib.DEFAULT_BASE_OID
LAYOUT = mib.Layout(mib.parse_oid(BASE))
NAMED = LAYOUT.named()
HOSTILE_UUID = "d1e5f0a2-7b3c-4d8e-9f60-a1b2c3d4e5f6"
HOSTILE_XML = pathlib.Path(fixtures.__file__).parent / "snmp" / "hostile-domain.xml"
# VM table column -> the libvirt_domain_openstack_info label it must equal.
TENANCY_COLUMNS = {
    "enrVmUuid": "uuid", "enrVmDomainName": "domain", "enrVmInstanceName": "instance_name",
    "enrVmProjectId": "project_id", "enrVmProjectName": "project_name",
    "enrVmUserId": "user_id", "enrVmUserName": "user_name", "enrVmFlavor": "flavor",
}


def hostile_node(workdir: pathlib.Path) -> pathlib.Path:
    """The demo node plus a domain whose tenant picked hostile names."""
    node = workdir / "node.xml"
    demo = enricher_process.DEMO_NODE.read_text()
    node.write_text(demo.replace("  <cpu>", HOSTILE_XML.read_text() + "  <cpu>", 1))
    return node


def snmp_section(socket_path: pathlib.Path, **more: object) -> str:
    lines = ["[snmp]", "enabled = true", "agentx_address = %s" % socket_path,
             "reconnect_interval = 1"]
    lines += ["%s = %s" % kv for kv in more.items()]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def enricher_on(workdir: pathlib.Path, node: pathlib.Path, extra: str
                ) -> Iterator[enricher_process.Enricher]:
    """The enricher process on ``node`` (test driver), serving /metrics."""
    port = enricher_process.free_port()
    config = enricher_process.write_config(workdir, port, extra, uri="test://%s" % node)
    log = workdir / ("enricher-%d.log" % port)
    with log.open("wb") as out:
        proc = subprocess.Popen(enricher_process.command(config), cwd=enricher_process.REPO,
                                stdout=out, stderr=subprocess.STDOUT)
    target = enricher_process.Enricher(proc, port, log)
    try:
        wait_for(lambda: _metrics_ok(target), timeout=30, what="the enricher serving")
        yield target
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def _metrics_ok(target: enricher_process.Enricher) -> bool:
    with contextlib.suppress(OSError, http.client.HTTPException):
        return target.get(timeout=2)[0] == 200
    return False


def column(port: int, name: str, program: str = "snmpwalk") -> dict[int, object]:
    """One VM table column: {VM index: value}."""
    oid = NAMED[name]
    return {o[len(oid)]: v for o, v in
            snmp.walk_raw(port, ".".join(map(str, oid)), program).items()}


def openstack_info(target: enricher_process.Enricher) -> dict[str, dict[str, str]]:
    status, body = target.get()
    assert status == 200
    return {s.labels["uuid"]: s.labels
            for s in parse(body.decode())["libvirt_domain_openstack_info"]}


def error_count(target: enricher_process.Enricher, kind: str) -> float:
    samples = parse(target.get()[1].decode()).get("enricher_errors_total", [])
    return sum(s.value for s in samples
               if s.labels["source"] == "snmp" and s.labels["kind"] == kind)


def test_walk_returns_every_domain_with_its_tenancy_and_hostile_names_intact(tmp_path
                                                                             ) -> None:
    node = hostile_node(tmp_path)
    with snmp.snmpd_running(tmp_path) as snmpd, \
            enricher_on(tmp_path, node, snmp_section(snmpd.socket)) as target:
        snmp.wait_registered(snmpd.port)
        expected = openstack_info(target)
        assert HOSTILE_UUID in expected and len(expected) == 7
        columns = {name: column(snmpd.port, name) for name in TENANCY_COLUMNS}
        uuids = {v.decode(): vm for vm, v in columns["enrVmUuid"].items()}
        assert set(uuids) == set(expected)
        for uuid, vm in uuids.items():
            got = {label: columns[name][vm].decode("utf-8")
                   for name, label in TENANCY_COLUMNS.items()}
            assert got == {label: expected[uuid][label] for label in got}, uuid
        hostile = {label: columns[name][uuids[HOSTILE_UUID]].decode("utf-8")
                   for name, label in TENANCY_COLUMNS.items()}
        assert hostile["instance_name"] == ("  web \"front\" \\end | x;y='z' <b>& "
                                            "Ünïcødé 名前 🚀  ")
        assert hostile["user_name"] == "mallory\nline two"
        assert hostile["project_name"] == "ops%n%s\\x00'--"
        # GetBulk (snmpbulkwalk) sees the same column as GetNext.
        assert column(snmpd.port, "enrVmInstanceName", "snmpbulkwalk") == \
            columns["enrVmInstanceName"]
        # snmptable through the MIB: one row per domain, states and names readable.
        table = snmp.tool("snmptable", snmpd.port,
                          ["-Cf", "\t", "-Cb", "-CH", "ENRICHER-MIB::enrVmTable"])
        rows = [r.split("\t") for r in table.strip().splitlines()]
        assert len(rows) == 7  # snmptable shows "mallory\nline two" on one line
        assert {r[0] for r in rows if re.fullmatch(r"[0-9a-f-]{36}", r[0])} == set(expected)
        states = {r[0]: r[8] for r in rows if len(r) > 8}
        assert states["6a1f3b2e-4c5d-4e6f-8a9b-0c1d2e3f4a54"] == "shutoff"
        assert states["6a1f3b2e-4c5d-4e6f-8a9b-0c1d2e3f4a55"] == "paused"
        # Health scalars agree with the exporter's own figures.
        got = snmp.tool("snmpget", snmpd.port, ["-Oqv", "ENRICHER-MIB::enrDomains.0",
                                                 "ENRICHER-MIB::enrLibvirtUp.0"])
        assert got.split() == ["7", "true"]


def test_snmpd_restart_reregisters_within_30s_and_metrics_never_stop(tmp_path) -> None:
    node = hostile_node(tmp_path)
    snmpd = snmp.start_snmpd(tmp_path)
    try:
        with enricher_on(tmp_path, node, snmp_section(snmpd.socket)) as target:
            snmp.wait_registered(snmpd.port)
            failures: list[str] = []
            done = threading.Event()

            def scrape() -> None:
                while not done.is_set():
                    try:
                        status = target.get(timeout=5)[0]
                        if status != 200:
                            failures.append(str(status))
                    except (OSError, http.client.HTTPException) as exc:
                        failures.append(repr(exc))
                    time.sleep(0.1)

            scraper = threading.Thread(target=scrape, daemon=True)
            scraper.start()
            snmpd.stop()  # SIGKILL: no Close PDU, the socket file stays behind
            time.sleep(2)
            snmpd.socket.unlink(missing_ok=True)
            snmpd = snmp.start_snmpd(tmp_path, port=snmpd.port, name="snmpd-2")
            took = snmp.wait_registered(snmpd.port, timeout=30)
            done.set()
            scraper.join(10)
            assert took < 30
            assert failures == []
            assert error_count(target, "disconnected") >= 1
            assert "Registered ENRICHER-MIB" in target.log_text()
            assert len(column(snmpd.port, "enrVmUuid")) == 7
    finally:
        snmpd.stop()


def test_missing_snmpd_is_logged_once_counted_and_served_once_it_starts(tmp_path) -> None:
    node = hostile_node(tmp_path)
    socket_path = tmp_path / "agentx.sock"
    with enricher_on(tmp_path, node, snmp_section(socket_path)) as target:
        wait_for(lambda: error_count(target, "unreachable") >= 3, timeout=10,
                 what="three failed attempts")
        assert target.log_text().count("No AgentX master (snmpd)") == 1
        assert target.get()[0] == 200
        snmpd = snmp.start_snmpd(tmp_path)
        try:
            snmp.wait_registered(snmpd.port, timeout=30)
        finally:
            snmpd.stop()


# -- notifications ----------------------------------------------------------------


def _traps(trapd: snmp.Daemon) -> list[str]:
    """snmptrapd's log, one entry per notification."""
    return [t for t in trapd.log_text().split("\n20") if "32473" in t]


@pytest.fixture
def trap_service(tmp_path, node_file) -> Iterator[tuple[Service, snmp.Daemon]]:
    trapd = snmp.start_snmptrapd(tmp_path)
    snmpd = snmp.start_snmpd(tmp_path, trap_port=trapd.port)
    svc = Service(make_conf(fixtures.test_node_uri(node_file), libvirt__read_only=False,
                            events__enabled=True, events__stop_delay=0.0,
                            snmp__enabled=True, snmp__agentx_address=str(snmpd.socket),
                            snmp__reconnect_interval=1.0))
    svc.start()
    try:
        wait_for(lambda: svc.snmp.agent.registered.is_set(), timeout=10,
                 what="the subagent registered")
        yield svc, trapd
    finally:
        svc.stop()
        snmpd.stop()
        trapd.stop()


def test_crash_watchdog_and_io_error_notifications_carry_uuid_and_tenancy(trap_service
                                                                          ) -> None:
    svc, trapd = trap_service
    dom = svc.connection.get().lookupByUUIDString(A_UUID)
    vm = svc.snmp.agent.indexes.get(A_UUID)
    # As libvirt's callbacks would queue them; the dispatcher adds the tenancy.
    for event, detail in (("crashed", "panicked"), ("watchdog", "reset"),
                          ("io_error", "pause"), ("suspended", "paused")):
        svc.events.queue.put(DomainEvent(A_UUID, dom.name(), event, detail, time.time(),
                                         domain=dom))
    wait_for(lambda: len(_traps(trapd)) >= 3, timeout=10, what="three notifications")
    time.sleep(0.5)  # a fourth (there must be none) would come now
    traps = _traps(trapd)
    assert len(traps) == 3, traps
    for trap, (name, detail) in zip(traps, (("enrVmCrashed", "panicked"),
                                            ("enrVmWatchdog", "reset"),
                                            ("enrVmIoError", "pause")), strict=True):
        oid = ".".join(map(str, NAMED[name]))
        assert ".1.3.6.1.6.3.1.1.4.1.0 = OID: .%s" % oid in trap
        values = _varbinds(trap)
        cell = ".%s.%d" % (".".join(map(str, NAMED["enrVmUuid"])), vm)
        assert values[cell] == A_UUID
        assert values[_cell("enrVmProjectName", vm)] == "webteam"
        assert values[_cell("enrVmInstanceName", vm)] == "web-01"
        assert values[_cell("enrVmUserName", vm)] == "alice"
        assert values[_cell("enrVmDomainName", vm)] == dom.name()
        assert values[_scalar("enrEventDetail")] == detail


def test_libvirt_unreachable_is_notified_once_per_outage(trap_service) -> None:
    svc, trapd = trap_service
    svc.snmp.notifier.on_close("keepalive")
    svc.snmp.notifier.on_close("eof")  # the same outage
    wait_for(lambda: _traps(trapd), timeout=10, what="the notification")
    time.sleep(0.5)
    traps = _traps(trapd)
    assert len(traps) == 1
    assert ".".join(map(str, NAMED["enrLibvirtUnreachable"])) in traps[0]
    values = _varbinds(traps[0])
    assert values[_scalar("enrLibvirtUp")] == "2"
    assert values[_scalar("enrEventDetail")] == "libvirt closed the connection (keepalive)"


def _cell(name: str, vm: int) -> str:
    return ".%s.%d" % (".".join(map(str, NAMED[name])), vm)


def _scalar(name: str) -> str:
    return ".%s.0" % ".".join(map(str, NAMED[name]))


def _varbinds(trap: str) -> dict[str, str]:
    """snmptrapd's ``OID = TYPE: value`` varbinds (tab-separated) of one notification."""
    found = {}
    for part in trap.split("\t"):
        name, sep, value = part.partition(" = ")
        if sep:
            kind, _, data = value.partition(": ")
            found[name.strip()] = data.strip().strip('"')
    return found


def test_bad_snmp_options_fail_at_start_naming_the_option(node_file) -> None:
    uri = fixtures.test_node_uri(node_file)
    with pytest.raises(cfg.Error, match=r"\[snmp\] base_oid"):
        Service(make_conf(uri, snmp__enabled=True, snmp__base_oid="1.3.six"))
    with pytest.raises(cfg.Error, match=r"\[snmp\] agentx_address"):
        Service(make_conf(uri, snmp__enabled=True, snmp__agentx_address="localhost"))


def test_another_base_oid_serves_every_object_under_it(tmp_path, node_file) -> None:
    base = "1.3.6.1.4.1.99999.17"
    with snmp.snmpd_running(tmp_path) as snmpd:
        svc = Service(make_conf(fixtures.test_node_uri(node_file), snmp__enabled=True,
                                snmp__agentx_address=str(snmpd.socket), snmp__base_oid=base,
                                interval=1))
        svc.start()
        try:
            wait_for(lambda: svc.snmp.agent.registered.is_set(), timeout=10,
                     what="the subagent registered")
            wait_for(lambda: svc.sampler.snapshot.sequence > 0, what="a collection")
            domains = mib.Layout(mib.parse_oid(base)).scalar(mib.HEALTH_SCALARS[3])
            got = snmp.tool("snmpget", snmpd.port, ["-Oqv", ".".join(map(str, domains))],
                            mib=False)
            assert int(got) == len(svc.sampler.snapshot.samples) > 0
            walked = snmp.walk_raw(snmpd.port, base)
            assert walked and all(".".join(map(str, o)).startswith(base + ".")
                                  for o in walked)
            nothing = snmp.walk_raw(snmpd.port, BASE)  # nothing at the default
            assert all(isinstance(v, str) and "No Such Object" in v
                       for v in nothing.values()), nothing
        finally:
            svc.stop()
