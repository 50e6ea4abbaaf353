"""Turning a bulk-stats record into a DomainSample (shape as libvirt 9.0 returns it)."""

from __future__ import annotations

from enricher.libvirt.stats import sample_from_record
from tests.fakes import Domain

# Keys as a real libvirtd 9.0 + QEMU 7.2 returned them for a tiny e2e guest.
RAW = {
    "state.state": 1, "state.reason": 1,
    "cpu.time": 3_000_000_000, "cpu.user": 1_000_000_000, "cpu.system": 2_000_000_000,
    "cpu.haltpoll.success.time": 5, "balloon.current": 65536, "balloon.maximum": 65536,
    "balloon.rss": 40000, "vcpu.current": 1, "vcpu.maximum": 1, "vcpu.0.state": 1,
    "vcpu.0.time": 2_500_000_000, "vcpu.0.wait": 7, "vcpu.0.delay": 9,
    "vcpu.0.halt_exits.sum": 123, "net.count": 1, "net.0.name": "tap0",
    "net.0.rx.bytes": 90, "net.0.rx.pkts": 1, "net.0.tx.bytes": 0, "block.count": 1,
    "block.0.name": "vda", "block.0.path": "/tmp/a.raw", "block.0.rd.bytes": 512,
    "block.0.capacity": 16777216,
}


def test_record_is_split_into_scalars_and_devices() -> None:
    sample = sample_from_record(Domain(), RAW)
    assert (sample.uuid, sample.name, sample.active, sample.state_name) == \
        ("u-1", "instance-1", True, "running")
    assert sample.scalars["cpu.time"] == 3_000_000_000
    assert sample.scalars["vcpu.current"] == 1
    assert sample.scalars["net.count"] == 1
    assert not any(k.startswith(("vcpu.0", "net.0", "block.0")) for k in sample.scalars)
    assert [d.name for d in sample.vcpus] == ["0"]
    assert sample.vcpus[0].values["time"] == 2_500_000_000
    assert sample.vcpus[0].values["halt_exits.sum"] == 123
    assert [d.name for d in sample.nets] == ["tap0"]
    assert sample.nets[0].values["rx.bytes"] == 90
    assert [d.name for d in sample.blocks] == ["vda"]
    assert sample.blocks[0].values["capacity"] == 16777216


def test_devices_beyond_the_count_are_ignored() -> None:
    raw = dict(RAW, **{"net.1.name": "stale", "net.1.rx.bytes": 1})
    assert [d.name for d in sample_from_record(Domain(), raw).nets] == ["tap0"]


