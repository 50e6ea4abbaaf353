"""The collectd virt plugin's extra statistics on real libvirtd + QEMU, tenant-labelled.

Three boot-sector guests: ``spin`` burns its vCPU, ``halt`` sleeps with
interrupts off, ``full`` writes its disk, which sits on a tiny tmpfs, until
QEMU stops it on ENOSPC. The enricher runs as a subprocess with every
selector, sampling every second; a real Prometheus evaluates the shipped
recording rules against it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.e2e import harness_extra as hx
from tests.e2e.harness import procs
from tests.e2e.harness.enricher_proc import EnricherProcess
from tests.e2e.harness.prometheus import PrometheusServer
from tests.e2e.harness_extra import Samples, assert_tenant_labels, calls, of, parse

LOG = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "etc" / "enricher" / "recording-rules.yml"
TIMEOUT = 45.0
# A spinning vCPU gets a whole host CPU on an idle host; CI hosts are shared.
BUSY_RATIO = 0.3
IDLE_RATIO = 0.05
SELECTORS = ("cpu_util", "disk_err", "domain_state", "fs_info", "job_stats_background",
             "job_stats_completed", "perf", "vcpupin", "pcpu", "memory", "dirtyrate")
# A family each selector yields on any host that supports it, for a running guest.
WITNESS = {
    "cpu_util": "libvirt_domain_cpu_utilization_ratio",
    "domain_state": "libvirt_domain_state_reason_info",
    "vcpupin": "libvirt_domain_vcpu_affinity",
    "perf": "libvirt_domain_perf_event_enabled",
    "pcpu": "libvirt_domain_pcpu_time_seconds_total",
    "dirtyrate": "libvirt_domain_memory_dirty_rate_calculation_info",
    "memory": "libvirt_domain_memory_bandwidth_bytes_total",
}

def wait_scrape(enricher: EnricherProcess, probe: Callable[[Samples], Any], what: str,
                timeout: float = TIMEOUT) -> Any:
    """Scrape until ``probe(samples)`` is truthy; return its value."""
    last: list[Samples] = [{}]

    def attempt() -> Any:
        last[0] = parse(enricher.scrape())
        return probe(last[0])

    return procs.wait_until(attempt, timeout, what=what, interval=0.3,
                            details=lambda: "%s\ncalls: %s" % (
                                enricher.log_tail(20),
                                [(s.labels, s.value) for s in
                                 last[0].get("enricher_extra_calls_total", [])]))


@pytest.fixture(scope="module")
def guests(libvirt_host: Any, libvirt_conn: libvirt.virConnect,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, hx.Guest]]:
    for leftover in hx.cleanup_leftovers(libvirt_conn):
        LOG.warning("destroyed leftover %s", leftover)
    run_id = secrets.token_hex(3)
    workdir = tmp_path_factory.mktemp("extra-guests")
    other_cpu = "1" if hx.host_cpus(libvirt_conn) > 1 else "0"
    with hx.full_tmpfs() as full_dir:
        made = {
            "spin": (hx.make_guest(run_id, "spin", workdir, other_cpu), hx.SPIN),
            "halt": (hx.make_guest(run_id, "halt", workdir, "0"), hx.HALT),
            "full": (hx.make_guest(run_id, "full", full_dir, "0"), hx.WRITER),
        }
        try:
            for guest, code in made.values():
                hx.boot(libvirt_conn, guest, code, libvirt_host.domain_type)
            yield {key: guest for key, (guest, _code) in made.items()}
        finally:
            for guest, _code in made.values():
                hx.destroy(libvirt_conn, guest.name)


@pytest.fixture(scope="module")
def enricher(guests: dict[str, hx.Guest], libvirt_host: Any,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnricherProcess]:
    """Every selector, a 1 s background sampler, a read-write connection (for fs_info)."""
    config = {
        "DEFAULT": {"interval": 1, "extra_stats": ",".join(SELECTORS),
                    "extra_stats_timeout": 5},
        "libvirt": {"connection_uri": libvirt_host.uri, "read_only": "false"},
        "events": {"enabled": "false"},
    }
    with hx.launch_enricher(tmp_path_factory.mktemp("extra-enricher"), procs.free_port(),
                            config) as proc:
        yield proc


@pytest.fixture(scope="module")
def prometheus(enricher: EnricherProcess, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[PrometheusServer]:
    with hx.launch_prometheus_with_rules(tmp_path_factory.mktemp("extra-prometheus"),
                                         enricher.target, RULES) as server:
        yield server


@pytest.fixture(scope="module")
def dirty_rate_measured(guests: dict[str, hx.Guest], libvirt_conn: libvirt.virConnect
                        ) -> None:
    """Start a 1 s dirty rate calculation on our own guests (never on others')."""
    for key in ("spin", "halt"):
        libvirt_conn.lookupByUUIDString(guests[key].uuid).startDirtyRateCalc(1, 0)


def test_cpu_util_rises_when_spinning_and_is_zero_when_halted(
        enricher: EnricherProcess, guests: dict[str, hx.Guest],
        record_property: Callable[[str, object], None]) -> None:
    name = "libvirt_domain_cpu_utilization_ratio"

    def both(samples: Samples) -> tuple[float, float] | None:
        spin, halt = of(samples, name, guests["spin"]), of(samples, name, guests["halt"])
        return (spin[0].value, halt[0].value) if spin and halt else None

    def settled(samples: Samples) -> tuple[float, float] | None:
        values = both(samples)  # the guests boot through SeaBIOS first
        return values if values and values[0] > BUSY_RATIO and values[1] < IDLE_RATIO \
            else None

    spin, halt = wait_scrape(enricher, settled, "cpu_util above %s for the spinning guest "
                             "and below %s for the halted one" % (BUSY_RATIO, IDLE_RATIO))
    print("cpu_util: spinning %.3f, halted %.3f" % (spin, halt))
    record_property("cpu_util_spinning", spin)
    record_property("cpu_util_halted", halt)
    samples = parse(enricher.scrape())
    for key in ("spin", "halt"):
        assert_tenant_labels(of(samples, name, guests[key])[0], guests[key])
        host = of(samples, "libvirt_domain_cpu_utilization_host_cpu_ratio", guests[key])
        assert host and host[0].value >= 0
    assert of(samples, "libvirt_domain_cpu_utilization_host_cpu_ratio",
              guests["spin"])[0].value > BUSY_RATIO


def test_vcpupin_matches_the_cputune_pinning(enricher: EnricherProcess,
                                             guests: dict[str, hx.Guest],
                                             libvirt_conn: libvirt.virConnect) -> None:
    cpus = hx.host_cpus(libvirt_conn)
    if cpus < 2:
        pytest.skip("needs a host with two CPUs to tell pinnings apart")
    name = "libvirt_domain_vcpu_affinity"
    samples = wait_scrape(enricher, lambda s: s if of(s, name, guests["halt"])
                          and of(s, name, guests["spin"]) else None, "vcpu affinity")
    for key in ("spin", "halt"):
        guest = guests[key]
        series = of(samples, name, guest)
        pinned = {s.labels["cpu"] for s in series if s.value == 1}
        assert pinned == {guest.cpuset}, (key, pinned)
        assert {s.labels["vcpu"] for s in series} == {"0"}
        assert len(series) == cpus
        for one in series:
            assert_tenant_labels(one, guest)


def test_domain_state_follows_suspend_and_resume(enricher: EnricherProcess,
                                                 guests: dict[str, hx.Guest],
                                                 libvirt_conn: libvirt.virConnect) -> None:
    guest = guests["halt"]
    info, severity = "libvirt_domain_state_reason_info", "libvirt_domain_state_severity"

    def state(samples: Samples, wanted: tuple[str, str, str], level: float) -> Any:
        found = of(samples, info, guest, state=wanted[0], reason=wanted[1],
                   severity=wanted[2])
        level_now = of(samples, severity, guest)
        return found[0] if found and level_now and level_now[0].value == level else None

    wait_scrape(enricher, lambda s: state(s, ("running", "booted", "okay"), 0), "running")
    dom = libvirt_conn.lookupByUUIDString(guest.uuid)
    dom.suspend()
    try:
        paused = wait_scrape(enricher, lambda s: state(s, ("paused", "user", "warning"), 1),
                             "paused by the user, severity warning")
        assert_tenant_labels(paused, guest)
    finally:
        dom.resume()
    wait_scrape(enricher, lambda s: state(s, ("running", "unpaused", "okay"), 0),
                "running again (unpaused), severity okay")


def test_disk_err_appears_after_enospc(enricher: EnricherProcess,
                                       guests: dict[str, hx.Guest]) -> None:
    guest = guests["full"]
    error = wait_scrape(enricher, lambda s: of(s, "libvirt_domain_block_error", guest),
                        "a disk error on the guest whose disk is full")
    assert [(e.labels["device"], e.labels["error"], e.value) for e in error] == [
        ("vda", "no_space", 2.0)]
    assert_tenant_labels(error[0], guest)
    samples = parse(enricher.scrape())
    assert of(samples, "libvirt_domain_state_reason_info", guest, state="paused",
              reason="ioerror", severity="warning")
    for key in ("spin", "halt"):
        assert not of(samples, "libvirt_domain_block_error", guests[key])


def test_job_stats_of_a_running_and_a_completed_dump(
        enricher: EnricherProcess, guests: dict[str, hx.Guest],
        libvirt_conn: libvirt.virConnect, tmp_path: Path) -> None:
    guest = guests["spin"]
    dom = libvirt_conn.lookupByUUIDString(guest.uuid)
    with hx.slow_memory_dump(dom, tmp_path):
        running = wait_scrape(enricher, lambda s: s if of(
            s, "libvirt_domain_job_info", guest, kind="background", type="unbounded",
            operation="dump") else None, "a background dump job")
        processed = of(running, "libvirt_domain_job_memory_processed_bytes", guest,
                       kind="background")
        total = of(running, "libvirt_domain_job_memory_total_bytes", guest,
                   kind="background")
        assert total and total[0].value >= 32 * 1024 * 1024
        assert processed and 0 <= processed[0].value <= total[0].value
        progress = of(running, "libvirt_domain_job_progress_ratio", guest, kind="background")
        assert progress and 0 <= progress[0].value < 1
        assert_tenant_labels(processed[0], guest)
    dom.coreDump(str(tmp_path / "live.core"), libvirt.VIR_DUMP_LIVE)
    done = wait_scrape(enricher, lambda s: s if of(
        s, "libvirt_domain_job_info", guest, kind="completed", type="completed",
        operation="dump") else None, "the completed live dump")
    assert of(done, "libvirt_domain_job_downtime_seconds", guest, kind="completed")
    assert of(done, "libvirt_domain_job_progress_ratio", guest, kind="completed")[0].value == 1
    assert not of(done, "libvirt_domain_job_info", guest, kind="background")
    assert calls(done, "job_stats_background").get("error", 0) == 0


@pytest.mark.usefixtures("dirty_rate_measured")
def test_dirtyrate_reports_the_measured_rate(enricher: EnricherProcess,
                                             guests: dict[str, hx.Guest]) -> None:
    guest = guests["spin"]
    calc = wait_scrape(enricher, lambda s: of(
        s, "libvirt_domain_memory_dirty_rate_calculation_info", guest, status="measured"),
        "a measured dirty rate")
    assert_tenant_labels(calc[0], guest)
    samples = parse(enricher.scrape())
    rate = of(samples, "libvirt_domain_memory_dirty_rate_bytes_per_second", guest)
    assert rate and rate[0].value < 1024 * 1024  # "jmp $" dirties no memory


def test_fs_info_without_a_guest_agent_is_skipped_and_counted(
        enricher: EnricherProcess, guests: dict[str, hx.Guest]) -> None:
    samples = wait_scrape(enricher, lambda s: s if calls(s, "fs_info").get("no_agent")
                          else None, "fs_info calls counted as no_agent")
    outcome = calls(samples, "fs_info")
    assert outcome.get("error", 0) == 0 and outcome.get("denied", 0) == 0
    for guest in guests.values():
        assert not of(samples, "libvirt_domain_filesystem_info", guest)
    assert not [s for s in samples.get("enricher_errors_total", [])
                if s.labels["source"] == "extra"]


@pytest.mark.parametrize("selector", sorted(WITNESS))
def test_each_supported_selector_yields_tenant_labelled_series(
        enricher: EnricherProcess, guests: dict[str, hx.Guest], selector: str) -> None:
    """Selectors the host supports have series for our guests; others report nothing."""
    samples = wait_scrape(enricher, lambda s: s if sum(calls(s, selector).values())
                          or selector in ("cpu_util", "domain_state") else None,
                          "calls of %s" % selector)
    outcome = calls(samples, selector)
    if outcome and not outcome.get("ok"):
        assert set(outcome) <= {"ok", "unsupported"}, outcome
        assert not [f for f in samples if f == WITNESS[selector]]
        pytest.skip("%s is not supported on this host: %s" % (selector, outcome))
    guest = guests["spin"]
    series = wait_scrape(enricher, lambda s: of(s, WITNESS[selector], guest),
                         "%s series of the spinning guest" % WITNESS[selector])
    for one in series:
        assert_tenant_labels(one, guest)


def test_recording_rules_give_collectd_percentages(prometheus: PrometheusServer,
                                                   guests: dict[str, hx.Guest]) -> None:
    rule = "domain:libvirt_domain_cpu_utilization:percent"
    busy = 100 * BUSY_RATIO
    spin = prometheus.wait_for('%s{uuid="%s"} > %s' % (rule, guests["spin"].uuid, busy),
                               timeout=TIMEOUT)
    assert spin[0]["metric"]["project_id"] == guests["spin"].spec.project_id
    halt = prometheus.wait_for('%s{uuid="%s"}' % (rule, guests["halt"].uuid),
                               timeout=TIMEOUT)
    assert float(halt[0]["value"][1]) < 100 * IDLE_RATIO
    host = prometheus.query('domain:libvirt_domain_cpu_host_cpu:percent{uuid="%s"}'
                            % guests["spin"].uuid)
    assert host and float(host[0]["value"][1]) > busy
    print("recording rules: spinning %s%%, halted %s%%"
          % (spin[0]["value"][1], halt[0]["value"][1]))
