"""The collectd virt plugin's extra statistics on real libvirtd + QEMU, tenant-labelled.

Three boot-sector guests: ``spin`` burns its vCPU, ``halt`` sleeps with
interrupts off, ``full`` writes its disk, which sits on a tiny tmpfs, until
QEMU stops it on ENOSPC. The enricher runs as a subprocess with every
selector, sampling every second; a real Prometheus evaluates the shipped
recording rules against it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.e2e.harness import bootsector, domains, procs, tmpfs
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import EnricherProcess, launch_enricher
from tests.e2e.harness.prometheus import PrometheusServer, launch_prometheus
from tests.e2e.harness.series import assert_tenant_labels, calls, of
from tests.exposition import Samples, parse

LOG = logging.getLogger(__name__)

# Outside the session's guest prefix: its leftover clean-up and ours never meet.
NAME_PREFIX = "enr-extra-"
FULL_TMPFS_BYTES = 256 * 1024

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
def cpusets(libvirt_conn: libvirt.virConnect) -> dict[str, str]:
    """Host CPUs the guests' vCPUs are pinned to: the spinning one apart, if possible."""
    other_cpu = "1" if libvirt_conn.getInfo()[2] > 1 else "0"
    return {"spin": other_cpu, "halt": "0", "full": "0"}


@pytest.fixture(scope="module")
def guests(libvirt_host: Any, libvirt_conn: libvirt.virConnect, cpusets: dict[str, str]
           ) -> Iterator[dict[str, E2EDomain]]:
    for leftover in domains.cleanup_leftovers(libvirt_conn, NAME_PREFIX):
        LOG.warning("removed leftover %s", leftover)
    run_id = secrets.token_hex(3)
    workdir = domains.make_workdir(run_id, NAME_PREFIX)
    codes = {"spin": bootsector.SPIN, "halt": bootsector.HALT, "full": bootsector.WRITER}
    made = {key: domains.make_spec(run_id, key, "1.1", workdir, prefix=NAME_PREFIX, nic=False)
            for key in codes}
    made["full"] = dataclasses.replace(made["full"], disk_path=workdir / "full" / "full.raw")
    try:
        with tmpfs.mounted(workdir / "full", FULL_TMPFS_BYTES):
            try:
                for key, spec in made.items():
                    domains.boot_code(libvirt_conn, spec, libvirt_host.domain_type,
                                      codes[key], cpusets[key])
                yield made
            finally:
                domains.remove_specs(libvirt_conn, made.values())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def enricher(guests: dict[str, E2EDomain], libvirt_host: Any,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnricherProcess]:
    """Every selector, a 1 s background sampler, a read-write connection (for fs_info)."""
    config = {
        "DEFAULT": {"interval": 1, "extra_stats": ",".join(SELECTORS),
                    "extra_stats_timeout": 5},
        "libvirt": {"read_only": "false"},
        "events": {"enabled": "false"},
    }
    with launch_enricher(tmp_path_factory.mktemp("extra-enricher"), libvirt_host.uri,
                         config) as proc:
        yield proc


@pytest.fixture(scope="module")
def prometheus(enricher: EnricherProcess, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[PrometheusServer]:
    with launch_prometheus(tmp_path_factory.mktemp("extra-prometheus"), enricher.target,
                           RULES) as server:
        yield server


@contextlib.contextmanager
def slow_memory_dump(dom: libvirt.virDomain, workdir: Path,
                     chunk: int = 512 * 1024, pause: float = 0.05) -> Iterator[None]:
    """A memory-only dump into a FIFO read slowly: a background job while inside.

    On exit the reader drains the FIFO at full speed and the dump completes.
    """
    fifo = workdir / ("%s.fifo" % dom.name())
    os.mkfifo(fifo)
    fast = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        with fifo.open("rb") as pipe:
            while pipe.read(chunk):
                if not fast.is_set():
                    time.sleep(pause)

    def dump() -> None:
        try:
            dom.coreDumpWithFormat(str(fifo), libvirt.VIR_DOMAIN_CORE_DUMP_FORMAT_RAW,
                                   libvirt.VIR_DUMP_MEMORY_ONLY)
        except libvirt.libvirtError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, name="dump-reader", daemon=True)
    dumper = threading.Thread(target=dump, name="dump", daemon=True)
    reader.start()
    dumper.start()
    try:
        yield
    finally:
        fast.set()
        dumper.join(60)
        reader.join(10)
        fifo.unlink()
    if errors:
        raise errors[0]


@pytest.fixture(scope="module")
def dirty_rate_measured(guests: dict[str, E2EDomain], libvirt_conn: libvirt.virConnect
                        ) -> None:
    """Start a 1 s dirty rate calculation on our own guests (never on others')."""
    for key in ("spin", "halt"):
        libvirt_conn.lookupByUUIDString(guests[key].uuid).startDirtyRateCalc(1, 0)


