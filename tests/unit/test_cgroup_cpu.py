"""Domain CPU time from cgroups: mount discovery, locating a domain's group, reading it.

The /proc and cgroup texts are as a real libvirtd 9.0 host shows them (this
CI machine runs a hybrid hierarchy: v1 controllers plus cgroup2 at
/sys/fs/cgroup/unified, QEMU placed in the v2 group); the file trees are real
files in a temporary directory laid out like /proc and /sys/fs/cgroup.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from enricher.libvirt.cgroup import CgroupMounts, CpuFiles, locate
from enricher.libvirt.host_cpu import HostCpuTime

HYBRID_MOUNTINFO = """\
1205 1204 0:124 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
1206 1205 0:33 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
1207 1205 0:34 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
1215 1205 0:42 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
V1_COMBINED = ("25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup "
               "rw,cpu,cpuacct\n")
CONTAINER = ("40 30 0:26 /machine.slice /host/cgroup\\040fs rw - cgroup2 cgroup2 rw\n")

# /proc/<qemu pid>/cgroup on this machine (hybrid, QEMU in the v2 group).
HYBRID_CGROUP = """\
9:name=systemd:/
4:memory:/machine/qemu-1-guest.libvirt-qemu
2:cpuacct:/
1:cpu:/machine/qemu-1-guest.libvirt-qemu/emulator
0::/machine/qemu-1-guest.libvirt-qemu/emulator
"""
V1_CGROUP = "5:cpu,cpuacct:/machine.slice/machine-qemu\\x2d3\\x2dg.scope/libvirt/emulator\n"


def test_mounts_found_in_a_hybrid_mountinfo() -> None:
    mounts = CgroupMounts.parse(HYBRID_MOUNTINFO)
    assert mounts.unified == (Path("/sys/fs/cgroup/unified"), "/")
    assert mounts.cpuacct == (Path("/sys/fs/cgroup/cpuacct"), "/")


def test_mounts_of_pure_v2_combined_v1_and_an_escaped_container_mount() -> None:
    assert CgroupMounts.parse(V2_MOUNTINFO) == CgroupMounts((Path("/sys/fs/cgroup"), "/"))
    assert CgroupMounts.parse(V1_COMBINED).cpuacct == (Path("/sys/fs/cgroup/cpu,cpuacct"), "/")
    assert CgroupMounts.parse(CONTAINER).unified == (Path("/host/cgroup fs"), "/machine.slice")
    assert CgroupMounts.parse("garbage\n\n1 2 3\n") == CgroupMounts()


def _dir(root: Path, rel: str, files: dict[str, str]) -> Path:
    directory = root / rel.lstrip("/")
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


V2_STAT = "usage_usec 3487550\nuser_usec 88261\nsystem_usec 3399288\nnr_periods 0\n"


def test_v2_group_is_the_parent_of_emulator_and_reads_in_nanoseconds(tmp_path: Path) -> None:
    domain = _dir(tmp_path / "unified", "machine/qemu-1-guest.libvirt-qemu", {"cpu.stat": V2_STAT})
    mounts = CgroupMounts(unified=(tmp_path / "unified", "/"),
                          cpuacct=(tmp_path / "cpuacct", "/"))
    files = locate(HYBRID_CGROUP, mounts)
    assert files == CpuFiles(2, domain)
    # The values libvirt 9.0 reported for the same guest at the same instant.
    assert files.read() == {"cpu.time": 3487550000, "cpu.user": 88261000,
                            "cpu.system": 3399288000}


def test_v1_cpuacct_wins_when_qemu_sits_in_a_libvirt_group_there(tmp_path: Path) -> None:
    rel = "machine.slice/machine-qemu\\x2d3\\x2dg.scope/libvirt"
    tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    domain = _dir(tmp_path / "v1", rel, {"cpuacct.usage": "5000000123\n",
                                         "cpuacct.stat": "user 12\nsystem 34\n"})
    mounts = CgroupMounts(unified=(tmp_path / "v2", "/"), cpuacct=(tmp_path / "v1", "/"))
    files = locate(V1_CGROUP, mounts)
    assert files == CpuFiles(1, domain)
    assert files.read() == {"cpu.time": 5000000123, "cpu.user": 12 * tick,
                            "cpu.system": 34 * tick}


def test_not_in_a_libvirt_group_or_files_missing_means_none(tmp_path: Path) -> None:
    mounts = CgroupMounts(unified=(tmp_path, "/"))
    assert locate("0::/user.slice/session-1.scope\n", mounts) is None  # cgroups off in qemu.conf
    assert locate(HYBRID_CGROUP, mounts) is None  # the directory does not exist here
    assert locate(HYBRID_CGROUP, CgroupMounts()) is None  # nothing mounted