class _Conn:
    """Answers getAllDomainStats like libvirt would for the groups asked."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.dom = Domain()
        self.cpu = 0

    def getAllDomainStats(self, flags: int, _call_flags: int):  # noqa: N802
        import libvirt

        self.asked.append(flags)
        self.cpu += 1
        raw = {"state.state": 1, "state.reason": 1, "cpu.time": self.cpu}
        if flags & libvirt.VIR_DOMAIN_STATS_BALLOON:
            raw["balloon.current"] = 1000 + self.cpu
        return [(self.dom, raw)]


def test_slow_groups_asked_every_nth_collection_and_carried_between() -> None:
    import libvirt

    from enricher.libvirt.stats import StatsReader

    conn = _Conn()
    reader = StatsReader(["state", "cpu", "balloon"], slow_groups=["balloon"], slow_every=3)
    seen = [reader.collect(conn).samples[0].scalars for _ in range(4)]
    balloon = libvirt.VIR_DOMAIN_STATS_BALLOON
    assert [bool(f & balloon) for f in conn.asked] == [True, False, False, True]
    assert [s["balloon.current"] for s in seen] == [1001, 1001, 1001, 1004]
    assert [s["cpu.time"] for s in seen] == [1, 2, 3, 4]  # fast groups always fresh


def test_carried_values_dropped_when_the_domain_restarts() -> None:
    from enricher.libvirt.stats import StatsReader

    conn = _Conn()
    reader = StatsReader(["state", "cpu", "balloon"], slow_groups=["balloon"], slow_every=5)
    reader.collect(conn)
    conn.dom.id_ = 8  # started again: a new libvirt id
    assert "balloon.current" not in reader.collect(conn).samples[0].scalars


class _CgroupConn(_Conn):
    """Also answers domainListGetStats, and records which domains it was asked about."""

    def __init__(self) -> None:
        super().__init__()
        self.listed: list[tuple[list[str], int]] = []

    def getAllDomainStats(self, flags: int, _call_flags: int):  # noqa: N802
        import libvirt

        records = super().getAllDomainStats(flags, _call_flags)
        if not flags & libvirt.VIR_DOMAIN_STATS_CPU_TOTAL:
            del records[0][1]["cpu.time"]
        return records

    def domainListGetStats(self, doms, flags: int, _call_flags: int):  # noqa: N802
        import libvirt

        self.listed.append(([d.UUIDString() for d in doms], flags))
        raw: dict[str, int] = {}
        if flags & libvirt.VIR_DOMAIN_STATS_CPU_TOTAL:
            raw["cpu.time"] = 10**9 + self.cpu
        if flags & libvirt.VIR_DOMAIN_STATS_VCPU:
            raw.update({"vcpu.current": 1, "vcpu.maximum": 2, "vcpu.0.time": 10**6 + self.cpu})
        return [(d, dict(raw)) for d in doms]


def _cgroup_host(tmp_path, dom: Domain, usage_usec: int, vcpus: bool = False):
    from enricher.libvirt.cgroup import CgroupMounts
    from enricher.libvirt.host_cpu import HostCpuTime

    (tmp_path / "proc" / "77").mkdir(parents=True)
    cmdline = b"qemu\0-uuid\0" + dom.UUIDString().encode() + b"\0-smp\0" + b"1,maxcpus=2"
    (tmp_path / "proc" / "77" / "cmdline").write_bytes(cmdline)
    (tmp_path / "proc" / "77" / "cgroup").write_text("0::/machine/g/emulator\n")
    thread = tmp_path / "proc" / "77" / "task" / "78"
    thread.mkdir(parents=True)
    (thread / "comm").write_text("CPU 0/KVM\n")
    (thread / "stat").write_text("78 (CPU 0/KVM) S" + " 0" * 10 + " 3 4" + " 0" * 30 + "\n")
    (thread / "schedstat").write_text("1 5 1\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / f"{dom.name()}.pid").write_text("77\n")
    (tmp_path / "cg" / "machine" / "g").mkdir(parents=True)
    stat = tmp_path / "cg" / "machine" / "g" / "cpu.stat"
    stat.write_text(f"usage_usec {usage_usec}\nuser_usec 1\nsystem_usec 2\n")
    reader = HostCpuTime(tmp_path / "run", tmp_path / "proc",
                         CgroupMounts(unified=(tmp_path / "cg", "/")), vcpus=vcpus)
    return reader, stat


def test_cgroup_cpu_time_every_collection_cpu_group_never_asked(tmp_path) -> None:
    import libvirt

    from enricher.libvirt.stats import StatsReader

    conn = _CgroupConn()
    cgroup, stat = _cgroup_host(tmp_path, conn.dom, 5)
    reader = StatsReader(["state", "cpu", "balloon"], slow_groups=["balloon"], slow_every=3,
                         host_cpu=cgroup)
    seen = []
    for usec in (5, 6, 7, 8):
        stat.write_text(f"usage_usec {usec}\nuser_usec 1\nsystem_usec 2\n")
        collection = reader.collect(conn)
        seen.append(collection.samples[0].scalars)
        assert collection.cpu_from_cgroup == 1
    cpu = libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    balloon = libvirt.VIR_DOMAIN_STATS_BALLOON
    assert [bool(f & cpu) for f in conn.asked] == [False] * 4
    assert [bool(f & balloon) for f in conn.asked] == [True, False, False, True]
    assert [s["cpu.time"] for s in seen] == [5000, 6000, 7000, 8000]  # the cgroup's, fresh
    assert [s["cpu.user"] for s in seen] == [1000] * 4
    assert conn.listed == []


def test_domains_without_a_readable_cgroup_get_the_cpu_group_each_time(tmp_path) -> None:
    import libvirt

    from enricher.libvirt.stats import StatsReader

    conn = _CgroupConn()
    cgroup, stat = _cgroup_host(tmp_path, conn.dom, 5)
    stat.unlink()
    reader = StatsReader(["state", "cpu", "balloon"], slow_groups=["balloon"], slow_every=3,
                         host_cpu=cgroup)
    times = [reader.collect(conn) for _ in range(3)]
    assert [c.cpu_from_cgroup for c in times] == [0, 0, 0]
    # A second call for just this domain, every collection.
    assert [c.samples[0].scalars["cpu.time"] for c in times] == [10**9 + 1, 10**9 + 2,
                                                                 10**9 + 3]
    assert conn.listed == [(["u-1"], libvirt.VIR_DOMAIN_STATS_CPU_TOTAL)] * 3


def test_cgroup_reader_leaves_shut_off_domains_alone(tmp_path) -> None:
    from enricher.libvirt.stats import StatsReader

    conn = _CgroupConn()
    cgroup, _ = _cgroup_host(tmp_path, conn.dom, 5)
    conn.dom.id_ = -1
    reader = StatsReader(["state", "cpu"], slow_every=2, host_cpu=cgroup)
    assert [reader.collect(conn).cpu_from_cgroup for _ in range(2)] == [0, 0]
    assert conn.listed == []


def test_cpu_time_is_absent_rather_than_stale_when_no_source_answers(tmp_path) -> None:
    import libvirt

    from enricher.libvirt.stats import StatsReader

    class Refusing(_CgroupConn):
        def domainListGetStats(self, doms, flags: int, _call_flags: int):  # noqa: N802
            raise libvirt.libvirtError("cpu group refused")

    conn = Refusing()
    cgroup, stat = _cgroup_host(tmp_path, conn.dom, 5)
    reader = StatsReader(["state", "cpu", "balloon"], slow_groups=["balloon"], slow_every=3,
                         host_cpu=cgroup)
    assert reader.collect(conn).samples[0].scalars["cpu.time"] == 5000
    stat.unlink()  # the cgroup can no longer be read; libvirt refuses too
    scalars = reader.collect(conn).samples[0].scalars
    assert "cpu.time" not in scalars and "cpu.user" not in scalars
    assert scalars["balloon.current"] == 1001  # the rest is still carried


def test_vcpu_times_from_proc_every_collection_vcpu_group_never_asked(tmp_path) -> None:
    import libvirt

    from enricher.libvirt.cgroup import NS_PER_TICK
    from enricher.libvirt.stats import StatsReader

    conn = _CgroupConn()
    host, _ = _cgroup_host(tmp_path, conn.dom, 5, vcpus=True)
    reader = StatsReader(["state", "cpu", "vcpu", "balloon"], slow_groups=["balloon", "vcpu"],
                         slow_every=3, host_cpu=host)
    collections = [reader.collect(conn) for _ in range(4)]
    vcpu = libvirt.VIR_DOMAIN_STATS_VCPU
    assert [bool(f & vcpu) for f in conn.asked] == [False] * 4
    assert conn.listed == []
    assert [c.vcpu_from_proc for c in collections] == [1] * 4
    sample = collections[-1].samples[0]
    assert (sample.scalars["vcpu.current"], sample.scalars["vcpu.maximum"]) == (1, 2)
    assert dict(sample.vcpus[0].values) == {"state": 1, "time": 7 * NS_PER_TICK,
                                            "delay": 5, "wait": 0}


def test_domains_without_readable_threads_get_the_vcpu_group_on_its_schedule(tmp_path
                                                                             ) -> None:
    import libvirt

    from enricher.libvirt.stats import StatsReader

    conn = _CgroupConn()
    host, _ = _cgroup_host(tmp_path, conn.dom, 5, vcpus=True)
    (tmp_path / "proc" / "77" / "cmdline").write_bytes(b"qemu\0-uuid\0u-1\0")  # no -smp
    reader = StatsReader(["state", "cpu", "vcpu"], slow_groups=["vcpu"], slow_every=3,
                         host_cpu=host)
    collections = [reader.collect(conn) for _ in range(4)]
    assert [c.vcpu_from_proc for c in collections] == [0] * 4
    vcpu = libvirt.VIR_DOMAIN_STATS_VCPU
    # Slow rounds only (1st and 4th), carried between: a second call for just this domain.
    assert conn.listed == [(["u-1"], vcpu), (["u-1"], vcpu)]
    assert [c.samples[0].vcpus[0].values["time"] for c in collections] == \
        [10**6 + 1, 10**6 + 1, 10**6 + 1, 10**6 + 4]
    assert all(c.cpu_from_cgroup == 1 for c in collections)  # the cgroup still works


def test_shut_off_domains_get_their_vcpu_counts_from_libvirt(tmp_path) -> None:
    import libvirt

    from enricher.libvirt.stats import StatsReader

    conn = _CgroupConn()
    host, _ = _cgroup_host(tmp_path, conn.dom, 5, vcpus=True)
    conn.dom.id_ = -1
    reader = StatsReader(["state", "cpu", "vcpu"], slow_groups=["vcpu"], slow_every=2,
                         host_cpu=host)
    scalars = [reader.collect(conn).samples[0].scalars for _ in range(3)]
    assert [s["vcpu.maximum"] for s in scalars] == [2, 2, 2]
    assert conn.listed == [(["u-1"], libvirt.VIR_DOMAIN_STATS_VCPU)] * 2
