"""Every dashboard query and every rule on real libvirtd + QEMU and a real Prometheus.

Four tiny guests fail in the ways the alerts are about: ``web`` idles with a
NIC (and is reset once: a reboot), ``wd`` arms an ib700 watchdog and halts,
``io`` writes to a disk on a full tmpfs (error_policy=stop: an I/O error and
a pause), ``panic`` tells its pvpanic device it panicked (a crash). One
Prometheus scrapes, in the job "enricher", the enricher watching them, an
enricher on the test driver whose Nova fallback points at a closed port (a
domain without tenancy, Nova failing), one whose libvirtd socket does not exist
(libvirt_up 0) and a port nobody listens on (an exporter down), and loads the
shipped recording and alerting rules.

What "non-empty" means here:

* a dashboard query (its variables substituted) returns at least one series
  (a NaN sample counts: a latency panel divides by an idle disk's zero rate).
  A query may come back empty only if it declares what it ``needs`` (a guest
  balloon driver, Intel RDT, ...) and none of the families it reads is in any
  enricher's exposition: the environment lacks the data, not the query.
* a recording rule returns at least one series, under the same rule.
* an alert fires for the part made faulty (the crashed guest's uuid, the dead
  target's instance, ...) and does not fire for the healthy one (the web
  guest, the enricher watching the guests); the two alerts nothing here
  provokes (a collection slower than the interval, a dead thread) have their
  signal, the expression without its threshold, non-empty for every enricher
  and do not fire.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest
import yaml

from enricher.exporters import catalog, grafana
from enricher.exporters.grafana import model
from tests.e2e.harness import bootsector, domains, procs, series, tmpfs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, events_config, launch_enricher
from tests.e2e.harness.libvirtd import LibvirtHost
from tests.e2e.harness.prometheus import PrometheusServer, launch_prometheus
from tests.exposition import parse

LOG = logging.getLogger(__name__)
NAME_PREFIX = "enr-dash-"
ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "etc" / "enricher" / "recording-rules.yml"
ALERTING = ROOT / "etc" / "enricher" / "alerting-rules.yml"
TIMEOUT = 60.0
FULL_TMPFS_BYTES = 64 * 1024
PERF = "<perf><event name='context_switches' enabled='yes'/></perf>\n  <devices>"
# Recording rules that read what these guests cannot give (SeaBIOS has no balloon driver).
RULE_NEEDS = {"domain:libvirt_domain_memory_used:percent": "the guest's balloon driver"}
# Alerts nothing here provokes: their signal (no threshold) per enricher.
SIGNALS = {"EnricherCollectionSlow": "enricher_collection_duration_seconds "
                                     "/ enricher_collection_interval_seconds",
           "EnricherThreadDown": "min by (instance) (enricher_thread_up)"}


@dataclasses.dataclass
class Stack:
    guests: dict[str, E2EDomain]
    main: EnricherProcess
    nova_broken: EnricherProcess
    libvirt_gone: EnricherProcess
    dead_target: str
    prometheus: PrometheusServer
    inovex: EnricherProcess  # [prometheus] metric_names = inovex, same guests
    prometheus_inovex: PrometheusServer  # it and the broken targets

    def server(self, profile: str) -> PrometheusServer:
        return self.prometheus_inovex if profile == "inovex" else self.prometheus

    def families(self) -> set[str]:
        """Every family name in any enricher's exposition now."""
        found: set[str] = set()
        for enricher in (self.main, self.nova_broken, self.libvirt_gone, self.inovex):
            found |= set(parse(enricher.scrape()))
        return found

    def substitutions(self, profile: str) -> dict[str, str]:
        projects = "|".join(g.project_name for g in self.guests.values())  # [a-z0-9-]
        web = self.guests["web"]
        return {"project": projects, "node": ".*",
                "instance": web.name if profile == "inovex" else web.uuid,
                "__rate_interval": "30s", "__range": "10m", "__interval": "1s"}


