"""Each selector's translation of libvirt answers into points.

The selectors are built by name through ``enricher.extra.catalog``, as
``[DEFAULT] extra_stats`` builds them; the modules are imported only for the
helpers and family names tested on their own.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import libvirt
import pytest

from enricher import exceptions
from enricher.extra import catalog, cpu_util, domain_state, job_stats, memory
from enricher.extra.base import NotReported, Point, Selector
from enricher.libvirt.stats import DomainSample

UUID = "7a1f3c2e-0000-4000-8000-000000000001"


def sample(uuid: str = UUID, state: int = 1, reason: int = 1, active: bool = True,
           **scalars: Any) -> DomainSample:
    keys = {k.replace("__", "."): v for k, v in scalars.items()}
    return DomainSample(uuid=uuid, name="vm-" + uuid[-1], active=active, state=state,
                        reason=reason, scalars=MappingProxyType(keys))


def build(name: str, dirtyrate_period: int = 0) -> Selector:
    """The selector ``[DEFAULT] extra_stats = <name>`` builds."""
    (built,) = catalog.build([name], dirtyrate_period)
    return built


def libvirt_error(code: int, message: str = "boom") -> libvirt.libvirtError:
    exc = libvirt.libvirtError(message)
    exc.err = (code, 10, message, 2, None, None, None, 0, 0)
    return exc


class FakeDom:
    """A virDomain stand-in answering only what a test sets."""

    def __init__(self, domain_id: int = 7, **answers: Any) -> None:
        self._id = domain_id
        self._answers = answers
        self.calls: list[tuple[str, tuple]] = []

    def ID(self) -> int:  # noqa: N802 - libvirt's name
        return self._id

    def __getattr__(self, name: str) -> Any:
        answers = self.__dict__["_answers"]
        if name not in answers:
            raise AttributeError(name)

        def method(*args: Any) -> Any:
            self.calls.append((name, args))
            answer = answers[name]
            if isinstance(answer, BaseException):
                raise answer
            return answer(*args) if callable(answer) else answer
        return method


def values(points: list[Point], family: str) -> dict[tuple[str, ...], float]:
    return {p.labels: p.value for p in points if p.family == family}


# domain_state ------------------------------------------------------------------

@pytest.mark.parametrize(("state", "severity"), [
    (0, 0), (1, 0), (4, 0), (5, 0), (2, 1), (3, 1), (7, 1), (6, 2)])
def test_domain_state_severity_is_collectds(state: int, severity: int) -> None:
    points = build("domain_state").derive([sample(state=state, reason=0)], {}, 0.0)
    assert values(points[UUID], domain_state.SEVERITY_FAMILY) == {(): severity}


def test_domain_state_names_the_reason() -> None:
    points = build("domain_state").derive(
        [sample(state=3, reason=5), sample(uuid=UUID[:-1] + "2", state=1, reason=5)], {}, 0)
    assert values(points[UUID], domain_state.INFO) == {("paused", "ioerror", "warning"): 1}
    assert values(points[UUID[:-1] + "2"], domain_state.INFO) == {
        ("running", "unpaused", "okay"): 1}


def test_an_unknown_reason_keeps_its_number() -> None:
    assert domain_state.reason_name("paused", 99) == "99"
    assert domain_state.severity("nosuchstate") == domain_state.FAILURE


@pytest.mark.parametrize("state", sorted(domain_state.REASONS))
def test_reason_tables_match_libvirts_constants(state: str) -> None:
    checked = 0
    for code, reason in enumerate(domain_state.REASONS[state]):
        constant = "VIR_DOMAIN_%s_%s" % (state.upper(), reason.upper())
        if hasattr(libvirt, constant):  # the newest reasons may postdate this libvirt
            assert getattr(libvirt, constant) == code, constant
            checked += 1
    assert checked >= len(domain_state.REASONS[state]) - 1


# cpu_util ----------------------------------------------------------------------

def _cpu(cpu_ns: float, vcpus: int = 2, active: bool = True) -> DomainSample:
    return sample(active=active, cpu__time=cpu_ns, vcpu__current=vcpus)


def test_cpu_util_is_absent_on_the_first_sample_then_a_ratio() -> None:
    selector = build("cpu_util")
    dom = FakeDom(domain_id=3)
    assert selector.derive([_cpu(1e9)], {UUID: dom}, 100.0) == {}
    points = selector.derive([_cpu(1e9 + 3e9)], {UUID: dom}, 102.0)[UUID]
    assert values(points, cpu_util.HOST_RATIO) == {(): pytest.approx(1.5)}
    assert values(points, cpu_util.VCPU_RATIO) == {(): pytest.approx(0.75)}


def test_cpu_util_vcpu_ratio_is_capped_at_one() -> None:
    selector = build("cpu_util")
    dom = FakeDom()
    selector.derive([_cpu(0, vcpus=1)], {UUID: dom}, 0.0)
    points = selector.derive([_cpu(1.2e9, vcpus=1)], {UUID: dom}, 1.0)[UUID]
    assert values(points, cpu_util.VCPU_RATIO) == {(): 1.0}
    assert values(points, cpu_util.HOST_RATIO) == {(): pytest.approx(1.2)}


def test_cpu_util_is_never_negative_on_a_counter_reset() -> None:
    selector = build("cpu_util")
    dom = FakeDom()
    selector.derive([_cpu(50e9)], {UUID: dom}, 0.0)
    assert selector.derive([_cpu(1e9)], {UUID: dom}, 10.0) == {}  # new baseline
    points = selector.derive([_cpu(2e9)], {UUID: dom}, 20.0)[UUID]
    assert values(points, cpu_util.HOST_RATIO) == {(): pytest.approx(0.1)}


def test_cpu_util_is_absent_after_a_restart() -> None:
    selector = build("cpu_util")
    selector.derive([_cpu(10e9)], {UUID: FakeDom(domain_id=3)}, 0.0)
    # Started again: a new libvirt id, and more CPU time than before already.
    assert selector.derive([_cpu(12e9)], {UUID: FakeDom(domain_id=4)}, 10.0) == {}
    assert UUID in selector.derive([_cpu(13e9)], {UUID: FakeDom(domain_id=4)}, 20.0)


def test_cpu_util_forgets_shut_off_domains() -> None:
    selector = build("cpu_util")
    dom = FakeDom()
    selector.derive([_cpu(10e9)], {UUID: dom}, 0.0)
    assert selector.derive([_cpu(10e9, active=False)], {UUID: dom}, 10.0) == {}
    assert selector.derive([_cpu(11e9)], {UUID: dom}, 20.0) == {}


def test_cpu_util_without_vcpu_count_still_gives_the_host_ratio() -> None:
    assert cpu_util.utilisation(3e9, 1e9, 2.0, None) == (1.0, None)
    assert cpu_util.utilisation(3e9, 1e9, 0.0, 2) is None


# per-domain calls -----------------------------------------------------------------

def test_disk_err_reports_only_disks_with_errors() -> None:
    dom = FakeDom(diskErrors={"vda": 2, "vdb": 0, "sdc": 1})
    points = build("disk_err").call(dom, sample())
    assert values(points, "libvirt_domain_block_error") == {
        ("sdc", "unspec"): 1, ("vda", "no_space"): 2}


def test_vcpupin_is_one_boolean_series_per_vcpu_and_cpu() -> None:
    dom = FakeDom(vcpuPinInfo=[(False, True, False), (True, True, True)])
    points = build("vcpupin").call(dom, sample())
    assert values(points, "libvirt_domain_vcpu_affinity") == {
        ("0", "0"): 0, ("0", "1"): 1, ("0", "2"): 0,
        ("1", "0"): 1, ("1", "1"): 1, ("1", "2"): 1}
    assert dom.calls == [("vcpuPinInfo", (0,))]


def test_pcpu_is_per_host_cpu_in_seconds() -> None:
    dom = FakeDom(getCPUStats=[{"cpu_time": 2_000_000_000, "vcpu_time": 1_500_000_000},
                               {"cpu_time": 500_000_000}])
    points = build("pcpu").call(dom, sample())
    assert values(points, "libvirt_domain_pcpu_time_seconds_total") == {("0",): 2.0, ("1",): 0.5}
    assert values(points, "libvirt_domain_pcpu_vcpu_time_seconds_total") == {("0",): 1.5}
    assert dom.calls == [("getCPUStats", (False,))]


def test_perf_says_which_events_are_enabled() -> None:
    dom = FakeDom(perfEvents={"cmt": False, "cpu_cycles": True})
    assert values(build("perf").call(dom, sample()), "libvirt_domain_perf_event_enabled") == {
        ("cmt",): 0, ("cpu_cycles",): 1}


def test_fs_info_lists_filesystems_with_their_disks() -> None:
    dom = FakeDom(fsInfo=[("/", "vda1", "ext4", ["vda"]), ("/data", "dm-0", "xfs",
                                                           ["vdb", "vdc"])])
    assert values(build("fs_info").call(dom, sample()), "libvirt_domain_filesystem_info") == {
        ("/", "vda1", "ext4", "vda"): 1, ("/data", "dm-0", "xfs", "vdb,vdc"): 1}


@pytest.mark.parametrize("code", [libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                                  libvirt.VIR_ERR_AGENT_UNRESPONSIVE])
def test_fs_info_without_an_agent_is_not_reported(code: int) -> None:
    dom = FakeDom(fsInfo=libvirt_error(code, "QEMU guest agent is not configured"))
    with pytest.raises(NotReported) as raised:
        build("fs_info").call(dom, sample())
    assert raised.value.outcome == "no_agent"


def test_fs_info_asks_only_running_domains() -> None:
    selector = build("fs_info")
    assert selector.wants(sample(state=1))
    assert not selector.wants(sample(state=3, reason=5))  # paused: the agent is frozen


def test_fs_info_other_errors_propagate() -> None:
    dom = FakeDom(fsInfo=libvirt_error(libvirt.VIR_ERR_OPERATION_DENIED))
    with pytest.raises(exceptions.LibvirtDenied):
        build("fs_info").call(dom, sample())


def test_job_stats_without_a_job_is_empty() -> None:
    assert job_stats.job_points("background", {"type": 0}) == []


def test_job_stats_of_a_running_dump() -> None:
    points = job_stats.job_points("background", {
        "type": 2, "operation": 8, "time_elapsed": 1500, "memory_total": 1000,
        "memory_processed": 250, "memory_remaining": 750})
    assert values(points, job_stats.INFO) == {("background", "unbounded", "dump"): 1}
    assert values(points, "libvirt_domain_job_time_elapsed_seconds") == {
        ("background",): 1.5}
    assert values(points, "libvirt_domain_job_memory_processed_bytes") == {
        ("background",): 250}
    assert values(points, job_stats.PROGRESS) == {("background",): 0.25}  # of memory


def test_job_stats_of_a_completed_migration() -> None:
    points = job_stats.job_points("completed", {
        "type": 3, "operation": 5, "downtime": 30, "data_total": 400,
        "data_processed": 10, "data_remaining": 0})  # zero pages are not sent
    assert values(points, job_stats.INFO) == {("completed", "completed", "migration_out"): 1}
    assert values(points, "libvirt_domain_job_downtime_seconds") == {
        ("completed",): pytest.approx(0.03)}
    assert values(points, job_stats.PROGRESS) == {("completed",): 1.0}


def test_job_stats_without_totals_has_no_progress() -> None:
    points = job_stats.job_points("background", {"type": 1, "operation": 2,
                                                 "time_elapsed": 10})
    assert values(points, job_stats.PROGRESS) == {}


def test_job_stats_selectors_ask_for_their_kind() -> None:
    dom = FakeDom(jobStats=lambda flags: {"type": 2, "operation": 5} if flags == 0
                  else {"type": 3, "operation": 5})
    background = build("job_stats_background").call(dom, sample())
    completed = build("job_stats_completed").call(dom, sample())
    assert values(background, job_stats.INFO) == {
        ("background", "unbounded", "migration_out"): 1}
    assert values(completed, job_stats.INFO) == {
        ("completed", "completed", "migration_out"): 1}
    assert dom.calls == [("jobStats", (0,)),
                         ("jobStats", (libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED,))]


class FakeConn:
    def __init__(self, stats: dict[str, Any]) -> None:
        self.stats = stats
        self.flags: list[int] = []

    def domainListGetStats(self, doms: list, flags: int) -> list:  # noqa: N802
        self.flags.append(flags)
        return [(doms[0], self.stats)]


def test_dirtyrate_converts_mib_to_bytes_and_names_the_status() -> None:
    conn = FakeConn({"dirtyrate.calc_status": 2, "dirtyrate.calc_start_time": 1700000000,
                     "dirtyrate.calc_period": 1, "dirtyrate.calc_mode": "dirty-ring",
                     "dirtyrate.megabytes_per_second": 3,
                     "dirtyrate.vcpu.0.megabytes_per_second": 2,
                     "dirtyrate.vcpu.1.megabytes_per_second": 1})
    dom = FakeDom(connect=conn)
    points = build("dirtyrate").call(dom, sample())
    assert conn.flags == [libvirt.VIR_DOMAIN_STATS_DIRTYRATE]
    assert values(points, "libvirt_domain_memory_dirty_rate_calculation_info") == {
        ("measured", "dirty-ring"): 1}
    assert values(points, "libvirt_domain_memory_dirty_rate_bytes_per_second") == {
        (): 3 * 1024 * 1024}
    assert values(points, "libvirt_domain_vcpu_memory_dirty_rate_bytes_per_second") == {
        ("0",): 2 * 1024 * 1024, ("1",): 1024 * 1024}
    assert values(points,
                  "libvirt_domain_memory_dirty_rate_calculation_start_timestamp_seconds") == {
        (): 1700000000}


def test_dirtyrate_never_measured_has_no_rate() -> None:
    dom = FakeDom(connect=FakeConn({"dirtyrate.calc_status": 0,
                                    "dirtyrate.calc_start_time": 0}))
    points = build("dirtyrate").call(dom, sample())
    assert [p.family for p in points] == ["libvirt_domain_memory_dirty_rate_calculation_info"]


def test_dirtyrate_starts_the_next_calculation_when_asked() -> None:
    conn = FakeConn({"dirtyrate.calc_status": 2, "dirtyrate.calc_start_time": 5})
    dom = FakeDom(connect=conn, startDirtyRateCalc=0)
    build("dirtyrate", dirtyrate_period=2).call(dom, sample())
    assert ("startDirtyRateCalc", (2, 0)) in dom.calls


def test_dirtyrate_start_denied_still_reports_and_stops_trying() -> None:
    conn = FakeConn({"dirtyrate.calc_status": 2, "dirtyrate.calc_start_time": 5})
    dom = FakeDom(connect=conn,
                  startDirtyRateCalc=libvirt_error(libvirt.VIR_ERR_OPERATION_DENIED))
    selector = build("dirtyrate", dirtyrate_period=2)
    assert selector.call(dom, sample())
    selector.call(dom, sample())
    assert [c for c, _ in dom.calls].count("startDirtyRateCalc") == 1


def test_an_empty_stats_group_is_unsupported() -> None:
    dom = FakeDom(connect=FakeConn({}))
    with pytest.raises(NotReported) as raised:
        build("dirtyrate").call(dom, sample())
    assert raised.value.outcome == "unsupported"
    with pytest.raises(NotReported):
        build("memory").call(dom, sample())


def test_memory_bandwidth_per_monitor_and_node() -> None:
    prefix = "memory.bandwidth.monitor."
    stats = {prefix + "count": 1, prefix + "0.name": "vcpus_0-1", prefix + "0.vcpus": "0-1",
             prefix + "0.node.count": 2,
             prefix + "0.node.0.id": 0, prefix + "0.node.0.bytes.local": 10,
             prefix + "0.node.0.bytes.total": 30,
             prefix + "0.node.1.id": 1, prefix + "0.node.1.bytes.total": 5}
    points = memory.bandwidth_points(stats)
    assert values(points, memory.BW_LOCAL) == {("vcpus_0-1", "0-1", "0"): 10}
    assert values(points, memory.BW_TOTAL) == {("vcpus_0-1", "0-1", "0"): 30,
                                               ("vcpus_0-1", "0-1", "1"): 5}


def test_memory_adds_the_balloon_stats_the_core_leaves_out() -> None:
    points = build("memory").derive([
        sample(**{"balloon__last-update": 1700000000, "balloon__hugetlb_pgalloc": 4,
                  "balloon__hugetlb_pgfail": 1}),
        sample(uuid=UUID[:-1] + "2", **{"balloon__last-update": 0}),
        sample(uuid=UUID[:-1] + "3", active=False, balloon__hugetlb_pgalloc=4)], {}, 0)
    assert values(points[UUID], memory.UPDATED) == {(): 1700000000}
    assert values(points[UUID], memory.HUGETLB_ALLOC) == {(): 4}
    assert values(points[UUID], memory.HUGETLB_FAIL) == {(): 1}
    assert list(points) == [UUID]  # never-updated and shut-off domains report nothing