def test_cpu_util_rises_when_spinning_and_is_zero_when_halted(
        enricher: EnricherProcess, guests: dict[str, E2EDomain],
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
        assert_tenant_labels(of(samples, name, guests[key])[0].labels, guests[key])
        host = of(samples, "libvirt_domain_cpu_utilization_host_cpu_ratio", guests[key])
        assert host and host[0].value >= 0
    assert of(samples, "libvirt_domain_cpu_utilization_host_cpu_ratio",
              guests["spin"])[0].value > BUSY_RATIO


def test_vcpupin_matches_the_cputune_pinning(enricher: EnricherProcess,
                                             guests: dict[str, E2EDomain],
                                             cpusets: dict[str, str],
                                             libvirt_conn: libvirt.virConnect) -> None:
    cpus = libvirt_conn.getInfo()[2]
    if cpus < 2:
        pytest.skip("needs a host with two CPUs to tell pinnings apart")
    name = "libvirt_domain_vcpu_affinity"
    samples = wait_scrape(enricher, lambda s: s if of(s, name, guests["halt"])
                          and of(s, name, guests["spin"]) else None, "vcpu affinity")
    for key in ("spin", "halt"):
        guest = guests[key]
        series = of(samples, name, guest)
        pinned = {s.labels["cpu"] for s in series if s.value == 1}
        assert pinned == {cpusets[key]}, (key, pinned)
        assert {s.labels["vcpu"] for s in series} == {"0"}
        assert len(series) == cpus
        for one in series:
            assert_tenant_labels(one.labels, guest)


def test_domain_state_follows_suspend_and_resume(enricher: EnricherProcess,
                                                 guests: dict[str, E2EDomain],
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
        assert_tenant_labels(paused.labels, guest)
    finally:
        dom.resume()
    wait_scrape(enricher, lambda s: state(s, ("running", "unpaused", "okay"), 0),
                "running again (unpaused), severity okay")


def test_disk_err_appears_after_enospc(enricher: EnricherProcess,
                                       guests: dict[str, E2EDomain]) -> None:
    guest = guests["full"]
    error = wait_scrape(enricher, lambda s: of(s, "libvirt_domain_block_error", guest),
                        "a disk error on the guest whose disk is full")
    assert [(e.labels["device"], e.labels["error"], e.value) for e in error] == [
        ("vda", "no_space", 2.0)]
    assert_tenant_labels(error[0].labels, guest)
    samples = parse(enricher.scrape())
    assert of(samples, "libvirt_domain_state_reason_info", guest, state="paused",
              reason="ioerror", severity="warning")
    for key in ("spin", "halt"):
        assert not of(samples, "libvirt_domain_block_error", guests[key])


def test_job_stats_of_a_running_and_a_completed_dump(
        enricher: EnricherProcess, guests: dict[str, E2EDomain],
        libvirt_conn: libvirt.virConnect, tmp_path: Path) -> None:
    guest = guests["spin"]
    dom = libvirt_conn.lookupByUUIDString(guest.uuid)
    with slow_memory_dump(dom, tmp_path):
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
        assert_tenant_labels(processed[0].labels, guest)
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
                                             guests: dict[str, E2EDomain]) -> None:
    guest = guests["spin"]
    calc = wait_scrape(enricher, lambda s: of(
        s, "libvirt_domain_memory_dirty_rate_calculation_info", guest, status="measured"),
        "a measured dirty rate")
    assert_tenant_labels(calc[0].labels, guest)
    samples = parse(enricher.scrape())
    rate = of(samples, "libvirt_domain_memory_dirty_rate_bytes_per_second", guest)
    assert rate and rate[0].value < 1024 * 1024  # "jmp $" dirties no memory


def test_fs_info_without_a_guest_agent_is_skipped_and_counted(
        enricher: EnricherProcess, guests: dict[str, E2EDomain]) -> None:
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
        enricher: EnricherProcess, guests: dict[str, E2EDomain], selector: str) -> None:
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
        assert_tenant_labels(one.labels, guest)


def test_recording_rules_give_collectd_percentages(prometheus: PrometheusServer,
                                                   guests: dict[str, E2EDomain]) -> None:
    rule = "domain:libvirt_domain_cpu_utilization:percent"
    busy = 100 * BUSY_RATIO
    spin = prometheus.wait_for('%s{uuid="%s"} > %s' % (rule, guests["spin"].uuid, busy),
                               timeout=TIMEOUT)
    assert spin[0]["metric"]["project_id"] == guests["spin"].project_id
    halt = prometheus.wait_for('%s{uuid="%s"}' % (rule, guests["halt"].uuid),
                               timeout=TIMEOUT)
    assert float(halt[0]["value"][1]) < 100 * IDLE_RATIO
    host = prometheus.query('domain:libvirt_domain_cpu_host_cpu:percent{uuid="%s"}'
                            % guests["spin"].uuid)
    assert host and float(host[0]["value"][1]) > busy
    print("recording rules: spinning %s%%, halted %s%%"
          % (spin[0]["value"][1], halt[0]["value"][1]))