def _start_web(conn: libvirt.virConnect, spec: E2EDomain, kind: str) -> None:
    """The NIC guest, with a software perf event if the host lets libvirt count it."""
    xml = domains.guest_xml(spec, kind)
    try:
        domains.start(conn, xml.replace("<devices>", PERF, 1))
        return
    except libvirt.libvirtError as exc:
        LOG.warning("no perf events on this host (%s); starting without", exc)
    with contextlib.suppress(libvirt.libvirtError):
        domains.destroy_and_undefine(conn.lookupByName(spec.name))
        domains.start(conn, xml)


@pytest.fixture(scope="module")
def stack(libvirt_host: LibvirtHost, libvirt_conn: libvirt.virConnect,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir, specs = domains.fresh_specs(libvirt_conn, NAME_PREFIX,
                                         ("web", "wd", "io", "panic"), nic=True)
    for key in ("wd", "io", "panic"):
        specs[key] = dataclasses.replace(specs[key], tap="")
    full = workdir / "full"
    specs["io"] = dataclasses.replace(specs["io"], disk_path=full / "io.raw")
    bootsector.write_image(specs["web"].disk_path, bootsector.IDLE)
    bootsector.write_image(specs["wd"].disk_path, bootsector.WATCHDOG)
    bootsector.write_image(specs["panic"].disk_path, bootsector.PANIC)
    base = tmp_path_factory.mktemp("dash")
    main_config = events_config(base / "main", 1.0)
    main_config["DEFAULT"] = {"interval": 2, "extra_stats": "domain_state,disk_err"}
    main_config["prometheus"] = {"device_info": "true"}
    inovex_config = {"DEFAULT": {"interval": 2}, "prometheus": {"metric_names": "inovex"}}
    dead = "127.0.0.1:%d" % procs.free_port()
    nova_config = {
        "DEFAULT": {"interval": 1},
        "service_credentials": {
            "auth_type": "password", "auth_url": "http://%s/v3" % dead,
            "username": "enricher", "password": "x", "project_name": "service",
            "user_domain_name": "Default", "project_domain_name": "Default"},
        "nova": {"host": "nowhere", "timeout": 2}}
    gone_uri = "qemu+unix:///system?socket=%s" % (base / "no-such-libvirt-sock")
    kind = libvirt_host.domain_type
    try:
        with tmpfs.mounted(full, FULL_TMPFS_BYTES), \
                launch_enricher(base / "main", libvirt_host.uri, main_config) as main, \
                launch_enricher(base / "nova", "test:///default", nova_config) as nova, \
                launch_enricher(base / "gone", gone_uri, {"DEFAULT": {"interval": 1}}) as gone, \
                launch_enricher(base / "inovex", libvirt_host.uri, inovex_config) as inovex:
            bootsector.write_image(specs["io"].disk_path, bootsector.DISK_WRITE)
            tmpfs.fill(full)
            try:
                _start_web(libvirt_conn, specs["web"], kind)
                domains.start(libvirt_conn, domains.small_xml(
                    specs["wd"], kind, "<watchdog model='ib700' action='pause'/>"))
                domains.start(libvirt_conn, domains.small_xml(specs["io"], kind,
                                                              error_policy="stop"))
                domains.start(libvirt_conn, domains.small_xml(
                    specs["panic"], kind,
                    "<panic model='isa'><address type='isa' iobase='0x505'/></panic>"))
                with launch_prometheus(base / "prometheus",
                                       [main.target, nova.target, gone.target, dead],
                                       [RECORDING, ALERTING]) as prometheus, \
                        launch_prometheus(base / "prometheus-inovex",
                                          [inovex.target, nova.target, gone.target, dead],
                                          [RECORDING, ALERTING]) as prometheus_inovex:
                    yield Stack(specs, main, nova, gone, dead, prometheus, inovex,
                                prometheus_inovex)
            finally:
                domains.remove_specs(libvirt_conn, specs.values())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_event(stack: Stack, key: str, event: str) -> None:
    guest = stack.guests[key]
    procs.wait_until(lambda: series.event_count(stack.main.samples(), guest, event) > 0,
                     TIMEOUT, what="%s %s event" % (guest.name, event), interval=0.3,
                     details=stack.main.log_tail)


@pytest.fixture(scope="module")
def settled(stack: Stack, libvirt_conn: libvirt.virConnect) -> Stack:
    """Every failure happened, Prometheus has seen it and a few rule evaluations passed."""
    _wait_event(stack, "web", "started")
    libvirt_conn.lookupByUUIDString(stack.guests["web"].uuid).reset(0)
    for key, event in (("web", "reboot"), ("wd", "watchdog"), ("io", "io_error"),
                       ("panic", "crashed")):
        _wait_event(stack, key, event)
    prom = stack.prometheus
    for key, event in (("web", "reboot"), ("wd", "watchdog"), ("io", "io_error"),
                       ("panic", "crashed")):
        prom.wait_for('libvirt_domain_last_event_timestamp_seconds{uuid="%s", event="%s"}'
                      % (stack.guests[key].uuid, event), timeout=TIMEOUT)
    # Two samples of every new series in the windows, then two rule evaluations.
    prom.wait_for('count(count_over_time(libvirt_domain_events_total{event="crashed"}[1m])'
                  ' >= 3)', timeout=TIMEOUT)
    prom.wait_for("project:libvirt_domain_net_receive_bytes:rate5m", timeout=TIMEOUT)
    stack.prometheus_inovex.wait_for(
        'count_over_time(libvirt_domain_block_stats_read_bytes_total{domain="%s"}[1m]) >= 3'
        % stack.guests["web"].name, timeout=TIMEOUT)
    return stack


def _dashboard_queries() -> Iterator[tuple[str, str, model.Query, str]]:
    """(where, profile, query, expr) of every shipped variant, for each profile it serves."""
    for file_name, (dashboard, served) in grafana.variants().items():
        for profile in served:
            for panel in dashboard.panels():
                for i, query in enumerate(panel.queries):
                    yield ("%s/%s: %s (%s)" % (file_name, profile, panel.title,
                                               chr(ord("A") + i)), profile, query, query.expr)
            for var in dashboard.variables:
                selector, _label = model.label_values_query(var.query)
                yield ("%s/%s: $%s" % (file_name, profile, var.name), profile,
                       model.Query(selector), selector)


def _base(name: str) -> str:
    for suffix in ("_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in catalog.BY_NAME:
            return name[: -len(suffix)]
    return name


def _evaluate(stack: Stack, checks: list[tuple[str, str, str]],
              profiles: dict[str, str] | None = None) -> dict[str, int]:
    """Poll until every (where, expr, needs) returns series, or TIMEOUT; where -> count.
    ``profiles`` says which profile's Prometheus answers a ``where`` (seed's otherwise)."""
    counts: dict[str, int] = {}

    def all_there() -> bool:
        for where, expr, _needs in checks:
            if counts.get(where, 0) == 0:
                server = stack.server((profiles or {}).get(where, "seed"))
                counts[where] = len(server.query(expr))
        return all(counts.values())

    try:
        procs.wait_until(all_there, 20.0, what="every query non-empty", interval=2.0)
    except procs.WaitTimeout:  # the empty ones are judged below
        LOG.warning("empty after waiting: %s", [w for w, n in counts.items() if not n])
    return counts


def _judge(stack: Stack, checks: list[tuple[str, str, str]], counts: dict[str, int]
           ) -> list[str]:
    """The empty results that are not excused by a declared, missing need."""
    present = stack.families()
    wrong = []
    for where, expr, needs in checks:
        if counts[where]:
            continue
        read = model.names(expr) | {_base(n) for n in model.names(expr)}
        if not needs or read & present:
            wrong.append("%s: %s (needs %r; families exported: %s)"
                         % (where, expr, needs, sorted(read & present)))
        else:
            LOG.warning("empty as expected without %s: %s", needs, where)
    return wrong


def test_every_dashboard_query_returns_series(settled: Stack,
                                              record_property: Any) -> None:
    queries = list(_dashboard_queries())
    checks = [(where, model.substitute(expr, settled.substitutions(profile)), query.needs)
              for where, profile, query, expr in queries]
    assert len({w for w, _e, _n in checks}) == len(checks) > 80
    assert {profile for _w, profile, _q, _e in queries} == {"seed", "inovex"}
    counts = _evaluate(settled, checks, {w: p for w, p, _q, _e in queries})
    web = [s for samples in settled.main.samples().values() for s in samples
           if s.labels.get("uuid") == settled.guests["web"].uuid]
    print("series of the web guest (1 vCPU, 1 disk, 1 NIC, no balloon driver): %d"
          % len(web))
    record_property("web_guest_series", len(web))
    record_property("dashboard_queries", len(checks))
    record_property("dashboard_queries_empty", sum(1 for n in counts.values() if not n))
    for where, n in sorted(counts.items()):
        print("%4d  %s" % (n, where))
    assert _judge(settled, checks, counts) == []


def test_every_recording_rule_returns_series(settled: Stack) -> None:
    groups = yaml.safe_load(RECORDING.read_text())["groups"]
    checks = [(rule["record"], rule["record"], RULE_NEEDS.get(rule["record"], ""))
              for group in groups for rule in group["rules"]]
    # The rule's own expression names what it reads (for the verdict on an empty one).
    exprs = {rule["record"]: rule["expr"] for group in groups for rule in group["rules"]}
    counts = _evaluate(settled, checks)
    assert _judge(settled, [(w, exprs[w], n) for w, _e, n in checks], counts) == []


def _alerts() -> dict[str, str]:
    groups = yaml.safe_load(ALERTING.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def _values(result: list[dict[str, Any]], label: str) -> set[str]:
    return {r["metric"].get(label, "") for r in result}


def test_alerts_fire_for_the_faulty_parts_only(settled: Stack) -> None:
    guests = settled.guests
    # alert -> (label, value it must fire for, value it must not fire for)
    provoked = {
        "LibvirtDomainCrashed": ("uuid", guests["panic"].uuid, guests["web"].uuid),
        "LibvirtDomainWatchdogFired": ("uuid", guests["wd"].uuid, guests["web"].uuid),
        "LibvirtDomainIOError": ("uuid", guests["io"].uuid, guests["web"].uuid),
        "LibvirtDomainPausedOnIOError": ("uuid", guests["io"].uuid, guests["web"].uuid),
        "EnricherExporterDown": ("instance", settled.dead_target, settled.main.target),
        "LibvirtdUnreachable": ("instance", settled.libvirt_gone.target, settled.main.target),
        "EnricherNovaFallbackFailing": ("instance", settled.nova_broken.target,
                                        settled.main.target),
        "EnricherDomainsWithoutTenancy": ("instance", settled.nova_broken.target,
                                          settled.main.target),
    }
    alerts = _alerts()
    assert set(alerts) == set(provoked) | set(SIGNALS), "an alert without an e2e check"
    prom = settled.prometheus
    for name, (label, faulty, healthy) in provoked.items():
        fired = prom.wait_for(alerts[name], lambda r, f=faulty, la=label: f in _values(r, la),
                              timeout=TIMEOUT)
        assert healthy not in _values(fired, label), (name, fired)
    enrichers = {e.target for e in (settled.main, settled.nova_broken, settled.libvirt_gone)}
    for name, signal in SIGNALS.items():
        signals = prom.wait_for(signal, lambda r: enrichers <= _values(r, "instance"),
                                timeout=TIMEOUT)
        LOG.info("%s signal: %s", name, signals)
        assert settled.main.target not in _values(prom.query(alerts[name]), "instance"), name


def test_alerts_reach_prometheus_alert_state(settled: Stack) -> None:
    """Prometheus itself holds the provoked alerts (pending or firing): the rules loaded."""
    wanted = {"LibvirtDomainCrashed", "LibvirtDomainWatchdogFired", "LibvirtDomainIOError"}
    result = settled.prometheus.wait_for(
        "ALERTS", lambda r: wanted <= _values(r, "alertname"), timeout=TIMEOUT)
    assert "LibvirtDomainCrashed" in {r["metric"]["alertname"] for r in result
                                      if r["metric"]["alertstate"] == "firing"}
