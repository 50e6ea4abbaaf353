"""The enricher as an unprivileged user with only libvirt's read-only socket.

A private libvirtd (own mount namespace and state) is configured as a
hardened compute node would be: the read-only socket ``libvirt-sock-ro``
belongs to the ``libvirt`` group with mode 0770 (``unix_sock_group``,
``unix_sock_ro_perms``), the read-write one to root only (0700). The
enricher runs as ``enricher-e2e``, a system user in the ``libvirt`` group
and nothing else, with every optional reader on (host-side CPU times, extra
statistics including the two that need a read-write connection). The test
lists what was exported and what was not, and checks that what could not be
read degraded with a log line, never a crash.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import private_libvirtd, procs, series
from tests.e2e.harness.domains import E2EDomain
from tests.e2e.harness.enricher_proc import REPO_ROOT, config_text
from tests.exposition import Samples, parse

LOG = logging.getLogger(__name__)
NAME_PREFIX = "enr-lp-"
USER, GROUP = "enricher-e2e", "libvirt"
SOCKET_CONF = ('unix_sock_group = "%s"\nunix_sock_ro_perms = "0770"\n'
               'unix_sock_rw_perms = "0700"\n' % GROUP)
EXTRA = ["cpu_util", "domain_state", "disk_err", "job_stats_background", "vcpupin",
         "memory", "fs_info", "dirtyrate"]

_why_not = private_libvirtd.unsupported() or (
    None if shutil.which("setpriv") else "setpriv (util-linux) is not installed")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_why_not is not None, reason=_why_not or "")]


def ensure_user() -> tuple[int, int]:
    """The ``libvirt`` group and a system user in it (created if missing): (uid, gid)."""
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        subprocess.run(["groupadd", "--system", GROUP], check=True)
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", "--groups", GROUP, USER], check=True)
    entry = pwd.getpwnam(USER)
    members = [g.gr_name for g in grp.getgrall() if USER in g.gr_mem]
    assert members == [GROUP], "%s must be in %s only, is in %s" % (USER, GROUP, members)
    return entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def traversable(path: Path) -> Iterator[None]:
    """Let others search every directory above ``path`` for the test's duration
    (tox makes ``.tox`` 0700, which would hide the venv from the user)."""
    changed = []
    for directory in reversed(path.resolve().parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)
            changed.append((directory, mode))
    try:
        yield
    finally:
        for directory, mode in changed:
            directory.chmod(stat.S_IMODE(mode))


def as_user(argv: list[str]) -> list[str]:
    return ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--init-groups",
            "--no-new-privs", *argv]


@pytest.fixture
def daemon() -> Iterator[private_libvirtd.PrivateLibvirtd]:
    ensure_user()  # libvirtd refuses a unix_sock_group that does not exist
    # The socket directory must be reachable by the user.
    with private_libvirtd.running(NAME_PREFIX, SOCKET_CONF, reachable=True) as private:
        yield private


@pytest.fixture
def guest(daemon: private_libvirtd.PrivateLibvirtd) -> Iterator[E2EDomain]:
    with private_libvirtd.idle_guest(daemon, NAME_PREFIX, "u") as spec:
        yield spec


def scrape(port: int) -> Samples | None:
    status, body = procs.http_get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    return parse(body) if status == 200 else None


def test_read_only_socket_as_an_unprivileged_user(daemon: private_libvirtd.PrivateLibvirtd,
                                                  guest: E2EDomain) -> None:
    uid, gid = ensure_user()
    ro_socket = daemon.socket.with_name("libvirt-sock-ro")
    st = ro_socket.stat()
    assert (st.st_gid, st.st_mode & 0o777) == (grp.getgrnam(GROUP).gr_gid, 0o770)
    ro_uri = f"qemu:///system?socket={ro_socket}"
    # The user cannot use the read-write socket at all.
    denied = subprocess.run(as_user(["virsh", "-c", daemon.uri, "list"]),
                            capture_output=True, text=True, timeout=30, check=False)
    assert denied.returncode != 0 and "ermission denied" in denied.stderr, denied.stderr

    workdir = Path(tempfile.mkdtemp(prefix=NAME_PREFIX + "enricher-"))
    workdir.chmod(0o755)
    os.chown(workdir, uid, gid)
    port = procs.free_port()
    config = workdir / "enricher.conf"
    config.write_text(config_text({
        "DEFAULT": {"interval": 2, "extra_stats": ",".join(EXTRA),
                    "extra_stats_dirtyrate_period": 1},
        "libvirt": {"connection_uri": ro_uri, "read_only": True,
                    "qemu_pid_dir": daemon.root / "run" / "qemu",
                    "cpu_time_from_cgroup": True, "vcpu_times_from_proc": True},
        "prometheus": {"host": "127.0.0.1", "port": port},
        "events": {"enabled": True}}))
    log_path = workdir / "enricher.log"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT),
           "PYTHONDONTWRITEBYTECODE": "1"}
    reachable = traversable(Path(sys.prefix) / "pyvenv.cfg")
    reachable.__enter__()  # until the process has stopped
    with log_path.open("wb") as log:
        proc = subprocess.Popen(as_user([sys.executable, "-m", "enricher.cmd.enricher",
                                         "--config-file", str(config)]),
                                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def ready() -> Samples | None:
            assert proc.poll() is None, log_path.read_text()
            samples = scrape(port)
            if samples is None or samples["libvirt_up"][0].value != 1:
                return None
            # Wait for two collections with the guest (cpu_util needs two samples).
            if not series.of(samples, "libvirt_domain_cpu_utilization_host_cpu_ratio",
                             guest):
                return None
            return samples

        samples = procs.wait_until(ready, 60, what="the guest's series as " + USER,
                                   details=lambda: log_path.read_text()[-3000:])
        assert proc.poll() is None
        log_text = log_path.read_text()
    finally:
        procs.stop_process(proc)
        reachable.__exit__(None, None, None)
        shutil.rmtree(workdir, ignore_errors=True)

    per_vm = sorted(name for name, rows in samples.items()
                    if any(s.labels.get("uuid") == guest.uuid for s in rows))
    series.assert_tenant_labels(series.of(samples, "libvirt_domain_info_vcpus", guest)[0]
                                .labels, guest, "as an unprivileged user")
    host_cpu = samples["enricher_domains_cpu_time_from_cgroup"][0].value
    host_vcpu = samples["enricher_domains_vcpu_times_from_proc"][0].value
    errors = {(s.labels["source"], s.labels["kind"]): s.value
              for s in samples.get("enricher_errors_total", []) if s.value}
    missing = {name for name in ("libvirt_domain_filesystem_info",
                                 "libvirt_domain_memory_dirty_rate_bytes_per_second")
               if not any(n.startswith(name) for n in per_vm)}
    report = ["exported for the guest (%d families): %s" % (len(per_vm), ", ".join(per_vm)),
              "host-side reads: CPU time from cgroup for %d domain(s), vCPU times from "
              "/proc for %d" % (host_cpu, host_vcpu),
              "not exported (need a read-write connection): %s" % ", ".join(sorted(missing)),
              "errors counted: %s" % (errors or "none")]
    print("\n".join(report))
    LOG.info("least privilege:\n%s", "\n".join(report))
    # What a read-only connection cannot give is said once in the log, not a crash.
    assert "need a read-write libvirt connection" in log_text, log_text[-3000:]
    assert "Traceback" not in log_text, log_text[-3000:]
    # The core families and the read-only extras are there.
    for name in ("libvirt_domain_info_vcpus", "libvirt_domain_cpu_time_seconds_total",
                 "libvirt_domain_vcpu_time_seconds_total", "libvirt_domain_openstack_info",
                 "libvirt_domain_cpu_utilization_host_cpu_ratio"):
        assert name in per_vm, report
