"""vCPU times read from QEMU's vCPU threads in a /proc tree laid out like the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from enricher.libvirt.cgroup import NS_PER_TICK, CgroupMounts
from enricher.libvirt.host_cpu import HostCpuTime
from enricher.libvirt.vcpu_threads import VcpuThreads, scan, smp_counts

UUID = "c1a6f3a8-52a3-4b6e-9a57-5c3c9e2f0a11"
# /proc/<pid>/task/<tid>/stat of a vCPU thread (QEMU 7.2): the name holds a space
# and a slash; utime 210 and stime 35 ticks are fields 14 and 15.
STAT = ("4245 (CPU 0/KVM) S 1 4242 4242 0 -1 4194368 1179 0 0 0 210 35 0 0 20 0 4 0 "
        "9841 1163309056 5093 18446744073709551615 1 1 0 0 0 0 268444224 4096 16963 "
        "0 0 0 -1 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
SCHED = ("CPU 0/KVM (4245, #threads: 4)\n"
         "-------------------------------------------------------------------\n"
         "se.exec_start                                :      41771034.061230\n"
         "se.statistics.wait_sum                       :            12.500000\n"
         "nr_switches                                  :                  105\n")


def _thread(task: Path, tid: int, comm: str, utime: int = 210, delay: int = 4751087,
            sched: str | None = SCHED) -> Path:
    thread = task / str(tid)
    thread.mkdir(parents=True)
    (thread / "comm").write_text(comm + "\n")
    (thread / "stat").write_text(STAT.replace("(CPU 0/KVM)", f"({comm})")
                                 .replace(" 210 35 ", f" {utime} 35 "))
    (thread / "schedstat").write_text(f"2123405794 {delay} 105\n")
    if sched is not None:
        (thread / "sched").write_text(sched)
    return thread


@pytest.fixture
def task(tmp_path: Path) -> Path:
    """The task directory of a QEMU with two online vCPUs and three other threads."""
    task = tmp_path / "proc" / "4242" / "task"
    for tid, comm in ((4242, "qemu-system-x86"), (4243, "qemu-system-x86"),
                      (4244, "IO mon_iothread"), (4247, "worker")):
        _thread(task, tid, comm)
    _thread(task, 4245, "CPU 0/KVM")
    _thread(task, 4246, "CPU 1/KVM", utime=7, delay=11)
    return task


@pytest.mark.parametrize(("value", "expected"), [
    (b"2,maxcpus=3,sockets=3,cores=1,threads=1", (2, 3)),  # what libvirt 9.0 writes
    (b"cpus=4,maxcpus=8", (4, 8)),
    (b"1", (1, 1)),
    (b"maxcpus=8", None),
])
def test_smp_counts(value: bytes, expected: tuple[int, int] | None) -> None:
    assert smp_counts([b"qemu-system-x86_64", b"-smp", value, b"-uuid", b"x"]) == expected


def test_no_smp_argument() -> None:
    assert smp_counts([b"qemu-system-x86_64", b"-uuid", b"x"]) is None
    assert smp_counts([b"qemu-system-x86_64", b"-smp"]) is None


def test_scan_finds_vcpu_threads_by_name(task: Path) -> None:
    assert scan(task) == {0: 4245, 1: 4246}


def test_read_gives_libvirts_keys_and_units(task: Path) -> None:
    stats = VcpuThreads(task, 3).read()
    assert stats == {
        "vcpu.current": 2, "vcpu.maximum": 3,
        "vcpu.0.state": 1, "vcpu.0.time": 245 * NS_PER_TICK, "vcpu.0.delay": 4751087,
        "vcpu.0.wait": 12_500_000,
        "vcpu.1.state": 1, "vcpu.1.time": 42 * NS_PER_TICK, "vcpu.1.delay": 11,
        "vcpu.1.wait": 12_500_000,
    }


def test_kernel_without_scheduler_statistics_reports_zero_wait(tmp_path: Path) -> None:
    task = tmp_path / "task"
    _thread(task, 10, "CPU 0/KVM", sched=SCHED.replace("se.statistics.wait_sum", "x"))
    _thread(task, 11, "CPU 1/KVM", sched=None)  # no CONFIG_SCHED_DEBUG: no sched file
    (task / "11" / "schedstat").unlink()  # no CONFIG_SCHED_INFO: no delay either
    stats = VcpuThreads(task, 2).read()
    assert (stats["vcpu.0.wait"], stats["vcpu.1.wait"], stats["vcpu.1.delay"]) == (0, 0, 0)


def test_hotplugged_and_unplugged_vcpus_are_followed(task: Path) -> None:
    threads = VcpuThreads(task, 3)
    assert threads.read()["vcpu.current"] == 2
    _thread(task, 4250, "CPU 2/KVM", utime=1)  # plugged: one more thread
    stats = threads.read()
    assert (stats["vcpu.current"], stats["vcpu.2.time"]) == (3, 36 * NS_PER_TICK)
    for name in ("comm", "stat", "schedstat", "sched"):
        (task / "4246" / name).unlink()
    (task / "4246").rmdir()  # unplugged, and a new thread appeared: same count
    _thread(task, 4251, "worker")
    stats = threads.read()
    assert stats["vcpu.current"] == 2 and "vcpu.1.time" not in stats


def test_a_process_without_vcpu_threads_is_an_error(tmp_path: Path) -> None:
    task = tmp_path / "task"
    _thread(task, 10, "qemu-system-x86")
    with pytest.raises(OSError):
        VcpuThreads(task, 1).read()


def test_host_reader_finds_the_threads_from_the_pid_file(task: Path, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    proc, pids = tmp_path / "proc", tmp_path / "run"
    pids.mkdir()
    (pids / "guest.pid").write_text("4242\n")
    (proc / "4242" / "cmdline").write_bytes(
        b"/usr/bin/qemu-system-x86_64\0-uuid\0" + UUID.encode()
        + b"\0-smp\x002,maxcpus=3,sockets=3,cores=1,threads=1\0")
    reader = HostCpuTime(pids, proc, CgroupMounts(), cpu=False)
    times = reader.read(UUID, "guest", 1)
    assert times.cpu is None and times.vcpus is not None
    assert times.vcpus["vcpu.maximum"] == 3
    other = "0b0b0b0b-52a3-4b6e-9a57-5c3c9e2f0a11"  # a reused pid is never trusted
    with caplog.at_level("INFO", logger="enricher.libvirt.host_cpu"):
        assert reader.read(other, "guest", 1).vcpus is None
    assert caplog.records[0].getMessage().startswith(
        "vCPU times of domain guest come from libvirt's vcpu stats group: process 4242")
    assert "vcpu_times_from_proc" in caplog.records[0].getMessage()