def test_a_container_sees_the_hierarchy_from_its_mount_root(tmp_path: Path) -> None:
    domain = _dir(tmp_path, "qemu-1-g.libvirt-qemu", {"cpu.stat": V2_STAT})
    mounts = CgroupMounts(unified=(tmp_path, "/machine"))
    assert locate("0::/machine/qemu-1-g.libvirt-qemu/emulator\n", mounts) == CpuFiles(2, domain)
    assert locate("0::/other/qemu-1-g.libvirt-qemu/emulator\n", mounts) is None


UUID = "c1a6f3a8-52a3-4b6e-9a57-5c3c9e2f0a11"


@pytest.fixture
def host(tmp_path: Path) -> dict[str, Path]:
    """A /proc, pid dir and cgroup2 tree with one running guest (pid 4242)."""
    proc, pids, cg = tmp_path / "proc", tmp_path / "run", tmp_path / "cg"
    _dir(proc, "4242", {"cgroup": "0::/machine/qemu-1-guest.libvirt-qemu/emulator\n"})
    (proc / "4242" / "cmdline").write_bytes(
        b"/usr/bin/qemu-system-x86_64\0-name\0guest=guest,debug-threads=on\0-uuid\0"
        + UUID.encode() + b"\0-smp\x001\0")
    _dir(pids, "", {"guest.pid": "4242"})
    domain = _dir(cg, "machine/qemu-1-guest.libvirt-qemu", {"cpu.stat": V2_STAT})
    return {"proc": proc, "pids": pids, "cg": cg, "domain": domain}


def _reader(host: dict[str, Path]) -> HostCpuTime:
    return HostCpuTime(host["pids"], host["proc"], CgroupMounts(unified=(host["cg"], "/")),
                       vcpus=False)


def test_reader_follows_the_pid_file_to_the_domain_group(host: dict[str, Path]) -> None:
    reader = _reader(host)
    assert reader.read(UUID, "guest", 1).cpu["cpu.time"] == 3487550000
    (host["domain"] / "cpu.stat").write_text(V2_STAT.replace("3487550", "3600000"))
    assert reader.read(UUID, "guest", 1).cpu["cpu.time"] == 3600000000  # read fresh every time


def test_a_pid_that_is_not_this_domains_qemu_is_never_trusted(host: dict[str, Path]) -> None:
    other = "0b0b0b0b-52a3-4b6e-9a57-5c3c9e2f0a11"
    assert _reader(host).read(other, "guest", 1).cpu is None


def test_missing_pid_file_and_vanished_group_fall_back_to_libvirt(host: dict[str, Path]
                                                                ) -> None:
    reader = _reader(host)
    assert reader.read(UUID, "nosuch", 1).cpu is None
    assert reader.read(UUID, "guest", 2).cpu is not None  # a new start: located again
    (host["domain"] / "cpu.stat").unlink()  # the domain stopped meanwhile
    assert reader.read(UUID, "guest", 2).cpu is None
    assert reader.read(UUID, "guest", 2).cpu is None  # not retried for this start
    (host["domain"] / "cpu.stat").write_text(V2_STAT)
    assert reader.read(UUID, "guest", 3).cpu is not None  # started again


def test_forget_drops_domains_that_are_gone(host: dict[str, Path]) -> None:
    reader = _reader(host)
    reader.read(UUID, "guest", 1)
    (host["pids"] / "guest.pid").write_text("999999")  # would fail if located again
    reader.forget({UUID})
    assert reader.read(UUID, "guest", 1).cpu is not None
    reader.forget(set())
    assert reader.read(UUID, "guest", 1).cpu is None


def test_only_the_first_unreadable_domain_is_logged_at_info(
        host: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    reader = _reader(host)
    with caplog.at_level("DEBUG", logger="enricher.libvirt.host_cpu"):
        for name in ("one", "two", "three"):
            assert reader.read(UUID, name, 1).cpu is None
            reader.forget(set())
    levels = [(r.levelname, r.getMessage().split(":")[0]) for r in caplog.records]
    assert levels == [
        ("INFO", "CPU time of domain one comes from libvirt's cpu stats group"),
        ("DEBUG", "CPU time of domain two comes from libvirt's cpu stats group"),
        ("DEBUG", "CPU time of domain three comes from libvirt's cpu stats group")]
    assert "qemu_pid_dir" in caplog.records[0].getMessage()
