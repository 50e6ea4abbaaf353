"""Turning a bulk-stats record into a DomainSample (shape as libvirt 9.0 returns it)."""

from __future__ import annotations

from enricher.libvirt.stats import sample_from_record

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


class _Dom:
    def UUIDString(self) -> str:  # noqa: N802 - libvirt's name
        return "u-1"

    def name(self) -> str:
        return "instance-1"

    def ID(self) -> int:  # noqa: N802 - libvirt's name
        return 7


def test_record_is_split_into_scalars_and_devices() -> None:
    sample = sample_from_record(_Dom(), RAW)
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
    assert [d.name for d in sample_from_record(_Dom(), raw).nets] == ["tap0"]


class _Conn:
    """Answers getAllDomainStats like libvirt would for the groups asked."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.dom = _Dom()
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
    conn.dom.ID = lambda: 8  # started again: a new libvirt id
    assert "balloon.current" not in reader.collect(conn).samples[0].scalars
